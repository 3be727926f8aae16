"""Two-step sign-in for clinicians (TOTP by QR code, recovery codes, passkeys), one-time
passwords changed at the first sign-in, password strength, the throttle's softening for
the real user, a new session at every sign-in, and the throttle under parallel requests."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import cbor2
import pyotp
import pytest
import zxingcpp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from flask_babel import force_locale
from flask_babel import gettext as babel_gettext
from PIL import Image

from diary import create_app, mfa, migrations
from diary.db import connect
from diary.queries import accounts, audit
from diary.queries import mfa as factors
from diary.security import hash_password
from tests.helpers import (
    DEEP_JSON,
    PASSWORD,
    TOTP_SECRET,
    csrf_from,
    enrol_totp,
    login,
    logout,
    open_link,
    second_step,
)

ROOT = Path(__file__).resolve().parent.parent
WEAK = ("password1234", "Mesotherapy2026")
TOO_EASY = (
    "This password is too easy to guess. Avoid names, dates, common words and keyboard"
    " patterns: a few unrelated words make a strong password."
)


def password_only(client, email: str, password: str = PASSWORD, **kwargs):
    """The first step of a sign-in alone (no code given)."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, **kwargs
    )


def code_at(step_offset: int = 0, secret: str = TOTP_SECRET) -> str:
    """The code an app with ``secret`` shows now (+/- steps of 30 s)."""
    return pyotp.TOTP(secret).generate_otp(int(time.time()) // 30 + step_offset)


def wrong_code(secret: str = TOTP_SECRET) -> str:
    """Six digits that are none of the codes the app shows a minute either side of now."""
    now = int(time.time()) // 30
    near = {pyotp.TOTP(secret).generate_otp(s) for s in range(now - 2, now + 3)}
    return next(c for c in (f"{d}" * 6 for d in range(10)) if c not in near)


def database_bytes(app) -> bytes:
    """The database file and its write-ahead log, as bytes (what a leak would hold)."""
    path = Path(app.config["DATABASE"])
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def add_admin(db, clinic_id: int, email: str = "new.admin@a.example") -> str:
    accounts.create_clinician(
        db, clinic_id, email, "Nora Admin", hash_password(PASSWORD), is_admin=True
    )
    return email


# --- setting up the authenticator app by QR code ---------------------------------------------


def test_admin_sets_up_the_app_by_qr_code_then_signs_in_with_its_codes(app, client, db, world):
    email = add_admin(db, world.clinic_a)
    assert password_only(client, email).headers["Location"] == "/clinic/account/authenticator"
    page = client.get("/clinic/account/authenticator").get_data(as_text=True)
    # the QR code, as a phone's camera reads it
    src = re.search(r'<img class="totp-qr" src="data:image/png;base64,([^"]+)"', page).group(1)
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(src))))
    uri = found.text
    assert uri.startswith("otpauth://totp/") and "issuer=Clinic%20A" in uri
    totp = pyotp.parse_uri(uri)
    assert totp.digits == 6 and totp.interval == 30
    assert totp.secret.replace(" ", "") in page.replace(" ", "")  # also shown to type in
    wrong = client.post(
        "/clinic/account/authenticator",
        data={"code": wrong_code(totp.secret), "csrf_token": csrf_from(page)},
    )
    assert "This code is not right" in wrong.get_data(as_text=True)
    assert factors.totp_key(db, accounts.get_clinician_by_email(db, email)["id"]) is None
    setup_code = totp.now()
    done = client.post(
        "/clinic/account/authenticator", data={"code": setup_code, "csrf_token": csrf_from(page)}
    )
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "Your recovery codes" in html
    codes = re.findall(r"<li><code><bdi dir=\"ltr\">([0-9A-Z-]{19})</bdi>", html)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/clinic/").status_code == 200  # this browser has passed the second step
    actions = [e["action"] for e in db.query("SELECT action FROM audit_events")]
    assert "mfa.enrolled" in actions and "mfa.failed" in actions
    # next time: password, then a code from the app (the one used to set it up is spent)
    logout(client, "/clinic/")
    assert password_only(client, email).headers["Location"] == "/login/code"
    assert client.get("/clinic/").headers["Location"] == "/login/code"
    assert second_step(client, setup_code).status_code == 200  # used at setup: refused
    response = second_step(client, totp.at(time.time() + 30))
    assert response.headers["Location"] == "/clinic/"
    assert client.get("/clinic/").status_code == 200


