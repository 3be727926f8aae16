"""End-to-end in Debian's Chromium against the real HTTP server."""

import pytest

from tests.helpers import PASSWORD, fresh_code, has_horizontal_overflow, screenshot

pytestmark = pytest.mark.browser


def test_clinician_signs_in(app, live_server, page_at, world):
    page = page_at(1280)
    page.goto(live_server + "/")
    screenshot(page, "landing-1280-en")
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Email address").fill(world.admin_a)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/login/code")  # an admin: the second step
    page.get_by_label("Code", exact=True).fill(fresh_code(app.config["DATABASE"], world.admin_a))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server + "/clinic/")
    assert page.get_by_role("heading", name="Open courses").is_visible()
    assert page.get_by_role("rowheader", name="A-001").is_visible()
    screenshot(page, "clinic-patients-1280-en")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_server + "/")
    page.goto(live_server + "/clinic/")
    assert "/login" in page.url


def test_wrong_password_shows_a_linked_error(live_server, page_at, world):
    page = page_at(360)
    page.goto(live_server + "/login")
    page.get_by_label("Email address").fill(world.admin_a)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    field = page.get_by_label("Password")
    described = field.get_attribute("aria-describedby")
    assert described and "password-error" in described
    assert field.get_attribute("aria-invalid") == "true"
    assert "not right" in page.locator("#password-error").inner_text()
    assert not has_horizontal_overflow(page)
    screenshot(page, "login-error-360-en")


def test_patient_link_on_a_phone_in_english(live_server, page_at, world, db):
    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_a])
    page = page_at(360, 740)
    page.goto(f"{live_server}/p/{world.token_a}")
    assert page.locator("html").get_attribute("dir") == "ltr"
    screenshot(page, "patient-continue-360-en")
    assert not has_horizontal_overflow(page)
    button = page.get_by_role("button", name="Continue")
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    button.click()
    page.wait_for_url(live_server + "/home")
    assert world.token_a not in page.url
    assert page.get_by_role("heading", name="My pain diary").is_visible()
    assert not has_horizontal_overflow(page)
    screenshot(page, "patient-home-360-en")


def test_patient_link_on_a_phone_in_arabic(live_server, page_at, world):
    page = page_at(360, 740, locale="en-US")  # the patient's saved language decides
    page.goto(f"{live_server}/p/{world.token_b}")
    html = page.locator("html")
    assert html.get_attribute("lang") == "ar" and html.get_attribute("dir") == "rtl"
    screenshot(page, "patient-continue-360-ar")
    assert not has_horizontal_overflow(page)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server + "/home")
    assert page.locator("html").get_attribute("dir") == "rtl"
    # right-to-left: the brand sits at the right edge, the language switcher at the left
    brand = page.locator(".brand").bounding_box()
    switch = page.locator(".lang-switch summary").bounding_box()
    assert brand["x"] > switch["x"]
    assert not has_horizontal_overflow(page)
    screenshot(page, "patient-home-360-ar")


def test_language_switcher_keeps_the_page(live_server, page_at, world):
    page = page_at(360)
    page.goto(live_server + "/login")
    page.locator(".lang-switch summary").click()
    page.get_by_role("button", name="Deutsch").click()
    assert page.url.startswith(live_server + "/login")
    assert page.locator("html").get_attribute("lang") == "de"
    screenshot(page, "login-360-de")


def test_a_patient_signs_out_a_lost_phone(live_server, page_at, world):
    """Two phones signed in with one link; from the first, "Phones signed in" lists both
    and signs the other out; the other phone is signed out at its next page."""
    mine, lost = page_at(360, 740), page_at(360, 740)
    for phone in (mine, lost):
        phone.goto(f"{live_server}/p/{world.token_a}?lang=en")
        phone.locator("main form button[type=submit]").click()
        phone.wait_for_url(live_server + "/home")
    mine.get_by_role("link", name="Phones signed in to your diary").click()
    mine.wait_for_url(live_server + "/me/phones")
    assert mine.locator(".device").count() == 2
    assert mine.locator(".device .tag").all_inner_texts() == ["This phone"]
    assert mine.locator(".device").first.locator(".tag").count() == 1  # this phone first
    button = mine.get_by_role("button", name="Sign out this phone")
    box = button.bounding_box()
    assert box["height"] >= 44
    assert not has_horizontal_overflow(mine)
    screenshot(mine, "patient-phones-360")
    button.click()
    mine.wait_for_url(live_server + "/me/phones")
    assert "1 phone was signed out." in mine.locator("main").inner_text()
    assert mine.locator(".device").count() == 1
    lost.goto(live_server + "/home")
    assert "personal link" in lost.locator("main").inner_text()
