"""The diary in Debian's Chromium at phone width: entry, correction, offline entry and sync."""

import time

import pytest

from diary.queries import entries, patients
from tests.factories import give_consent
from tests.helpers import has_horizontal_overflow, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def signed_in_phone(live_server, page_at, world, db):
    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_a])
    course = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course)
    page = page_at(360, 740)
    page.goto(f"{live_server}/p/{world.token_a}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server + "/home")
    # the service worker installs and takes control of the page
    assert wait_for(lambda: page.evaluate("navigator.serviceWorker.controller !== null"))
    return page, course


def pick(page, name, value):
    page.locator(f"label[for={name}-{value}]").click()


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_entry_and_same_day_correction(signed_in_phone, live_server, db):
    page, course = signed_in_phone
    scope = page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.scope)")
    assert scope == live_server + "/"
    screenshot(page, "diary-home-empty-360-en")
    page.get_by_role("link", name="Fill in today's diary").click()
    page.wait_for_url(live_server + "/diary/entry")
    option = page.locator("label[for=avg-6]").bounding_box()
    assert option["width"] >= 44 and option["height"] >= 44
    assert not has_horizontal_overflow(page)
    pick(page, "avg", 6)
    pick(page, "worst", 8)
    page.locator("label[for=site_effects-redness]").click()
    screenshot(page, "diary-entry-360-en")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(live_server + "/home?saved=1")
    rows = entries.for_course(db, course)
    assert [(r["avg_nrs"], r["worst_nrs"], r["late"]) for r in rows] == [(6, 8, 0)]
    assert rows[0]["device_time"]
    assert "Average pain 6, worst pain 8" in page.locator(".today").inner_text()
    screenshot(page, "diary-home-done-360-en")
    page.get_by_role("link", name="Change today's answers").click()
    assert page.locator("#avg-6").is_checked()
    pick(page, "avg", 5)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(live_server + "/home?saved=1")
    rows = entries.for_course(db, course)
    assert [(r["avg_nrs"], r["worst_nrs"]) for r in rows] == [(5, 8)]
    assert (
        db.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'entry.corrected' AND course_id = ?",
            [course],
        ).fetchone()[0]
        == 1
    )


def test_allergy_answer_shows_urgent_advice_at_once(signed_in_phone, live_server, db):
    page, course = signed_in_phone
    page.goto(live_server + "/diary/entry")
    urgent = page.locator("[data-urgent]")
    assert not urgent.is_visible()
    page.locator("label[for=allergy_signs-breathing]").click()
    assert urgent.is_visible()  # before saving
    assert "emergency" in urgent.inner_text()
    screenshot(page, "diary-urgent-360-en")
    pick(page, "avg", 3)
    pick(page, "worst", 4)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(live_server + "/diary/urgent")
    assert patients.get_course(db, course)["flagged"] == 1


def test_offline_entry_is_kept_and_sent_exactly_once(signed_in_phone, live_server, db, page_at):
    page, course = signed_in_phone
    context = page.context
    context.set_offline(True)
    page.reload()
    assert page.locator("h1").inner_text() == "You are offline"
    assert page.locator("link[rel=stylesheet]").count() == 0  # the stylesheet is inline
    assert page.evaluate("getComputedStyle(document.body).display") == "flex"  # CSS from cache
    screenshot(page, "diary-offline-360-en")
    pick(page, "avg", 7)
    pick(page, "worst", 9)
    page.locator("#note").fill("written offline")
    page.get_by_role("button", name="Save").click()
    status = page.locator("[data-entry-status]")
    status.filter(has_text="Saved on this phone").wait_for()
    queued = page.evaluate("DiaryQueue.all()")
    assert len(queued) == 1 and queued[0]["note"] == "written offline"
    assert entries.for_course(db, course) == []
    context.set_offline(False)
    page.goto(live_server + "/home")
    assert wait_for(lambda: len(entries.for_course(db, course)) == 1)
    time.sleep(0.5)
    page.goto(live_server + "/home")  # a second flush must not send it again
    rows = entries.for_course(db, course)
    assert len(rows) == 1
    row = rows[0]
    assert (row["avg_nrs"], row["worst_nrs"], row["note"]) == (7, 9, "written offline")
    assert row["client_id"] == queued[0]["client_id"]
    from diary import clock

    assert row["device_time"] == clock.iso(clock.parse(queued[0]["device_time"]))
    assert (
        db.execute(
            "SELECT count(*) FROM entry_submissions WHERE entry_id = ?", [row["id"]]
        ).fetchone()[0]
        == 1
    )
    assert page.evaluate("DiaryQueue.all()") == []
    screenshot(page, "diary-home-after-sync-360-en")


def test_sign_out_clears_the_caches(signed_in_phone, live_server):
    page, _course = signed_in_phone
    assert wait_for(lambda: page.evaluate("caches.keys().then(k => k.length > 0)"))
    page.get_by_role("button", name="Sign out of this phone").click()
    page.wait_for_url(live_server + "/")
    assert page.evaluate("caches.keys()") == []
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0


