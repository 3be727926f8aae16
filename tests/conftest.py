"""Fixtures in the style of Flask's tutorial: an app on a temporary database, a client,
a CLI runner, and helpers that create clinics, clinicians and patients and sign them in.
Every test runs with CSRF protection on; helpers read the token from the form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from diary import create_app, migrations
from diary.db import connect
from diary.queries import accounts, patients
from diary.security import hash_password
from tests.factories import give_consent  # noqa: F401 - shared with the tests

PASSWORD = "correct horse battery staple"
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"


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


def csrf_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@dataclass
class World:
    """Two clinics, each with an admin, a clinician and one enrolled patient."""

    clinic_a: int
    clinic_b: int
    admin_a: str
    clinician_a: str
    clinician_b: str
    patient_a: int
    patient_b: int
    token_a: str
    token_b: str


@pytest.fixture
def world(db) -> World:
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
    pa = patients.create_patient(db, a, "A-001", locale="it")
    pb = patients.create_patient(db, b, "B-001", locale="ar")
    patients.create_course(db, pa, "neck", date.today().isoformat())
    patients.create_course(db, pb, "knee", date.today().isoformat())
    return World(
        a,
        b,
        "admin@a.example",
        "doc@a.example",
        "doc@b.example",
        pa,
        pb,
        patients.issue_link(db, pa),
        patients.issue_link(db, pb),
    )


def login(client, email: str, password: str = PASSWORD, **kwargs):
    """Sign a clinician in through the real form."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, **kwargs
    )


def open_link(client, token: str, **kwargs):
    """Sign a patient device in through the personal link's Continue form."""
    page = client.get(f"/p/{token}")
    assert page.status_code == 200
    return client.post(
        f"/p/{token}", data={"csrf_token": csrf_from(page.get_data(as_text=True))}, **kwargs
    )


def logout(client, from_page: str):
    """Sign out through the form shown on a signed-in page."""
    token = csrf_from(client.get(from_page).get_data(as_text=True))
    return client.post("/logout", data={"csrf_token": token})


# --- the real server and Debian's Chromium, for browser tests -----------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-output/screenshots/."""
    path = OUTPUT / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


OVERFLOWING = """() => {
  const w = window.innerWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (el.closest('.table-wrap')) continue;
    if (r.width && (r.right > w + 1 || r.left < -1))
      out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' +
               Math.round(r.left) + '..' + Math.round(r.right));
    else if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible')
      out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') +
               ' content ' + el.scrollWidth + '>' + el.clientWidth);
  }
  return out.slice(0, 5);
}"""


def has_horizontal_overflow(page) -> list[str] | bool:
    """The elements sticking out of the viewport (a true value) when the page is too wide."""
    if page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
        return page.evaluate(OVERFLOWING) or True
    return False
