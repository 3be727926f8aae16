import re

import pytest
from flask_babel import force_locale, gettext

from diary import catalogs
from diary.i18n import LANGUAGES
from diary.queries import accounts, patients
from tests.helpers import csrf_from, login, open_link


def lang_of(response) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', response.get_data(as_text=True))
    assert match
    return match.group(1), match.group(2)


def test_eight_locales_are_served():
    assert set(LANGUAGES) == {"en", "it", "es", "fr", "de", "ar", "pt", "zh_Hans"}


def test_accept_language_decides_for_an_anonymous_visitor(client):
    assert lang_of(client.get("/", headers={"Accept-Language": "fr-CH, fr;q=0.9"})) == ("fr", "ltr")
    assert lang_of(client.get("/", headers={"Accept-Language": "ja"})) == ("en", "ltr")


def test_query_parameter_beats_accept_language_and_sticks(client):
    assert lang_of(client.get("/?lang=ar", headers={"Accept-Language": "de"})) == ("ar", "rtl")
    assert lang_of(client.get("/login", headers={"Accept-Language": "de"})) == ("ar", "rtl")


def test_unknown_lang_parameter_is_ignored(client):
    assert lang_of(client.get("/?lang=xx", headers={"Accept-Language": "es"}))[0] == "es"


def test_saved_language_of_clinician_beats_accept_language(client, world, db):
    login(client, world.clinician_b)  # signs in with no language chosen on the device
    db.execute("UPDATE clinicians SET locale = 'de' WHERE email = ?", [world.clinician_b])
    page = client.get("/clinic/", headers={"Accept-Language": "fr"})
    assert lang_of(page) == ("de", "ltr")


def _switch(client, page: str, lang: str):
    """Use the switcher on ``page``: its form posts the language and the page to return to."""
    html = client.get(page).get_data(as_text=True)
    back = re.search(r'name="next" value="([^"]*)"', html)[1].replace("&amp;", "&")
    return client.post(
        "/language", data={"csrf_token": csrf_from(html), "lang": lang, "next": back}
    )


def test_switching_language_while_signed_in_saves_it_on_the_account(client, world, db):
    login(client, world.clinician_a)
    assert _switch(client, "/clinic/patients", "es").location == "/clinic/patients"
    assert accounts.get_clinician_by_email(db, world.clinician_a)["locale"] == "es"
    open_link(client, world.token_b)  # this device now belongs to patient B (saved: ar)
    assert lang_of(client.get("/home")) == ("es", "ltr")  # the device's explicit choice wins
    _switch(client, "/home", "it")
    assert patients.get_patient(db, world.patient_b)["locale"] == "it"


def test_a_language_link_does_not_change_the_saved_language(client, world, db):
    """A GET (a link someone sent, an image on another site) shows the page in that
    language on this device but never writes the account: saving is the switcher's POST."""
    login(client, world.clinician_a)
    assert lang_of(client.get("/clinic/patients?lang=ar")) == ("ar", "rtl")
    assert accounts.get_clinician_by_email(db, world.clinician_a)["locale"] != "ar"
    open_link(client, world.token_a)
    before = patients.get_patient(db, world.patient_a)["locale"]
    client.get("/home?lang=de")
    assert patients.get_patient(db, world.patient_a)["locale"] == before
    # the switcher's POST needs the form's token: a cross-site form cannot send it
    refused = client.post("/language", data={"lang": "de", "next": "/home"})
    assert refused.status_code == 400
    assert patients.get_patient(db, world.patient_a)["locale"] == before


def test_switcher_on_every_page_keeps_the_page(client, world):
    login(client, world.admin_a)
    for path in ["/", "/login", "/clinic/", "/clinic/team", "/nowhere"]:
        html = client.get(path).get_data(as_text=True)
        assert f'name="next" value="{path}"' in html, path
        for code in LANGUAGES:
            assert f'name="lang" value="{code}"' in html, (path, code)


