"""The daily email digest (issue 18 item 4), against a real SMTP server (aiosmtpd) started
by the tests: the account setting, the email's content and headers, once per clinic-local
day at or after the hour (a test clock walks a course through a week), nothing for an empty
list, a failed send retried, two runs at once sending once, and "off" without SMTP."""

from __future__ import annotations

import email
import email.policy
import ipaddress
import re
import ssl
import threading
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from diary import clock, digest
from diary import config as settings
from diary.db import connect
from diary.queries import accounts, digests, patients, seed
from diary.security import hash_password
from tests.factories import give_consent
from tests.helpers import (
    PASSWORD,
    at_once,
    browser_login,
    csrf_from,
    has_horizontal_overflow,
    login,
    screenshot,
)
from tests.live_server import free_port

ROME = ZoneInfo("Europe/Rome")
MONDAY = date(2026, 11, 30)
SENDER = "Pain diary <diary@clinic.example>"


class Inbox:
    """aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[list[str]] = []  # the recipients each message was sent to
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append(list(envelope.rcpt_tos))
        return "250 Message accepted"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if address in m["To"]]


@pytest.fixture
def inbox(app):
    """A local SMTP server, and the app configured to use it (no STARTTLS, no login)."""
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_FROM=SENDER)
    yield handler
    controller.stop()


def at(day: date, hour: int, minute: int = 0, zone: ZoneInfo = ROME) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


def opt_in(db, email_address: str, on: bool = True) -> int:
    clinician = accounts.get_clinician_by_email(db, email_address)
    digests.set_choice(db, clinician["id"], clinician["clinic_id"], on)
    return clinician["id"]


def run(app, db, now: datetime) -> dict:
    with app.app_context():
        return digest.send_due(db, now, app.config)


def consented_course(db, clinic: int, code: str, start: date, note: str = "") -> int:
    patient = patients.create_patient(db, clinic, code, contact_note=note)
    course = patients.create_course(db, patient, "knee", start)
    give_consent(db, course)
    return course


def body(message) -> tuple[str, str]:
    """The plain-text and the HTML part."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


# --- the email ---------------------------------------------------------------------------


def test_the_email_counts_per_reason_and_names_no_patient(app, db, world, inbox, monkeypatch):
    now = at(MONDAY + timedelta(days=7), 7, 30)
    monkeypatch.setattr(clock, "now", lambda: now)
    accounts.set_clinician_locale(db, opt_in(db, world.clinician_a), "en")
    # two consented patients: both not countersigned, one silent for a week; pain 9 and 8
    quiet = consented_course(db, world.clinic_a, "Z-777", MONDAY, note="CALL HER SISTER")
    seed.insert_entry(db, quiet, MONDAY, "q-1", 9, 8)
    other = consented_course(db, world.clinic_a, "Z-778", MONDAY)
    seed.insert_entry(db, other, now.astimezone(ROME).date(), "o-1", 9, 8)

    result = run(app, db, now)

    assert result == {"enabled": True, "sent": 1, "empty": 0, "failed": 0, "waiting": 0}
    [message] = inbox.messages
    assert message["Subject"] == "Pain diary: 2 patients need attention"
    assert message["From"] == SENDER
    assert message["To"] == "Dario Doc <doc@a.example>"
    assert parsedate_to_datetime(message["Date"]) == now
    assert re.fullmatch(r"<[^@>]+\.digest@clinic\.example>", message["Message-ID"])
    assert message["Content-Language"] == "en"
    text, html = body(message)
    assert "Consent not yet countersigned: 2 patients" in text
    assert "No diary entry for several days: 1 patient" in text
    assert "Pain rose" not in text and "Possible allergic" not in text
    assert "Open the list: http://localhost/clinic/attention" in text
    assert '<a href="http://localhost/clinic/attention">' in html
    assert "<li>Consent not yet countersigned: 2 patients</li>" in html
    assert '<html lang="en" dir="ltr">' in html
    for part in (text, html, message["Subject"]):
        for secret in ("Z-777", "Z-778", "A-001", "CALL HER SISTER", "NRS"):
            assert secret not in part, secret
    # the only numbers: the day (7 December 2026) and the counts, never a pain score
    assert re.findall(r"\d+", text) == ["7", "2026", "1", "2"]
    assert re.findall(r"\d+", html[html.index("<body>") :]) == ["7", "2026", "1", "2"]


