"""Fixtures in the style of Flask's tutorial: an app on a temporary database, a client, a
CLI runner, two clinics with their staff and patients (``world``), and Debian's Chromium
with a live server for the browser tests. Every test runs with CSRF protection on; the
helpers that sign people in through the real forms are in tests/helpers.py."""

from __future__ import annotations

import pytest

from diary import clock, create_app, migrations
from diary.db import connect
from diary.queries import accounts, patients
from diary.security import hash_password
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, PASSWORD, World, enrol_totp


@pytest.fixture
def app(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-used-anywhere-else",
            "DATABASE": str(tmp_path / "diary.sqlite"),
            "BASE_URL": "http://localhost",
            "INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )
    with app.app_context():
        migrations.apply(connect(app.config["DATABASE"]))
    yield app


@pytest.fixture
def db(app):
    database = connect(app.config["DATABASE"])
    yield database
    database.conn.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(app, db) -> World:
    """Clinic A (Italian, Rome) and clinic B (French, Paris), each with one patient whose
    course starts today in the clinic's time zone. Clinic A's admin has two-step sign-in
    (required for admins) with the authenticator key ``helpers.TOTP_SECRET``."""
    a = accounts.create_clinic(
        db, "Clinic A", phone="+39 06 1111", locale="it", timezone="Europe/Rome"
    )
    b = accounts.create_clinic(
        db, "Clinic B", phone="+33 1 2222", locale="fr", timezone="Europe/Paris"
    )
    pw = hash_password(PASSWORD)
    accounts.create_clinician(db, a, "admin@a.example", "Anna Admin", pw, is_admin=True)
    accounts.create_clinician(db, a, "doc@a.example", "Dario Doc", pw)
    accounts.create_clinician(db, b, "doc@b.example", "Bea Doc", pw)
    enrol_totp(app, db, "admin@a.example")
    pa = patients.create_patient(db, a, "A-001", locale="it")
    pb = patients.create_patient(db, b, "B-001", locale="ar")
    patients.create_course(db, pa, "neck", clock.today("Europe/Rome"))
    patients.create_course(db, pb, "knee", clock.today("Europe/Paris"))
    return World(
        clinic_a=a,
        clinic_b=b,
        admin_a="admin@a.example",
        clinician_a="doc@a.example",
        clinician_b="doc@b.example",
        patient_a=pa,
        patient_b=pb,
        token_a=patients.issue_link(db, pa),
        token_b=patients.issue_link(db, pb),
    )


# --- the real server and Debian's Chromium, for browser tests -----------------------------


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (``make test`` installs it when missing)."""
    import os

    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def live_server(app):
    """The app served by a real HTTP server on a free loopback port."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page_at(browser, request):
    """Open pages at a given width; fail the test on console errors (e.g. CSP violations)."""
    contexts = []
    errors: list[str] = []

    def open_page(width: int, height: int = 800, locale: str = "en-US"):
        context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
        contexts.append(context)
        page = context.new_page()
        # Failed loads are judged from the responses: an error page visited on purpose is
        # fine, a missing stylesheet or script is not.
        page.on(
            "console",
            lambda msg: (
                msg.type == "error"
                and not msg.text.startswith("Failed to load resource")
                and errors.append(msg.text)
            ),
        )
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "response",
            lambda res: (
                res.status >= 400
                and res.request.resource_type != "document"
                and not res.url.endswith("/api/entries")
                and errors.append(f"{res.status} {res.url}")
            ),
        )
        return page

    yield open_page
    for context in contexts:
        context.close()
    # a request failing while a test has switched the network off is expected
    errors = [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e]
    assert errors == [], f"browser console errors: {errors}"


@pytest.fixture
def service():
    """A Web Push service on loopback that decrypts what it receives (tests/push_service.py)."""
    from tests.push_service import PushService

    running = PushService()
    yield running
    running.close()


@pytest.fixture
def phone(app, world, db):
    """Patient A's phone (English), signed in through the link, with its queue id."""
    from tests.helpers import open_link, phone_queue_id

    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_a])
    client = app.test_client()
    open_link(client, world.token_a)
    client.queue_id = phone_queue_id(client)
    return client