def test_the_second_step_keeps_the_page_asked_for(client, world):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    first = client.post(
        "/login?next=/clinic/team",
        data={"email": world.admin_a, "password": PASSWORD, "csrf_token": token},
    )
    assert first.headers["Location"] == "/login/code"
    assert second_step(client, code_at(0)).headers["Location"] == "/clinic/team"


def test_wrong_or_reused_code_is_refused(app, client, db, world):
    step = int(time.time()) // 30
    used, older, later = (pyotp.TOTP(TOTP_SECRET).generate_otp(step + k) for k in (0, -1, 1))
    assert password_only(client, world.admin_a).headers["Location"] == "/login/code"
    for bad in (wrong_code(), "12345", "abcdef"):
        response = second_step(client, bad)
        assert response.status_code == 200
        assert "This code is not right, or it was used already." in response.get_data(as_text=True)
    assert client.get("/clinic/").headers["Location"] == "/login/code"
    assert second_step(client, used).headers["Location"] == "/clinic/"
    # the same code in another browser, within its 30 seconds: refused
    other = app.test_client()
    assert password_only(other, world.admin_a).headers["Location"] == "/login/code"
    assert second_step(other, used).status_code == 200
    assert second_step(other, older).status_code == 200  # older than the one used
    assert other.get("/clinic/").headers["Location"] == "/login/code"
    failed = db.execute("SELECT count(*) FROM audit_events WHERE action = 'mfa.failed'")
    assert failed.fetchone()[0] == 5
    assert second_step(other, later).headers["Location"] == "/clinic/"


def test_five_wrong_codes_end_the_half_finished_sign_in(client, world):
    password_only(client, world.admin_a)
    for _ in range(4):
        assert second_step(client, wrong_code()).status_code == 200
    last = second_step(client, wrong_code())
    assert last.headers["Location"] == "/login"
    assert client.get("/login/code").headers["Location"].startswith("/login?next=")


def test_authenticator_key_is_stored_encrypted(app, db, world):
    clinician = accounts.get_clinician_by_email(db, world.admin_a)
    stored = factors.totp_key(db, clinician["id"])["secret"]
    assert TOTP_SECRET not in stored and TOTP_SECRET.encode() not in database_bytes(app)
    assert mfa.decrypt_secret(app.config["SECRET_KEY"], clinician["id"], stored) == TOTP_SECRET
    assert mfa.decrypt_secret("another secret key", clinician["id"], stored) is None
    assert mfa.decrypt_secret(app.config["SECRET_KEY"], clinician["id"] + 1, stored) is None


# --- recovery codes --------------------------------------------------------------------------


def test_recovery_codes_work_once_and_are_stored_hashed(app, db, world):
    codes = enrol_totp(app, db, world.clinician_a)  # a nurse who turned it on
    clinician = accounts.get_clinician_by_email(db, world.clinician_a)
    leaked = database_bytes(app)
    for code in codes:
        assert code.encode() not in leaked and code.replace("-", "").encode() not in leaked
    stored = {r["code_hash"] for r in db.query("SELECT code_hash FROM recovery_codes")}
    assert mfa.recovery_hash(clinician["id"], codes[0]) in stored
    first = app.test_client()
    assert password_only(first, world.clinician_a).headers["Location"] == "/login/code"
    typed = codes[0].lower().replace("-", " ")  # as someone might type it
    assert second_step(first, typed).headers["Location"] == "/clinic/"
    again = app.test_client()
    password_only(again, world.clinician_a)
    refused = second_step(again, codes[0])
    assert "This code is not right, or it was used already." in refused.get_data(as_text=True)
    assert factors.recovery_codes_left(db, clinician["id"]) == 9
    used = [e for e in db.query("SELECT * FROM audit_events WHERE action = 'mfa.recovery_used'")]
    assert len(used) == 1 and json.loads(used[0]["detail"]) == {"left": 9}
    assert all(codes[0] not in r["detail"] for r in db.query("SELECT detail FROM audit_events"))
    # new codes from "My account" replace the old ones
    page = first.get("/clinic/account").get_data(as_text=True)
    assert "9 unused recovery codes." in page
    renewed = first.post("/clinic/account/recovery-codes", data={"csrf_token": csrf_from(page)})
    fresh = re.findall(
        r"<li><code><bdi dir=\"ltr\">([0-9A-Z-]{19})</bdi>", renewed.get_data(as_text=True)
    )
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    third = app.test_client()
    password_only(third, world.clinician_a)
    assert second_step(third, codes[1]).status_code == 200  # an old one: gone
    assert second_step(third, fresh[0]).headers["Location"] == "/clinic/"


