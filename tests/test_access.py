"""Every route declares who may use it; data is scoped to the user's clinic or to the patient."""

from diary.security import ROLES
from tests.helpers import login, open_link


def test_every_view_declares_its_access(app):
    undeclared = [
        name
        for name, view in app.view_functions.items()
        if name != "static" and getattr(view, "access", None) not in ROLES
    ]
    assert undeclared == []


def test_anonymous_answers(client):
    assert client.get("/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/login").status_code == 200
    response = client.get("/clinic/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert client.get("/clinic/team").status_code == 302
    assert client.get("/home").status_code == 403


def test_clinician_sees_only_their_own_clinic(client, world):
    login(client, world.clinician_b)
    html = client.get("/clinic/").get_data(as_text=True)
    assert "B-001" in html and "A-001" not in html
    listed = client.get("/clinic/patients").get_data(as_text=True)
    assert "B-001" in listed and "A-001" not in listed
    # "-001" matches both clinics' codes: only the clinic filter keeps A-001 out
    found = client.get("/clinic/patients?q=-001").get_data(as_text=True)
    assert "B-001" in found and "A-001" not in found
    assert "A-001" not in client.get("/clinic/patients?q=A").get_data(as_text=True)


def test_team_page_is_for_clinic_admins_only(app, world):
    doc = app.test_client()
    login(doc, world.clinician_a)
    assert doc.get("/clinic/team").status_code == 403
    admin = app.test_client()
    login(admin, world.admin_a)
    html = admin.get("/clinic/team").get_data(as_text=True)
    assert "Dario Doc" in html and "Bea Doc" not in html


def test_clinician_cannot_open_patient_pages(client, world):
    login(client, world.clinician_a)
    assert client.get("/home").status_code == 403


def test_patient_home_shows_only_their_clinic(app, world):
    phone = app.test_client()
    open_link(phone, world.token_b)
    html = phone.get("/home").get_data(as_text=True)
    assert "Clinic B" in html and "Clinic A" not in html


def test_search_treats_wildcards_literally(client, world):
    login(client, world.clinician_a)
    assert "A-001" not in client.get("/clinic/patients?q=%25").get_data(as_text=True)
    assert "A-001" in client.get("/clinic/patients?q=A-0").get_data(as_text=True)
