"""Helpers shared by the tests: signing in through the real forms (CSRF protection is on,
so each helper reads the token from the form first), the two clinics the ``world``
fixture builds, and the settings, screenshots and overflow check of the browser tests.
The fixtures themselves are in conftest.py."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pyotp

PASSWORD = "correct horse battery staple"
#: the authenticator key of every account the tests set up two-step sign-in for
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"


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


def enrol_totp(app, db, email: str, secret: str = TOTP_SECRET) -> list[str]:
    """Set up two-step sign-in for a clinician with a known authenticator key, through the
    same query the enrolment page uses; returns the recovery codes."""
    from diary import mfa
    from diary.queries import accounts
    from diary.queries import mfa as factors

    clinician = accounts.get_clinician_by_email(db, email)
    codes = mfa.new_recovery_codes()
    factors.enrol_totp(
        db,
        clinician,
        mfa.encrypt_secret(app.config["SECRET_KEY"], clinician["id"], secret),
        0,
        [mfa.recovery_hash(clinician["id"], c) for c in codes],
    )
    return codes


def fresh_code(database: str, email: str, secret: str = TOTP_SECRET) -> str:
    """A code the app would show that the account has not used yet: the current 30-second
    step's, or the next one's (both accepted) when the current one was used."""
    from diary.db import connect

    db = connect(database)
    try:
        row = db.execute(
            "SELECT k.last_step FROM totp_keys k JOIN clinicians c ON c.id = k.clinician_id"
            " WHERE c.email = ?",
            [email],
        ).fetchone()
    finally:
        db.conn.close()
    now = int(time.time()) // 30
    step = max(row[0] + 1 if row else 0, now)
    assert step <= now + 1, f"{email} signed in more than twice within 30 s: use a recovery code"
    return pyotp.TOTP(secret).generate_otp(step)


def login(client, email: str, password: str = PASSWORD, *, totp_secret=TOTP_SECRET, **kwargs):
    """Sign a clinician in through the real form; when the second step follows, give it a
    fresh code from the authenticator key (the response of the last form posted)."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, **kwargs
    )
    if response.status_code == 302 and response.headers["Location"] == "/login/code":
        database = client.application.config["DATABASE"]
        return second_step(client, fresh_code(database, email, totp_secret), **kwargs)
    return response


def second_step(client, code: str, **kwargs):
    """Give a code at the second step of a sign-in."""
    token = csrf_from(client.get("/login/code", **kwargs).get_data(as_text=True))
    return client.post("/login/code", data={"code": code, "csrf_token": token}, **kwargs)


def browser_login(page, base: str, email: str, database: str, password: str = PASSWORD) -> None:
    """Sign a clinician in in the browser, giving a fresh code when the second step follows
    (``database``: the app's file, to find a code not used yet)."""
    page.goto(base + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    if page.url.split("?")[0].endswith("/login/code"):
        page.get_by_label("Code", exact=True).fill(fresh_code(database, email))
        with page.expect_navigation():
            page.get_by_role("button", name="Continue").click()


def open_link(client, token: str, **kwargs):
    """Sign a patient device in through the personal link's Continue form."""
    page = client.get(f"/p/{token}")
    assert page.status_code == 200
    return client.post(
        f"/p/{token}", data={"csrf_token": csrf_from(page.get_data(as_text=True))}, **kwargs
    )


def queue_id_in(html: str) -> str:
    """The queue id a signed-in patient page carries: the phone's queue stamps it on every
    entry, and the sync endpoint refuses an entry whose queue id is not the patient's."""
    match = re.search(r'data-queue-id="([^"]*)"', html)
    assert match and match.group(1), "no queue id in the page"
    return match.group(1)


def phone_queue_id(client) -> str:
    """The queue id of the patient signed in on a test client (read from the home page)."""
    return queue_id_in(client.get("/home").get_data(as_text=True))


def logout(client, from_page: str):
    """Sign out through the form shown on a signed-in page."""
    token = csrf_from(client.get(from_page).get_data(as_text=True))
    return client.post("/logout", data={"csrf_token": token})


# --- Debian's Chromium, for browser tests -------------------------------------------------

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


ISOLATES = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069"))


def visible(text: str) -> str:
    """Text without the Unicode isolates the consent text puts around clinic values."""
    return text.translate(ISOLATES)


#: JSON nested far deeper than the parser goes (RecursionError, not ValueError, before
#: diary.JSONProvider)
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


def at_once(run, count: int = 2) -> list:
    """``run()`` in ``count`` threads released together (a barrier); their results, in
    the order they finished. An exception in any thread is raised here."""
    start = threading.Barrier(count)
    results: list = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            start.wait()
            results.append(run())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