def test_switcher_keeps_other_query_arguments(client, world):
    login(client, world.admin_a)
    back = _switch(client, "/clinic/patients?q=A-0&lang=de", "it")
    assert back.location == "/clinic/patients?q=A-0"


def test_the_switcher_never_sends_you_off_site(client):
    html = client.get("/").get_data(as_text=True)
    for target in ("//evil.example", "https://evil.example/", "/\t/evil.example", "/\\evil"):
        response = client.post(
            "/language", data={"csrf_token": csrf_from(html), "lang": "it", "next": target}
        )
        assert response.location == "/", target


def test_dates_are_formatted_in_the_users_locale(client, world, db):
    db.execute("UPDATE courses SET start_date = '2026-03-09'")
    login(client, world.clinician_a)
    assert "9 mar 2026" in client.get("/clinic/patients?lang=it").get_data(as_text=True)
    assert "Mar 9, 2026" in client.get("/clinic/patients?lang=en").get_data(as_text=True)
    assert "09.03.2026" in client.get("/clinic/patients?lang=de").get_data(as_text=True)


def test_arabic_pages_are_right_to_left(client):
    html = client.get("/?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html


@pytest.mark.parametrize("locale", sorted(LANGUAGES))
def test_every_catalogue_is_complete(locale):
    assert catalogs.problems(locale) == []


@pytest.mark.parametrize("locale", sorted(set(LANGUAGES) - {"en"}))
def test_pages_really_are_translated(app, locale):
    with app.test_request_context(), force_locale(locale):
        assert gettext("Sign in for clinic staff") != "Sign in for clinic staff"


# --- the translation workflow ----------------------------------------------------------------


def test_committed_template_is_up_to_date(tmp_path):
    """`make translations` was run after the last change of a user-visible string."""
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "--quiet",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "lazy_ngettext:1,2",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=root,
        check=True,
    )
    with fresh.open("rb") as a, (root / "translations" / "messages.pot").open("rb") as b:
        extracted = {m.id for m in read_po(a) if m.id}
        committed = {m.id for m in read_po(b) if m.id}
    assert extracted - committed == set(), (
        "strings missing from messages.pot: run make translations"
    )
    assert committed - extracted == set(), "stale strings in messages.pot: run make translations"


@pytest.mark.parametrize("locale", sorted(LANGUAGES))
def test_plural_forms_follow_cldr(locale):
    """Numbers in the same CLDR plural category always get the same form, and
    different categories get different forms (Arabic: six)."""
    from gettext import c2py

    from babel import Locale

    catalog = catalogs.read(locale)
    form_of = c2py(catalog.plural_expr)
    rule = Locale.parse(locale).plural_form
    forms: dict[str, set[int]] = {}
    for n in range(0, 1200):
        forms.setdefault(rule(n), set()).add(form_of(n))
    assert all(len(indexes) == 1 for indexes in forms.values()), forms
    assert len({next(iter(i)) for i in forms.values()}) == len(forms) == catalog.num_plurals


def test_catalogue_check_catches_problems(tmp_path, monkeypatch):
    """The completeness test is able to fail: a broken catalogue is reported."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    folder = tmp_path / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    catalog = Catalog(locale="it")
    catalog.add("Call %(phone)s", "Chiama")
    catalog.add("Save", "")
    catalog.add("Next", "Avanti", flags=["fuzzy"])
    with (folder / "messages.po").open("wb") as fh:
        write_po(fh, catalog)
    monkeypatch.setattr(catalogs, "ROOT", tmp_path)
    found = catalogs.problems("xx")
    assert any("placeholders" in p for p in found)
    assert any("not translated" in p for p in found)
    assert any("fuzzy" in p for p in found)


def test_chinese_accept_language_and_html_lang(client):
    response = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-Hans" dir="ltr">' in response.get_data(as_text=True)
