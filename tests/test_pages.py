import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape

from tests.helpers import login


def test_landing_page_points_both_ways(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/login"' in html
    assert "personal link" in html


def test_healthz_reports_the_database(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    app.config["DATABASE"] = "/nonexistent-folder/x.sqlite"
    broken = client.get("/healthz")
    assert broken.status_code == 503 and broken.json["status"] == "unavailable"


@pytest.mark.parametrize("lang", ["en", "it"])
def test_error_pages_are_translated_pages(app, client, lang):
    with app.test_request_context(), force_locale(lang):
        title = gettext("Page not found")
    assert (title == "Page not found") == (lang == "en")  # the catalogue translates it
    response = client.get(f"/no-such-page?lang={lang}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}"' in html
    assert f"<h1>{escape(title)}</h1>" in html


def test_method_not_allowed_page(client):
    response = client.put("/login")
    assert response.status_code == 405
    assert "cannot be used that way" in response.get_data(as_text=True)
    assert client.post("/").status_code == 405  # the landing page takes no form


def test_unhandled_error_is_a_translated_500(app, client, world, monkeypatch):
    from diary.queries import patients

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(patients, "list_patients", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login(client, world.clinician_a)
    response = client.get("/clinic/patients")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
