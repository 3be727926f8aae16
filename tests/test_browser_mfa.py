"""Two-step sign-in in Debian's Chromium: setting up the authenticator app by scanning the
QR code on the screen, the second step, and a passkey registered and used with Chromium's
virtual authenticator (DevTools protocol, headless). Screenshots at 1280 px."""

from __future__ import annotations

import io
import re

import pyotp
import pytest
import zxingcpp
from PIL import Image

from diary.queries import accounts
from diary.queries import mfa as factors
from diary.security import hash_password
from tests.helpers import PASSWORD, browser_login, fresh_code, has_horizontal_overflow, screenshot

pytestmark = pytest.mark.browser


def test_admin_scans_the_qr_code_then_signs_in_with_the_apps_code(
    app, live_server, page_at, db, world
):
    email = "nora@a.example"
    accounts.create_clinician(
        db, world.clinic_a, email, "Nora Admin", hash_password(PASSWORD), is_admin=True
    )
    page = page_at(1280, 900)
    page.goto(live_server + "/login?lang=en")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/clinic/account/authenticator")
    assert page.get_by_role("heading", name="Set up two-step sign-in").is_visible()
    assert not has_horizontal_overflow(page)
    screenshot(page, "mfa-setup-1280-en")
    # what a phone's camera sees: the QR code as drawn on the screen
    shot = page.get_by_role("img", name="QR code for your authenticator app").screenshot()
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    totp = pyotp.parse_uri(found.text)
    shown = page.locator(".totp-key").inner_text().replace(" ", "")
    assert shown == totp.secret
    page.get_by_label("The 6-digit code the app shows").fill(totp.now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    assert page.locator(".recovery-codes li").count() == 10
    screenshot(page, "mfa-recovery-codes-1280-en")
    page.get_by_role("link", name="I have saved them: continue").click()
    page.wait_for_url(live_server + "/clinic/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_server + "/")

    page.goto(live_server + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/login/code")
    assert page.get_by_role("heading", name="Two-step sign-in").is_visible()
    assert not page.get_by_role("button", name="Sign in with a passkey").is_visible()  # none yet
    assert not has_horizontal_overflow(page)
    screenshot(page, "mfa-second-factor-1280-en")
    page.get_by_label("Code", exact=True).fill(
        fresh_code(app.config["DATABASE"], email, totp.secret)
    )
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server + "/clinic/")


def test_passkey_registered_and_used_with_a_virtual_authenticator(
    app, live_server, page_at, db, world
):
    # passkeys need a domain name: the same server as http://localhost:<port>
    base = re.sub(r"//127\.0\.0\.1:", "//localhost:", live_server)
    app.config["BASE_URL"] = base
    page = page_at(1280, 900)
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]
    browser_login(page, base, world.admin_a, app.config["DATABASE"])
    page.goto(base + "/clinic/account")
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_text("The passkey is added.").wait_for()
    assert page.url == base + "/clinic/account"
    screenshot(page, "mfa-account-passkey-1280-en")
    clinician = accounts.get_clinician_by_email(db, world.admin_a)
    (key,) = factors.passkeys(db, clinician["id"])
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(held["credentials"]) == 1
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/")

    page.goto(base + "/login")
    page.get_by_label("Email address").fill(world.admin_a)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/login/code")
    button = page.get_by_role("button", name="Sign in with a passkey")
    button.wait_for()
    screenshot(page, "mfa-second-factor-passkey-1280-en")
    button.click()
    page.wait_for_url(base + "/clinic/")
    assert page.get_by_role("heading", name="Open courses").is_visible()
    used = factors.passkeys(db, clinician["id"])[0]
    assert used["last_used_at"] is not None and used["id"] == key["id"]