def test_the_email_is_in_the_clinicians_language(app, db, world, inbox):
    opt_in(db, world.clinician_b)  # no language of their own: the clinic's (French)
    consented_course(db, world.clinic_b, "B-002", clock.today("Europe/Paris"))
    now = at(clock.today("Europe/Paris"), 23, 0, ZoneInfo("Europe/Paris"))
    assert run(app, db, now)["sent"] == 1
    [message] = inbox.messages
    assert message["Content-Language"] == "fr"
    assert '<html lang="fr" dir="ltr">' in body(message)[1]
    accounts.set_clinician_locale(
        db, accounts.get_clinician_by_email(db, "doc@b.example")["id"], "ar"
    )
    db.execute("DELETE FROM digests_sent")
    run(app, db, now)
    assert inbox.messages[1]["Content-Language"] == "ar"
    assert '<html lang="ar" dir="rtl">' in body(inbox.messages[1])[1]


def test_hostile_names_are_escaped_and_inject_no_header(app, db, world, inbox):
    clinician = opt_in(db, world.clinician_a)
    db.execute("UPDATE clinicians SET name = ? WHERE id = ?", ["<b>Eve</b>", clinician])
    db.execute(
        "UPDATE clinics SET name = ? WHERE id = ?",
        ["Bcc: x@evil.example\n<script>alert(1)</script>", world.clinic_a],
    )
    consented_course(db, world.clinic_a, "H-1", clock.today("Europe/Rome"))
    now = at(clock.today("Europe/Rome"), 23, 0)
    assert run(app, db, now)["sent"] == 1
    [message] = inbox.messages
    assert message["Bcc"] is None and "evil" not in message["To"]
    assert inbox.envelopes == [["doc@a.example"]]  # nobody else received it
    _text, html = body(message)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html


# --- once a day, after the hour, only to those who asked -----------------------------------


def test_a_week_one_digest_a_day_at_or_after_the_hour(app, db, world, inbox, monkeypatch):
    """The clock walks a course through a week, a run every hour: one email a day, never
    before 07:00 in the clinic; the diary's silence shows from the day it counts."""
    moment = {"now": at(MONDAY, 0)}
    monkeypatch.setattr(clock, "now", lambda: moment["now"])
    course = consented_course(db, world.clinic_a, "W-001", MONDAY)
    accounts.set_clinician_locale(db, opt_in(db, world.clinician_a), "en")
    opt_in(db, world.clinician_b)  # clinic B: nothing needs attention all week
    opt_in(db, world.admin_a, on=False)
    accounts.create_clinician(db, world.clinic_a, "gone@a.example", "Gone", hash_password(PASSWORD))
    gone = opt_in(db, "gone@a.example")
    db.execute("UPDATE clinicians SET active = 0 WHERE id = ?", [gone])

    start = at(MONDAY, 0, 0, ZoneInfo("UTC"))
    for hour in range(7 * 24):
        moment["now"] = start + timedelta(hours=hour)
        local = moment["now"].astimezone(ROME)
        if local.hour == 20 and (local.date() - MONDAY).days < 3:  # entries Mon-Wed only
            seed.insert_entry(db, course, local.date(), f"w-{hour}", 4, 5)
        run(app, db, moment["now"])

    mails = inbox.to("doc@a.example")
    days = [parsedate_to_datetime(m["Date"]).astimezone(ROME) for m in mails]
    assert [d.date() for d in days] == [MONDAY + timedelta(days=n) for n in range(7)]
    assert all(d.hour == 7 for d in days)  # the first hourly run at or after 07:00
    silent = ["No diary entry" in body(m)[0] for m in mails]
    assert silent == [False] * 5 + [True] * 2  # last entry Wednesday: missing from Saturday
    assert len(inbox.messages) == 7  # nobody else: not B (empty), not the admin, not Gone
    rows = db.execute(
        "SELECT status, count(*) FROM digests_sent GROUP BY status ORDER BY status"
    ).fetchall()
    assert rows == [("empty", 7), ("sent", 7)]