# --- who must use it -----------------------------------------------------------------------


def test_admin_cannot_reach_the_workspace_before_setting_it_up(client, db, world):
    email = add_admin(db, world.clinic_a)
    assert password_only(client, email).headers["Location"] == "/clinic/account/authenticator"
    for path in (
        "/clinic/",
        "/clinic/team",
        "/clinic/settings",
        "/clinic/account",
        "/clinic/patients",
    ):
        response = client.get(path)
        assert response.headers["Location"] == "/clinic/account/authenticator", path
    assert client.get("/login/code").headers["Location"] == "/clinic/account/authenticator"
    page = client.get("/clinic/account/authenticator").get_data(as_text=True)
    assert "Your account needs two-step sign-in" in page
    # a nurse is not asked (DIARY_REQUIRE_MFA=admins, the default)
    nurse = client.application.test_client()
    assert password_only(nurse, world.clinician_a).headers["Location"] == "/clinic/"


def test_require_mfa_all_applies_to_a_nurse(app, db, world):
    everyone = create_app(dict(app.config, REQUIRE_MFA="all"))
    nurse = everyone.test_client()
    assert (
        password_only(nurse, world.clinician_a).headers["Location"]
        == "/clinic/account/authenticator"
    )
    assert nurse.get("/clinic/").headers["Location"] == "/clinic/account/authenticator"
    page = nurse.get("/clinic/account/authenticator").get_data(as_text=True)
    secret = re.search(r'totp-key" translate="no"><bdi dir="ltr">([^<]+)<', page).group(1)
    secret = secret.replace(" ", "")
    nurse.post(
        "/clinic/account/authenticator",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page)},
    )
    assert nurse.get("/clinic/").status_code == 200


def test_require_mfa_setting_is_checked():
    from diary import config

    assert config.from_environ({})["REQUIRE_MFA"] == "admins"
    assert config.from_environ({"DIARY_REQUIRE_MFA": "ALL"})["REQUIRE_MFA"] == "all"
    with pytest.raises(ValueError, match="DIARY_REQUIRE_MFA"):
        config.from_environ({"DIARY_REQUIRE_MFA": "nobody"})


# --- one-time passwords and password strength --------------------------------------------------


def _add_member(app, world, is_admin: bool = False) -> str:
    admin = app.test_client()
    login(admin, world.admin_a)
    page = admin.get("/clinic/team").get_data(as_text=True)
    data = {"name": "Nina Nurse", "email": "nina@a.example", "csrf_token": csrf_from(page)}
    if is_admin:
        data["is_admin"] = "y"
    html = admin.post("/clinic/team", data=data).get_data(as_text=True)
    return re.search(r'<code class="password"><bdi dir="ltr">([^<]+)</bdi>', html).group(1)