def test_home_in_arabic_is_right_to_left(live_server, page_at, world, db):
    course = patients.current_course(db, world.patient_b)["id"]
    give_consent(db, course, locale="ar")
    page = page_at(360, 740)
    page.goto(f"{live_server}/p/{world.token_b}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server + "/home")
    page.goto(live_server + "/diary/entry")
    assert page.locator("html").get_attribute("dir") == "rtl"
    zero = page.locator("label[for=avg-0]").bounding_box()
    five = page.locator("label[for=avg-5]").bounding_box()
    assert zero["x"] > five["x"]  # the scale reads right to left
    assert not has_horizontal_overflow(page)
    screenshot(page, "diary-entry-360-ar")


def open_link_in(page, live_server, token):
    page.goto(f"{live_server}/p/{token}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server + "/home")


def test_an_offline_entry_is_never_filed_under_another_patient(live_server, page_at, world, db):
    """Patient A saves an entry offline, A's link is revoked (the queue gets 401 and keeps
    the entry), patient B of another clinic opens their link on the same phone: A's note
    is not stored for B, B is told; when A opens a new link, it is sent for A, once."""
    db.execute("UPDATE patients SET locale = 'en'")
    course_a = patients.current_course(db, world.patient_a)["id"]
    course_b = patients.current_course(db, world.patient_b)["id"]
    give_consent(db, course_a)
    give_consent(db, course_b)
    page = page_at(360, 740)
    context = page.context
    open_link_in(page, live_server, world.token_a)
    assert wait_for(lambda: page.evaluate("navigator.serviceWorker.controller !== null"))

    context.set_offline(True)
    page.reload()  # the offline page, from the service worker's cache
    assert page.locator("h1").inner_text() == "You are offline"
    pick(page, "avg", 3)
    pick(page, "worst", 5)
    page.locator("#note").fill("A's private note")
    page.get_by_role("button", name="Save").click()
    page.locator("[data-entry-status]").filter(has_text="Saved on this phone").wait_for()
    [queued] = page.evaluate("DiaryQueue.all()")
    assert queued["note"] == "A's private note" and queued["queue_id"]

    patients.revoke_links(db, world.patient_a, actor="clinician", actor_id=1)  # the clinic
    context.set_offline(False)
    status = page.locator("[data-queue-status]")
    status.filter(has_text="Open your personal link again").wait_for()  # 401: kept
    assert "Entries kept on this phone: 1." in status.inner_text()
    assert [e["client_id"] for e in page.evaluate("DiaryQueue.all()")] == [queued["client_id"]]
    screenshot(page, "diary-queue-link-revoked-360-en")

    open_link_in(page, live_server, world.token_b)  # B, clinic B, the same phone
    notice = page.locator("[data-queue-foreign]")
    notice.wait_for(state="visible")
    assert "belong to another diary: 1. They were not sent." in notice.inner_text()
    assert page.get_by_role("button", name="Delete them from this phone").is_visible()
    box = page.get_by_role("button", name="Delete them from this phone").bounding_box()
    assert box["height"] >= 44
    assert not has_horizontal_overflow(page)
    screenshot(page, "diary-queue-other-diary-360-en")
    assert entries.for_course(db, course_b) == []
    assert db.execute(
        "SELECT count(*) FROM diary_entries WHERE note = ?", ["A's private note"]
    ).fetchone() == (0,)
    assert len(page.evaluate("DiaryQueue.all()")) == 1  # still on the phone, for A

    token = patients.issue_link(db, world.patient_a, actor="clinician", actor_id=1)
    open_link_in(page, live_server, token)  # A again, with the new link
    assert wait_for(lambda: len(entries.for_course(db, course_a)) == 1)
    page.goto(live_server + "/home")  # a second flush must not send it again
    [row] = entries.for_course(db, course_a)
    assert (row["avg_nrs"], row["worst_nrs"], row["note"]) == (3, 5, "A's private note")
    assert row["client_id"] == queued["client_id"]
    assert db.execute(
        "SELECT patient_id, count(*) FROM entry_submissions WHERE entry_id = ?", [row["id"]]
    ).fetchone() == (world.patient_a, 1)
    assert entries.for_course(db, course_b) == []
    assert page.evaluate("DiaryQueue.all()") == []
    assert page.locator("[data-queue-foreign]").is_hidden()


def test_entries_of_another_diary_can_be_deleted_from_the_phone(signed_in_phone, live_server):
    page, _course = signed_in_phone
    page.evaluate(
        """DiaryQueue.add({client_id: "someone-else-0001", queue_id: "another-diary",
           device_time: new Date().toISOString(), day: "2026-01-01", avg: 1, worst: 1,
           note: "not mine"})"""
    )
    page.goto(live_server + "/home")
    page.locator("[data-queue-foreign]").wait_for(state="visible")
    page.get_by_role("button", name="Delete them from this phone").click()
    page.locator("[data-queue-status]").filter(has_text="were deleted").wait_for()
    assert page.locator("[data-queue-foreign]").is_hidden()
    assert page.evaluate("DiaryQueue.all()") == []