def test_the_hour_is_the_clinics_and_can_be_set(app, db, world, inbox):
    new_york = accounts.create_clinic(db, "Clinic NY", timezone="America/New_York")
    accounts.create_clinician(db, new_york, "ny@example.org", "Nia", hash_password(PASSWORD))
    opt_in(db, "ny@example.org")
    consented_course(db, new_york, "NY-1", MONDAY)
    zone = ZoneInfo("America/New_York")
    # 07:30 in Rome is still the middle of the night in New York
    assert run(app, db, at(MONDAY, 7, 30))["waiting"] == 1
    assert run(app, db, at(MONDAY, 6, 59, zone))["sent"] == 0
    assert run(app, db, at(MONDAY, 7, 0, zone))["sent"] == 1
    app.config["DIGEST_HOUR"] = 9
    assert run(app, db, at(MONDAY + timedelta(days=1), 8, 59, zone))["sent"] == 0
    assert run(app, db, at(MONDAY + timedelta(days=1), 9, 0, zone))["sent"] == 1
    assert len(inbox.messages) == 2


def test_nothing_is_sent_for_an_empty_list_and_the_day_is_decided(app, db, world, inbox):
    """Decision: an empty list sends no email; the day is recorded as ``empty``, so
    something that comes up later that day waits for the page or the next day's email."""
    opt_in(db, world.clinician_a)
    monday_8 = at(MONDAY, 8)
    assert run(app, db, monday_8) == {
        "enabled": True, "sent": 0, "empty": 1, "failed": 0, "waiting": 0
    }  # fmt: skip
    assert inbox.messages == []
    consented_course(db, world.clinic_a, "E-1", MONDAY)  # needs a countersignature now
    assert run(app, db, monday_8 + timedelta(hours=3))["sent"] == 0
    assert run(app, db, at(MONDAY + timedelta(days=1), 7))["sent"] == 1


# --- failures and concurrency --------------------------------------------------------------


def test_a_failed_send_gives_the_day_back(app, db, world, inbox, caplog):
    opt_in(db, world.clinician_a)
    consented_course(db, world.clinic_a, "F-1", MONDAY)
    working = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = free_port()  # nobody listens there
    assert run(app, db, at(MONDAY, 8))["failed"] == 1
    assert db.execute("SELECT count(*) FROM digests_sent").fetchone()[0] == 0
    with caplog.at_level("INFO"):
        assert run(app, db, at(MONDAY, 8, 5))["failed"] == 1
    assert '"error": "ConnectionRefusedError", "event": "digest.failed"' in caplog.text
    assert inbox.messages == []
    # the next run, with the server working, sends it
    app.config["SMTP_PORT"] = working
    assert run(app, db, at(MONDAY, 8, 10))["sent"] == 1
    assert run(app, db, at(MONDAY, 8, 15))["sent"] == 0
    assert len(inbox.messages) == 1
    assert db.execute("SELECT status, sent_at FROM digests_sent").fetchone()[0] == "sent"


def test_two_runs_at_once_send_once(app, db, world, inbox, monkeypatch):
    opt_in(db, world.clinician_a)
    opt_in(db, world.admin_a)
    consented_course(db, world.clinic_a, "C-1", MONDAY)
    # both runs get past the cheap "done already?" look: only the claim can stop one
    monkeypatch.setattr(digests, "has_day", lambda *args: False)

    def one_run() -> dict:
        own = connect(app.config["DATABASE"])
        try:
            with app.app_context():
                return digest.send_due(own, at(MONDAY, 8), app.config)
        finally:
            own.conn.close()

    results = at_once(one_run)
    assert sum(r["sent"] for r in results) == 2  # one each for the two clinicians
    assert sorted(m["To"] for m in inbox.messages) == [
        "Anna Admin <admin@a.example>",
        "Dario Doc <doc@a.example>",
    ]


