from datetime import timedelta

import pytest
from flask_babel import force_locale, ngettext

from diary import clock, create_app
from diary.queries import accounts
from tests.helpers import PASSWORD, csrf_from, login, logout


class Clock:
    """Moves diary.clock.now forward without sleeping."""

    def __init__(self, monkeypatch):
        self.offset = timedelta()
        real = clock.now
        monkeypatch.setattr(clock, "now", lambda: real() + self.offset)

    def advance(self, **kwargs):
        self.offset += timedelta(**kwargs)


@pytest.fixture
def moving_clock(monkeypatch):
    return Clock(monkeypatch)


def test_clinician_signs_in_and_sees_the_workspace(client, world):
    response = login(client, world.clinician_a)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/clinic/")
    page = client.get("/clinic/")
    assert page.status_code == 200
    assert "A-001" in page.get_data(as_text=True)


def test_wrong_password_is_refused_with_one_message_for_both_fields(client, world):
    wrong_password = login(client, world.clinician_a, "not the password")
    unknown_email = login(client, "nobody@a.example", "not the password")
    for response in (wrong_password, unknown_email):
        assert response.status_code == 200
        assert "The email address or password is not right." in response.get_data(as_text=True)
    assert client.get("/clinic/").status_code == 302


def test_deactivated_clinician_cannot_sign_in(client, world, db):
    db.execute("UPDATE clinicians SET active = 0 WHERE email = ?", [world.clinician_a])
    assert login(client, world.clinician_a).status_code == 200
    assert client.get("/clinic/").status_code == 302


def test_passwords_are_stored_as_argon2id(db, world):
    stored = accounts.get_clinician_by_email(db, world.clinician_a)["password_hash"]
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_session_is_rotated_at_sign_in(client, world):
    client.get("/login")
    with client.session_transaction() as before:
        before_state = dict(before)
    login(client, world.clinician_a)
    with client.session_transaction() as after:
        assert after["sid"] and after["sid"] != before_state.get("sid")
        assert after.get("csrf_token") != before_state.get("csrf_token")


def test_planted_session_id_is_not_kept(client, world):
    with client.session_transaction() as s:
        s["sid"] = "attacker-chosen"
    login(client, world.clinician_a)
    with client.session_transaction() as s:
        assert s["sid"] != "attacker-chosen"


def test_logout_ends_the_session_on_the_server(app, client, world):
    login(client, world.clinician_a)
    stolen = client.get_cookie("diary_session").value
    assert logout(client, "/clinic/").status_code == 302
    assert client.get("/clinic/").status_code == 302
    replay = app.test_client()
    replay.set_cookie("diary_session", stolen)
    response = replay.get("/clinic/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_password_change_ends_existing_sessions(app, client, world, db):
    login(client, world.clinician_a)
    clinician = accounts.get_clinician_by_email(db, world.clinician_a)
    accounts.set_clinician_password(db, clinician["id"], "$argon2id$v=19$m=65536,t=3,p=4$x$y")
    assert client.get("/clinic/").status_code == 302


def test_idle_timeout_after_30_minutes(client, world, moving_clock):
    login(client, world.clinician_a)
    moving_clock.advance(minutes=29)
    assert client.get("/clinic/").status_code == 200  # activity resets the idle clock
    moving_clock.advance(minutes=29)
    assert client.get("/clinic/").status_code == 200
    moving_clock.advance(minutes=31)
    response = client.get("/clinic/")
    assert response.status_code == 302
    assert "Your session has ended" in client.get("/login").get_data(as_text=True)


def test_absolute_timeout_after_12_hours_even_when_active(client, world, moving_clock):
    login(client, world.clinician_a)
    for _ in range(24):
        moving_clock.advance(minutes=29)
        assert client.get("/clinic/").status_code == 200
    moving_clock.advance(minutes=29)  # 12 h 25 min after sign-in
    assert client.get("/clinic/").status_code == 302


def test_throttled_per_account_with_429_and_retry_after(client, world):
    for _ in range(5):
        assert login(client, world.clinician_a, "wrong").status_code == 200
    response = login(client, world.clinician_a)  # even the right password now waits
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in response.get_data(as_text=True)
    assert client.get("/clinic/").status_code == 302
    # another account from another address is not affected
    other = client.application.test_client()
    assert (
        login(other, world.clinician_b, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 302
    )


def test_throttle_message_is_translated(app, client, world):
    for _ in range(5):
        login(client, world.clinician_a, "wrong")
    response = login(client, world.clinician_a, headers={"Accept-Language": "it"})
    assert response.status_code == 429
    minutes = -(-int(response.headers["Retry-After"]) // 60)
    with app.test_request_context(), force_locale("it"):
        expected = ngettext(
            "Too many failed sign-in attempts. Please wait %(num)d minute and try again.",
            "Too many failed sign-in attempts. Please wait %(num)d minutes and try again.",
            minutes,
        )
    assert "Too many" not in expected  # the Italian catalogue translates it
    assert expected in response.get_data(as_text=True)


def test_throttle_ends_after_the_window(client, world, moving_clock):
    for _ in range(5):
        login(client, world.clinician_a, "wrong")
    assert login(client, world.clinician_a).status_code == 429
    moving_clock.advance(minutes=16)
    assert login(client, world.clinician_a).status_code == 302


def test_throttled_per_client_address(client, world):
    for i in range(20):
        login(client, f"guess{i}@a.example", "wrong")
    response = login(client, world.clinician_b)
    assert response.status_code == 429


def test_throttling_is_shared_between_app_instances(app, world):
    """Two app objects on one database file stand for two gunicorn workers."""
    second_worker = create_app(dict(app.config))
    for _ in range(5):
        login(app.test_client(), world.clinician_a, "wrong")
    assert login(second_worker.test_client(), world.clinician_a).status_code == 429


def test_success_clears_the_account_failures(client, world, db):
    for _ in range(4):
        login(client, world.clinician_a, "wrong")
    assert login(client, world.clinician_a).status_code == 302
    since = clock.now() - timedelta(hours=1)
    assert accounts.count_failures(db, "account", _key(world.clinician_a), since)[0] == 0


def _key(email):
    from diary.security import token_hash

    return token_hash("email:" + email)


def test_next_parameter_only_goes_to_this_site(client, world):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    for target, expected in [
        ("/clinic/team", "/clinic/team"),
        ("https://evil.example/", "/clinic/"),
        ("//evil.example/", "/clinic/"),
        ("/\\evil.example", "/clinic/"),
    ]:
        fresh = client.application.test_client()
        token = csrf_from(fresh.get("/login").get_data(as_text=True))
        response = fresh.post(  # a clinician with no second step (see test_mfa.py)
            f"/login?next={target}",
            data={"email": world.clinician_a, "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == expected, target


def test_sign_in_requires_csrf_token(client, world):
    response = client.post("/login", data={"email": world.clinician_a, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert client.get("/clinic/").status_code == 302


def test_signin_events_are_audited_without_the_email(db, client, world):
    login(client, world.clinician_a, "wrong")
    login(client, world.clinician_a)
    rows = list(db.query("SELECT action, detail FROM audit_events ORDER BY id"))
    actions = [r["action"] for r in rows]
    assert "signin.failed" in actions and "signin" in actions
    assert all(world.clinician_a not in r["detail"] for r in rows)