def test_new_team_member_changes_the_one_time_password_before_anything_else(app, db, world):
    one_time = _add_member(app, world)
    nina = app.test_client()
    assert password_only(nina, "nina@a.example", one_time).headers["Location"] == (
        "/login/new-password"
    )
    for path in (
        "/clinic/",
        "/clinic/account",
        "/clinic/patients",
        "/clinic/account/authenticator",
    ):
        assert nina.get(path).headers["Location"] == "/login/new-password", path
    page = nina.get("/login/new-password").get_data(as_text=True)
    same = nina.post(
        "/login/new-password",
        data={"new": one_time, "confirm": one_time, "csrf_token": csrf_from(page)},
    )
    assert "not the one-time password" in same.get_data(as_text=True)
    chosen = "lantern orbit walnut seventy"
    response = nina.post(
        "/login/new-password",
        data={"new": chosen, "confirm": chosen, "csrf_token": csrf_from(page)},
    )
    assert response.headers["Location"] == "/clinic/"
    assert nina.get("/clinic/").status_code == 200
    clinician = accounts.get_clinician_by_email(db, "nina@a.example")
    assert clinician["must_change_password"] is False
    assert password_only(app.test_client(), "nina@a.example", one_time).status_code == 200
    assert (
        password_only(app.test_client(), "nina@a.example", chosen).headers["Location"] == "/clinic/"
    )
    events = [json.loads(e["detail"]) for e in db.query(
        "SELECT detail FROM audit_events WHERE action = 'clinician.password_changed'"
    )]  # fmt: skip
    assert events == [{"first_sign_in": True}]


def test_new_admin_chooses_a_password_then_sets_up_the_app(app, db, world):
    one_time = _add_member(app, world, is_admin=True)
    nina = app.test_client()
    password_only(nina, "nina@a.example", one_time)
    page = nina.get("/login/new-password").get_data(as_text=True)
    chosen = "lantern orbit walnut seventy"
    response = nina.post(
        "/login/new-password",
        data={"new": chosen, "confirm": chosen, "csrf_token": csrf_from(page)},
    )
    assert response.headers["Location"] == "/clinic/account/authenticator"
    assert nina.get("/clinic/").headers["Location"] == "/clinic/account/authenticator"


@pytest.mark.parametrize("weak", WEAK)
def test_weak_passwords_are_refused_with_a_clear_translated_message(app, client, world, weak):
    login(client, world.clinician_a)
    page = client.get("/clinic/account").get_data(as_text=True)
    response = client.post(
        "/clinic/account",
        data={"current": PASSWORD, "new": weak, "confirm": weak, "csrf_token": csrf_from(page)},
        headers={"Accept-Language": "it"},
    )
    html = response.get_data(as_text=True)
    with app.test_request_context(), force_locale("it"):
        expected = babel_gettext(TOO_EASY)
    assert expected in html.replace("&#39;", "'")
    assert 'id="new-error"' in html  # linked to the field
    # nothing changed: the old password still signs in
    assert password_only(app.test_client(), world.clinician_a).status_code == 302
    # the same rule for a one-time password's replacement and the command line
    strong = "lantern orbit walnut seventy"
    assert len(weak) >= 10 and not _too_weak(strong) and _too_weak(weak)


def _too_weak(password: str) -> bool:
    from diary.security import password_too_weak

    return password_too_weak(password)


def test_command_line_refuses_a_weak_password(runner, world):
    out = runner.invoke(
        args=["clinician", "create", "--clinic", str(world.clinic_a), "--email", "w@a.example",
              "--name", "W", "--password-stdin"],
        input="Mesotherapy2026\n",
    )  # fmt: skip
    assert out.exit_code != 0 and "too easy to guess" in out.output


# --- a throttled account: the real user still signs in with a second factor -------------------