# --- TLS: STARTTLS, SMTPS, the certificate, no password in clear ---------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A certificate for 127.0.0.1, signed by itself, and its key: the one authority the
    TLS tests trust (``SSL_CERT_FILE``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "diary test mail server")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem"


class SecureInbox(Inbox):
    """An :class:`Inbox` that also notes, per message, whether it came over TLS and who
    signed in; and every login tried, with its password."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[bool, str | None]] = []
        self.logins: list[tuple[str, str]] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        # handled=False: aiosmtpd answers a refusal with 535 itself
        accepted = (login, password) == ("diary", MAIL_PASSWORD)
        return AuthResult(success=accepted, handled=False, auth_data=auth_data)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        over_tls = server.transport.get_extra_info("ssl_object") is not None
        login = session.auth_data.login.decode() if session.authenticated else None
        self.seen.append((over_tls, login))
        return await super().handle_DATA(server, session, envelope)


MAIL_PASSWORD = "s3cret-Pa55word"
#: aiosmtpd warns of a login not behind STARTTLS, which is right on a TLS-from-the-start one
AIOSMTPD_SSL_LOGIN = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def _mail_server(kind: str, certificate, app, monkeypatch) -> tuple[SecureInbox, Controller]:
    """Start an SMTP server that asks for TLS the ``kind`` way ("starttls": offered and
    required before anything else; "ssl": from the first byte) and for a login; point the
    app at it, with the login set, and trust the test certificate."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = SecureInbox()
    port = free_port()
    options = {"tls_context": context, "require_starttls": True} if kind == "starttls" else {}
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        ssl_context=context if kind == "ssl" else None,
        authenticator=handler.authenticate,
        auth_required=True,
        auth_require_tls=kind == "starttls",  # see AIOSMTPD_SSL_LOGIN
        **options,
    )
    # the one authority trusted (also by the controller's own "is it up?" check)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_STARTTLS=True,
        SMTP_SSL=kind == "ssl",
        SMTP_USER="diary",
        SMTP_PASSWORD=MAIL_PASSWORD,
        SMTP_FROM=SENDER,
    )
    return handler, controller


@pytest.fixture(params=["starttls", "ssl"])
def secure_inbox(request, certificate, app, monkeypatch):
    handler, controller = _mail_server(request.param, certificate, app, monkeypatch)
    yield handler
    controller.stop()


@AIOSMTPD_SSL_LOGIN
def test_the_digest_goes_over_tls_with_a_login(app, db, world, secure_inbox, caplog):
    """Both ways a mail server asks for TLS: the email arrives over TLS, signed in; the
    password is checked by the server and never logged."""
    opt_in(db, world.clinician_a)
    consented_course(db, world.clinic_a, "T-1", MONDAY)
    # a login the server refuses: nothing sent, the day given back
    app.config["SMTP_PASSWORD"] = "not-the-password"
    with caplog.at_level("INFO"):
        assert run(app, db, at(MONDAY, 8))["failed"] == 1
        assert '"code": 535, "error": "SMTPAuthenticationError"' in caplog.text
        assert secure_inbox.messages == []
        app.config["SMTP_PASSWORD"] = MAIL_PASSWORD
        assert run(app, db, at(MONDAY, 8, 5))["sent"] == 1
    assert secure_inbox.seen == [(True, "diary")]
    # smtplib tries each mechanism the server offers before it gives up
    refused, accepted = secure_inbox.logins[:-1], secure_inbox.logins[-1]
    assert refused and set(refused) == {("diary", "not-the-password")}
    assert accepted == ("diary", MAIL_PASSWORD)
    assert secure_inbox.messages[0]["To"] == "Dario Doc <doc@a.example>"
    assert MAIL_PASSWORD not in caplog.text


@AIOSMTPD_SSL_LOGIN
def test_a_certificate_the_system_does_not_trust_stops_the_send(
    app, db, world, secure_inbox, monkeypatch, tmp_path, caplog
):
    """The server's certificate is checked: with another authority trusted, nothing is
    sent, no password leaves, and the day is given back for a later run."""
    opt_in(db, world.clinician_a)
    consented_course(db, world.clinic_a, "U-1", MONDAY)
    other = tmp_path / "other.pem"
    other.write_bytes(b"")  # trusts nothing
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with caplog.at_level("INFO"):
        assert run(app, db, at(MONDAY, 8))["failed"] == 1
    assert "SSLCertVerificationError" in caplog.text
    assert secure_inbox.logins == [] and secure_inbox.messages == []
    assert db.execute("SELECT count(*) FROM digests_sent").fetchone()[0] == 0


