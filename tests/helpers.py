"""Helpers shared by the tests: signing in through the real forms (CSRF protection is on,
so each helper reads the token from the form first), the two clinics the ``world``
fixture builds, and the settings, screenshots and overflow check of the browser tests.
The fixtures themselves are in conftest.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "correct horse battery staple"
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