def test_throttled_account_signs_in_with_password_and_code_while_wrong_passwords_wait(
    app, db, world
):
    attacker = app.test_client()
    for _ in range(5):
        password_only(attacker, world.admin_a, "guess", environ_base={"REMOTE_ADDR": "10.6.6.6"})
    checked = lambda: db.execute(  # noqa: E731
        "SELECT count(*) FROM audit_events WHERE action = 'signin.failed'"
    ).fetchone()[0]
    assert checked() == 5
    user = app.test_client()
    alone = password_only(user, world.admin_a)
    assert alone.status_code == 429
    page = alone.get_data(as_text=True)
    assert "If you use two-step sign-in, you can sign in now" in page and 'id="code"' in page

    def both(password: str, code: str, client=user, addr="10.1.1.1"):
        token = csrf_from(client.get("/login").get_data(as_text=True))
        return client.post(
            "/login",
            data={"email": world.admin_a, "password": password, "code": code, "csrf_token": token},
            environ_base={"REMOTE_ADDR": addr},
        )

    # wrong passwords stay throttled and are not even checked, with or without a code
    assert both("guess 2", "").status_code == 429
    assert both("guess 3", wrong_code()).status_code == 429
    assert both("guess 4", code_at(0)).status_code == 429  # right code, wrong password
    assert checked() == 6  # only the one that came with a right code was checked
    assert both(PASSWORD, wrong_code()).status_code == 429
    # the right password with a right code signs in (the code above was not spent)
    signed_in = both(PASSWORD, code_at(0))
    assert signed_in.headers["Location"] == "/clinic/"
    assert user.get("/clinic/").status_code == 200
    # the account's failures are forgotten once the real user is in
    assert password_only(app.test_client(), world.admin_a).headers["Location"] == "/login/code"
    # a recovery code works the same way
    codes = enrol_totp(app, db, world.clinician_b)
    for _ in range(5):
        password_only(
            attacker, world.clinician_b, "guess", environ_base={"REMOTE_ADDR": "10.6.6.7"}
        )
    nurse = app.test_client()
    token = csrf_from(nurse.get("/login").get_data(as_text=True))
    response = nurse.post(
        "/login",
        data={
            "email": world.clinician_b,
            "password": PASSWORD,
            "code": codes[3],
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == "/clinic/"


def test_a_throttled_address_gets_no_code_path(app, world):
    client = app.test_client()
    for i in range(20):
        password_only(client, f"guess{i}@a.example", "wrong")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={
            "email": world.admin_a,
            "password": PASSWORD,
            "code": code_at(0),
            "csrf_token": token,
        },
    )
    assert response.status_code == 429
    assert 'id="code"' not in response.get_data(as_text=True)


# --- a new session at every sign-in --------------------------------------------------------------


def test_every_sign_in_ends_the_session_the_browser_held(app, client, world):
    login(client, world.clinician_a)
    first = client.get_cookie("diary_session").value
    login(client, world.clinician_a)  # signing in again in the same browser
    second = client.get_cookie("diary_session").value
    open_link(client, world.token_a)  # then a patient's link in it
    third = client.get_cookie("diary_session").value
    open_link(client, world.token_a)  # and the link once more
    for cookie, page in ((first, "/clinic/"), (second, "/clinic/"), (third, "/home")):
        replay = app.test_client()
        replay.set_cookie("diary_session", cookie)
        assert replay.get(page).status_code in (302, 403), page
    assert client.get("/home").status_code == 200
    # the steps of a sign-in rotate it too: the half-signed-in session ends
    admin = app.test_client()
    password_only(admin, world.admin_a)
    pending = admin.get_cookie("diary_session").value
    second_step(admin, code_at(0))
    replay = app.test_client()
    replay.set_cookie("diary_session", pending)
    assert replay.get("/login/code").headers["Location"].startswith("/login?next=")


# --- passkeys: the server side, with a software authenticator -------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """A platform authenticator in Python: a P-256 key, "none" attestation."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.count = 0

    def _client_data(self, kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin}).encode()

    def create(self, options: dict, origin: str) -> dict:
        numbers = self.key.public_key().public_numbers()
        cose = cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        auth_data = (
            hashlib.sha256(options["rp"]["id"].encode()).digest()
            + bytes([0x45])  # user present, user verified, attested credential data
            + self.count.to_bytes(4, "big")
            + bytes(16)
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + cose
        )
        data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(data),
                "attestationObject": b64url(
                    cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
                ),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def get(self, options: dict, origin: str) -> dict:
        self.count += 1
        auth_data = (
            hashlib.sha256(options["rpId"].encode()).digest()
            + bytes([0x05])
            + self.count.to_bytes(4, "big")
        )
        data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(
            auth_data + hashlib.sha256(data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
            },
            "clientExtensionResults": {},
        }


def _json(client, path: str, csrf: str, body: dict | None = None):
    return client.post(
        path, data=json.dumps(body or {}), content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )  # fmt: skip