def test_no_password_on_a_connection_without_tls(app, db, world, inbox, caplog):
    """With both TLS settings off, a login is refused before it starts: the server never
    sees the password, the send fails and the day is given back. Without a login the same
    server takes the email (a relay on the same machine, say)."""
    opt_in(db, world.clinician_a)
    consented_course(db, world.clinic_a, "N-1", MONDAY)
    app.config.update(SMTP_USER="diary", SMTP_PASSWORD=MAIL_PASSWORD, SMTP_SSL=False)
    with caplog.at_level("INFO"):
        assert run(app, db, at(MONDAY, 8))["failed"] == 1
    assert "CleartextLogin" in caplog.text and MAIL_PASSWORD not in caplog.text
    assert inbox.messages == []
    app.config.update(SMTP_USER=None, SMTP_PASSWORD=None)
    assert run(app, db, at(MONDAY, 8, 5))["sent"] == 1


@pytest.mark.parametrize(
    ("port", "ssl_setting", "starttls", "mode"),
    [
        (587, None, True, "starttls"),  # the defaults
        (465, None, True, "ssl"),  # SMTPS's port: TLS from the first byte
        (465, False, True, "starttls"),  # said otherwise
        (2525, True, True, "ssl"),
        (25, None, False, "none"),
        (465, None, False, "ssl"),  # STARTTLS off does not turn TLS off on 465
    ],
)
def test_tls_mode(port, ssl_setting, starttls, mode):
    config = {"SMTP_PORT": port, "SMTP_SSL": ssl_setting, "SMTP_STARTTLS": starttls}
    assert settings.smtp_tls(config) == mode


# --- off without SMTP; the account page; the command ---------------------------------------


def test_off_without_smtp_settings(app, db, world):
    assert app.config["SMTP_HOST"] is None and app.config["SMTP_STARTTLS"] is True
    assert app.config["SMTP_PORT"] == 587 and app.config["DIGEST_HOUR"] == 7
    opt_in(db, world.clinician_a)
    consented_course(db, world.clinic_a, "O-1", MONDAY)
    assert run(app, db, at(MONDAY, 8)) == {
        "enabled": False, "sent": 0, "empty": 0, "failed": 0, "waiting": 0
    }  # fmt: skip
    assert db.execute("SELECT count(*) FROM digests_sent").fetchone()[0] == 0


def _digest_box(page: str) -> str:
    return re.search(r'<input [^>]*id="digest"[^>]*>', page).group(0)


def test_the_account_setting(app, db, world):
    staff = app.test_client()
    login(staff, world.clinician_a)
    page = staff.get("/clinic/account?lang=en").get_data(as_text=True)
    assert "Send me a daily summary by email" in page
    assert "checked" not in _digest_box(page)  # off by default
    assert "off on this server" in page  # no SMTP settings
    clinician = accounts.get_clinician_by_email(db, world.clinician_a)
    assert clinician["digest"] is False
    # no form token: refused, nothing changes
    assert staff.post("/clinic/account/digest", data={"digest": "y"}).status_code == 400
    assert accounts.get_clinician_by_email(db, world.clinician_a)["digest"] is False
    token = csrf_from(page)
    turned_on = staff.post("/clinic/account/digest", data={"csrf_token": token, "digest": "y"})
    assert turned_on.status_code == 302
    assert accounts.get_clinician_by_email(db, world.clinician_a)["digest"] is True
    page = staff.get("/clinic/account?lang=en").get_data(as_text=True)
    assert "The daily summary by email is on." in page
    assert "checked" in _digest_box(page)
    # the same choice again changes nothing and writes no second event
    staff.post("/clinic/account/digest", data={"csrf_token": token, "digest": "y"})
    staff.post("/clinic/account/digest", data={"csrf_token": token})  # box unticked
    assert accounts.get_clinician_by_email(db, world.clinician_a)["digest"] is False
    # each change is in the audit trail, by whom and for which clinic
    events = db.execute(
        "SELECT action, actor, actor_id, clinic_id FROM audit_events"
        " WHERE action LIKE 'clinician.digest%' ORDER BY id"
    ).fetchall()
    assert events == [
        ("clinician.digest_on", "clinician", clinician["id"], world.clinic_a),
        ("clinician.digest_off", "clinician", clinician["id"], world.clinic_a),
    ]
    # others keep their own choice
    assert accounts.get_clinician_by_email(db, world.admin_a)["digest"] is False
    # with a mail server set up, the "off on this server" sentence goes
    app.config.update(SMTP_HOST="mail.example.org", SMTP_FROM=SENDER)
    assert "off on this server" not in staff.get("/clinic/account").get_data(as_text=True)


