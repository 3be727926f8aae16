from diary.queries import patients
from diary.security import token_hash
from tests.helpers import csrf_from, logout, open_link


def test_get_shows_continue_and_signs_nothing_in(client, world, db):
    page = client.get(f"/p/{world.token_a}")
    assert page.status_code == 200
    assert 'method="post"' in page.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM auth_sessions").fetchone()[0] == 0
    assert client.get("/home").status_code == 403


def test_continue_page_is_in_the_patients_language(client, world):
    page = client.get(f"/p/{world.token_b}")  # patient B is saved as Arabic
    html = page.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html


def test_post_signs_the_device_in_and_drops_the_token_from_the_url(client, world):
    response = open_link(client, world.token_a)
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"
    assert world.token_a not in response.headers["Location"]
    home = client.get("/home")
    assert home.status_code == 200
    assert "Clinic A" in home.get_data(as_text=True)
    cookie = client.get_cookie("diary_session")
    assert cookie.expires is not None  # long-lived, survives closing the browser
    assert world.token_a not in cookie.value


def test_tokens_are_256_bit_and_stored_only_as_sha256(db, world):
    assert len(world.token_a) >= 43  # 32 bytes, URL-safe base64
    dump = "\n".join(db.conn.iterdump())
    assert world.token_a not in dump and world.token_b not in dump
    assert token_hash(world.token_a) in dump


def test_unknown_link_is_a_clear_404(client, world):
    response = client.get("/p/not-a-real-token")
    assert response.status_code == 404
    assert "This link does not work" in response.get_data(as_text=True)
    assert client.get("/p/" + "x" * 500).status_code == 404
    assert client.post("/p/not-a-real-token").status_code == 400  # CSRF is checked first


def test_post_without_csrf_token_is_refused(client, world):
    assert client.post(f"/p/{world.token_a}").status_code == 400
    assert client.get("/home").status_code == 403


def test_revoking_signs_out_every_device_at_once(app, client, world, db):
    open_link(client, world.token_a)
    other_phone = app.test_client()
    open_link(other_phone, world.token_a)
    assert client.get("/home").status_code == 200
    assert other_phone.get("/home").status_code == 200
    patients.revoke_links(db, world.patient_a)
    assert client.get("/home").status_code == 403
    assert other_phone.get("/home").status_code == 403
    assert client.get(f"/p/{world.token_a}").status_code == 404


def test_reissuing_makes_the_old_link_stop_and_the_new_one_work(app, client, world, db):
    new_token = patients.issue_link(db, world.patient_a)
    assert client.get(f"/p/{world.token_a}").status_code == 404
    assert open_link(client, new_token).headers["Location"] == "/home"


def test_patient_cannot_open_clinician_pages(client, world):
    open_link(client, world.token_a)
    assert client.get("/clinic/").status_code == 403
    assert client.get("/clinic/team").status_code == 403


def test_patient_sign_out_ends_the_device_session(app, client, world):
    open_link(client, world.token_a)
    stolen = client.get_cookie("diary_session").value
    logout(client, "/home")
    assert client.get("/home").status_code == 403
    replay = app.test_client()
    replay.set_cookie("diary_session", stolen)
    assert replay.get("/home").status_code == 403


def test_signed_out_patient_page_explains_what_to_do(client, world):
    html = client.get("/home").get_data(as_text=True)
    assert "personal link" in html


def test_language_chosen_on_the_link_page_is_saved_for_the_patient(client, world, db):
    page = client.get(f"/p/{world.token_a}?lang=de")
    client.post(f"/p/{world.token_a}", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert patients.get_patient(db, world.patient_a)["locale"] == "de"