def test_passkey_is_added_then_signs_in_in_place_of_a_code(app, db, world):
    origin = app.config["BASE_URL"]  # http://localhost: the relying party is "localhost"
    device = SoftAuthenticator()
    admin = app.test_client()
    login(admin, world.admin_a)
    page = admin.get("/clinic/account").get_data(as_text=True)
    assert 'data-passkey="register"' in page
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    options = _json(admin, "/clinic/account/passkeys/options", csrf).get_json()
    assert options["rp"]["id"] == "localhost"
    answer = device.create(options, origin)
    added = _json(admin, "/clinic/account/passkeys", csrf, answer)
    assert added.get_json() == {"next": "/clinic/account"}
    # the challenge answers once only
    assert _json(admin, "/clinic/account/passkeys", csrf, answer).status_code == 400
    clinician = accounts.get_clinician_by_email(db, world.admin_a)
    (key,) = factors.passkeys(db, clinician["id"])
    assert key["credential_id"] == b64url(device.credential_id)

    phone = app.test_client()
    assert password_only(phone, world.admin_a).headers["Location"] == "/login/code"
    page = phone.get("/login/code").get_data(as_text=True)
    assert 'data-passkey="signin"' in page and re.search(r"js/passkeys\.[0-9a-f]{10}\.js", page)
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    # an answer signed for another site (a phishing page relaying it) is refused
    options = _json(phone, "/login/passkey/options", csrf).get_json()
    assert [c["id"] for c in options["allowCredentials"]] == [key["credential_id"]]
    phished = _json(phone, "/login/passkey", csrf, device.get(options, "https://evil.example"))
    assert phished.status_code == 400 and phone.get("/clinic/").status_code == 302
    options = _json(phone, "/login/passkey/options", csrf).get_json()
    spoofed = phone.post(  # the Host header does not decide the relying party
        "/login/passkey",
        data=json.dumps(device.get(dict(options, rpId="evil.example"), "http://evil.example")),
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
        environ_overrides={"HTTP_HOST": "evil.example"},
    )
    assert spoofed.status_code == 400, spoofed.status_code
    options = _json(phone, "/login/passkey/options", csrf).get_json()
    answer = device.get(options, origin)
    signed_in = _json(phone, "/login/passkey", csrf, answer)
    assert signed_in.get_json() == {"next": "/clinic/"}
    assert phone.get("/clinic/").status_code == 200
    assert factors.passkeys(db, clinician["id"])[0]["sign_count"] == device.count
    actions = [e["action"] for e in db.query("SELECT action FROM audit_events")]
    assert {"mfa.passkey_added", "mfa.used", "mfa.failed"} <= set(actions)
    # removed by its owner; another clinician's is not found
    nurse = app.test_client()
    login(nurse, world.clinician_a)
    token = csrf_from(nurse.get("/clinic/account").get_data(as_text=True))
    assert (
        nurse.post(
            f"/clinic/account/passkeys/{key['id']}/remove", data={"csrf_token": token}
        ).status_code
        == 404
    )
    token = csrf_from(phone.get("/clinic/account").get_data(as_text=True))
    phone.post(f"/clinic/account/passkeys/{key['id']}/remove", data={"csrf_token": token})
    assert factors.passkeys(db, clinician["id"]) == []


def test_passkeys_are_not_offered_at_an_ip_address(app, world):
    app.config["BASE_URL"] = "http://127.0.0.1:5000"
    admin = app.test_client()
    login(admin, world.admin_a)
    assert "data-passkey" not in admin.get("/clinic/account").get_data(as_text=True)
    assert mfa.relying_party("https://diary.example.org") == mfa.RelyingParty(
        "diary.example.org", "https://diary.example.org"
    )


# --- lost phone -------------------------------------------------------------------------------


def test_admin_resets_a_members_two_step_sign_in(app, db, world):
    enrol_totp(app, db, world.clinician_a)
    nurse = app.test_client()
    login(nurse, world.clinician_a)
    admin = app.test_client()
    login(admin, world.admin_a)
    page = admin.get("/clinic/team").get_data(as_text=True)
    assert "Reset two-step sign-in" in page
    member = accounts.get_clinician_by_email(db, world.clinician_a)
    admin.post(f"/clinic/team/{member['id']}/two-step-reset", data={"csrf_token": csrf_from(page)})
    assert factors.totp_key(db, member["id"]) is None
    assert factors.recovery_codes_left(db, member["id"]) == 0
    assert nurse.get("/clinic/").status_code == 302  # their sessions ended
    assert password_only(app.test_client(), world.clinician_a).headers["Location"] == "/clinic/"
    me = accounts.get_clinician_by_email(db, world.admin_a)
    refused = admin.post(
        f"/clinic/team/{me['id']}/two-step-reset", data={"csrf_token": csrf_from(page)}
    )
    assert refused.status_code == 400  # not one's own
    actions = [e["action"] for e in db.query("SELECT action FROM audit_events")]
    assert actions.count("mfa.reset") == 1 and audit.verify(db)[1] is None