def test_the_command(app, db, world, runner, inbox, monkeypatch):
    opt_in(db, world.clinician_a)
    consented_course(db, world.clinic_a, "K-1", MONDAY)
    monkeypatch.setattr(clock, "now", lambda: at(MONDAY, 9))
    result = runner.invoke(args=["digest", "send"])
    assert result.exit_code == 0, result.output
    assert "digests sent: 1" in result.output
    assert len(inbox.messages) == 1
    app.config["SMTP_HOST"] = None
    result = runner.invoke(args=["digest", "send"])
    assert "digest off" in result.output and result.exit_code == 0


def test_the_reminders_timer_sends_the_digest_too(app, db, world, runner, inbox, monkeypatch):
    # one timer (deploy/systemd/diary-reminders.timer) runs `reminders send`: the digest
    # goes out from it, once a day however often it runs
    opt_in(db, world.clinician_a)
    consented_course(db, world.clinic_a, "K-1", MONDAY)
    for minute in (0, 5, 10):
        monkeypatch.setattr(clock, "now", lambda m=minute: at(MONDAY, 9, m))
        result = runner.invoke(args=["reminders", "send"])
        assert result.exit_code == 0, result.output
    assert "digest: enabled True, sent 0" in result.output
    assert len(inbox.messages) == 1


def test_the_settings_are_read_and_checked(monkeypatch):
    from diary import config

    read = config.from_environ(
        {"DIARY_SMTP_HOST": "mail.example.org", "DIARY_SMTP_STARTTLS": "off",
         "DIARY_SMTP_PORT": "2525", "DIARY_DIGEST_HOUR": "6"}
    )  # fmt: skip
    assert (read["SMTP_HOST"], read["SMTP_STARTTLS"], read["SMTP_PORT"]) == (
        "mail.example.org", False, 2525
    )  # fmt: skip
    assert read["DIGEST_HOUR"] == 6
    with pytest.raises(ValueError, match="DIARY_DIGEST_HOUR"):
        config.from_environ({"DIARY_DIGEST_HOUR": "24"})


@pytest.mark.browser
@pytest.mark.parametrize(("width", "lang"), [(360, "ar"), (1280, "en")])
def test_the_setting_in_the_browser(app, db, world, live_server, page_at, width, lang):
    """Ticked and saved in Chromium, right to left in Arabic at 360 px: no overflow, no
    console errors (strict CSP)."""
    page = page_at(width)
    browser_login(page, live_server, world.clinician_a, app.config["DATABASE"])
    page.goto(f"{live_server}/clinic/account?lang={lang}")
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    assert page.locator("[data-digest=off]").is_visible()
    box = page.locator("#digest")
    assert not box.is_checked()
    page.locator("label[for=digest]").click()
    with page.expect_navigation():
        page.locator("form[action$='/account/digest'] button[type=submit]").click()
    assert page.url.endswith("/clinic/account")
    assert page.locator("#digest").is_checked()
    assert accounts.get_clinician_by_email(db, world.clinician_a)["digest"] is True
    assert not has_horizontal_overflow(page)
    screenshot(page, f"clinic-account-digest-{lang}-{width}")