def test_last_admin_is_reset_from_the_command_line(app, runner, db, world):
    out = runner.invoke(args=["clinician", "reset-two-step", "--email", world.admin_a])
    assert out.exit_code == 0, out.output
    client = app.test_client()
    assert (
        password_only(client, world.admin_a).headers["Location"] == "/clinic/account/authenticator"
    )


# --- the throttle under parallel requests (gunicorn) ------------------------------------------


def test_parallel_wrong_passwords_under_gunicorn_are_checked_at_most_the_limit(tmp_path):
    """40 wrong passwords at once, over 40 connections to two gunicorn workers with four
    threads each: at most 5 (the account's limit) are checked, the rest wait (429)."""
    from tests.live_server import Session, app_env, free_port, start_gunicorn

    db = connect(tmp_path / "t.sqlite")
    migrations.apply(db)
    clinic = accounts.create_clinic(db, "C", timezone="Europe/Rome")
    accounts.create_clinician(db, clinic, "g@clinic.example", "G", hash_password("right pass 123"))
    db.conn.close()
    port = free_port()
    server = start_gunicorn(
        "diary:create_app()", port, app_env(tmp_path, "t.sqlite"), ROOT, workers=2, threads=4
    )
    results: list[tuple[int, bool]] = []
    try:
        clients = [Session(port, timeout=30) for _ in range(40)]
        bodies = []
        for i, s in enumerate(clients):
            _status, page = s.request("GET", "/login")
            token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            fields = {"email": "g@clinic.example", "password": f"wrong {i}", "csrf_token": token}
            bodies.append(urlencode(fields).encode())
        barrier = threading.Barrier(40)

        def attempt(s: Session, body: bytes) -> None:
            barrier.wait()
            status, page = s.request(
                "POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"}
            )
            results.append((status, b"is not right" in page))
            s.close()

        threads = [
            threading.Thread(target=attempt, args=pair)
            for pair in zip(clients, bodies, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        import signal

        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    assert len(results) == 40
    checked = [r for r in results if r == (200, True)]
    waited = [r for r in results if r[0] == 429]
    assert len(checked) == 5 and len(waited) == 35, sorted(results)
    after = connect(tmp_path / "t.sqlite")
    failed = after.execute("SELECT count(*) FROM audit_events WHERE action = 'signin.failed'")
    assert failed.fetchone()[0] == 5
    assert (
        after.execute("SELECT count(*) FROM login_failures WHERE scope = 'account'").fetchone()[0]
        == 5
    )


@pytest.mark.parametrize("step", ["add", "sign-in"])
def test_a_passkey_answer_nested_deeper_than_json_goes_is_a_400(app, world, caplog, step):
    """JSON nested past the parser's depth was a RecursionError (500, traceback) on every
    JSON route; it is now bad JSON like any other (``diary.JSONProvider``)."""
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    login(client, world.admin_a)
    page = client.get("/clinic/account").get_data(as_text=True)
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    path = "/clinic/account/passkeys"
    if step == "sign-in":  # with a passkey added, at the second step of a new sign-in
        device = SoftAuthenticator()
        options = _json(client, path + "/options", csrf).get_json()
        assert _json(client, path, csrf, device.create(options, app.config["BASE_URL"])).is_json
        client = app.test_client()
        assert password_only(client, world.admin_a).headers["Location"] == "/login/code"
        page = client.get("/login/code").get_data(as_text=True)
        csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
        path = "/login/passkey"
    assert _json(client, path + "/options", csrf).status_code == 200  # a challenge is out
    deep = DEEP_JSON
    answer = client.post(
        path, data=deep, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert answer.status_code == 400 and "error" in answer.get_json()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
