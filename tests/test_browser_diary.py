"""The diary in Debian's Chromium at phone width: entry, correction, offline entry and sync."""

import json
import re
import time
from contextlib import contextmanager

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


@contextmanager
def static_requests(app):
    """The paths of the requests for static files that reach the server in the block."""
    asked: list[str] = []
    serve = app.wsgi_app

    def counting(environ, start_response):
        if environ["PATH_INFO"].startswith("/static/"):
            asked.append(environ["PATH_INFO"])
        return serve(environ, start_response)

    app.wsgi_app = counting
    try:
        yield asked
    finally:
        app.wsgi_app = serve


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


def test_once_the_phone_keeps_the_stylesheet_pages_link_it(signed_in_phone, live_server, app):
    """The first pages carry the stylesheet inline; once the service worker's cache holds
    it, the phone says so (a cookie) and pages link it, answered by the service worker:
    styled, and no request for it reaches the server. Signing out forgets it."""
    page, _course = signed_in_phone

    def kept():
        return [c["value"] for c in page.context.cookies() if c["name"] == "diary_css"]

    assert wait_for(lambda: kept() != [])
    with static_requests(app) as asked:
        for path in ("/home", "/diary/entry"):
            page.goto(live_server + path)
            page.wait_for_load_state("networkidle")
            href = page.locator('link[rel="stylesheet"]').get_attribute("href")
            assert href.endswith(f".{kept()[0]}.css") and page.locator("style").count() == 0
            # styled: the header's colour and a 44 px button come from patient.css
            header = "getComputedStyle(document.querySelector('.site-header')).backgroundColor"
            assert page.evaluate(header) == "rgb(11, 85, 96)"
            button = page.locator("main button:visible, main .button:visible").first
            assert button.bounding_box()["height"] >= 44
    assert asked == []
    page.goto(live_server + "/home")
    page.get_by_role("button", name="Sign out of this phone").click()
    page.wait_for_url(live_server + "/")
    assert kept() == [] and page.locator("style").count() == 1


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
    # Leaving the page can cut the first flush short after the server stored the entry but
    # before the phone dropped it (a CI run read the queue too early once); the next flush
    # sends it again and the server takes it as the same entry: one entry, one submission.
    page.goto(live_server + "/home")
    assert wait_for(lambda: page.evaluate("DiaryQueue.all()") == [])
    [row] = entries.for_course(db, course_a)
    assert (row["avg_nrs"], row["worst_nrs"], row["note"]) == (3, 5, "A's private note")
    assert row["client_id"] == queued["client_id"]
    assert db.execute(
        "SELECT patient_id, count(*) FROM entry_submissions WHERE entry_id = ?", [row["id"]]
    ).fetchone() == (world.patient_a, 1)
    assert entries.for_course(db, course_b) == []
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


# --- issue 17: a phone on a poor network -------------------------------------------------


SAVE = "form.entry-form button[type=submit]"


def test_double_tap_on_save_sends_one_entry(signed_in_phone, live_server, db):
    """Save is disabled from the first tap until the entry is sent; a second tap (here a
    second submit while the first is held on the network) sends nothing."""
    page, course = signed_in_phone
    page.goto(live_server + "/diary/entry")
    pick(page, "avg", 4)
    pick(page, "worst", 6)
    held = []
    page.route("**/api/entries", lambda route: held.append(route))
    page.locator(SAVE).click()
    page.wait_for_function(f"document.querySelector({SAVE!r}).disabled")
    assert page.locator(SAVE).is_disabled()
    page.locator("form.entry-form").evaluate("f => f.requestSubmit()")  # the second tap
    page.locator(SAVE).click(force=True, no_wait_after=True)  # and a third
    page.wait_for_timeout(300)  # what a second request would need to reach the route
    assert len(held) == 1
    with page.expect_navigation():
        held[0].continue_()
    page.wait_for_url(live_server + "/home?saved=1")
    [row] = entries.for_course(db, course)
    assert (row["avg_nrs"], row["worst_nrs"]) == (4, 6)
    assert db.execute(
        "SELECT count(*) FROM entry_submissions WHERE entry_id = ?", [row["id"]]
    ).fetchone() == (1,)
    assert entries.corrections(db, course) == {}
    page.goto(live_server + "/diary/history")
    assert page.locator(".history-item .tag").filter(has_text="changed").count() == 0


def test_offline_entries_say_kept_then_sent_live(signed_in_phone, live_server, db):
    """The entry form offline: "saved on this phone", listed as waiting; when the network
    returns, the same screen says "sent to the clinic" without a reload."""
    page, course = signed_in_phone
    page.goto(live_server + "/diary/entry")
    page.context.set_offline(True)
    pick(page, "avg", 5)
    pick(page, "worst", 7)
    page.get_by_role("button", name="Save").click()
    status = page.locator("[data-entry-status]")
    status.filter(has_text="Saved on this phone").wait_for()
    waiting = page.locator("[data-queue-list] li")
    waiting.filter(has_text="saved on this phone, not sent yet").wait_for()
    assert waiting.count() == 1 and waiting.get_attribute("data-entry-state") == "kept"
    assert page.locator(SAVE).is_enabled()  # kept: the form may be used again
    screenshot(page, "diary-entry-kept-offline-360-en")
    assert entries.for_course(db, course) == []
    page.context.set_offline(False)  # the browser fires "online"
    status.filter(has_text="Sent to the clinic").wait_for()
    waiting.filter(has_text="sent to the clinic").wait_for()
    assert waiting.get_attribute("data-entry-state") == "sent"
    assert "will be sent when you are online" not in page.locator("main").inner_text()
    assert [(r["avg_nrs"], r["worst_nrs"]) for r in entries.for_course(db, course)] == [(5, 7)]
    screenshot(page, "diary-entry-sent-after-reconnect-360-en")


def test_the_offline_page_says_what_waits_and_leaves_when_online(signed_in_phone, live_server, db):
    page, course = signed_in_phone
    page.context.set_offline(True)
    page.reload()
    assert page.locator("h1").inner_text() == "You are offline"
    pick(page, "avg", 2)
    pick(page, "worst", 3)
    page.get_by_role("button", name="Save").click()
    page.locator("[data-entry-status]").filter(has_text="Saved on this phone").wait_for()
    page.reload()  # later, still offline: the page says an entry is already waiting
    assert page.locator("h1").inner_text() == "You are offline"
    page.locator("[data-queue-status]").filter(
        has_text="Entries waiting on this phone: 1"
    ).wait_for()
    page.locator("[data-queue-list] li").filter(has_text="not sent yet").wait_for()
    screenshot(page, "diary-offline-waiting-360-en")
    page.context.set_offline(False)
    # nothing typed on this page: it sends what waits and opens the page asked for
    page.wait_for_url(live_server + "/home")
    page.locator("h1").filter(has_text="My pain diary").wait_for()
    assert wait_for(lambda: len(entries.for_course(db, course)) == 1)
    assert page.evaluate("DiaryQueue.all()") == []


def test_the_offline_page_with_a_half_filled_form_says_it_is_online_again(
    signed_in_phone, live_server
):
    page, _course = signed_in_phone
    page.context.set_offline(True)
    page.reload()
    pick(page, "avg", 2)  # something typed: the page stays, and says the network is back
    page.context.set_offline(False)
    page.locator("h1").filter(has_text="You are online again").wait_for()
    assert page.get_by_role("link", name="Open my diary").is_visible()
    assert page.locator("#avg-2").is_checked()


def test_the_diary_asks_for_storage_that_is_kept(live_server, page_at, world, db):
    """navigator.storage.persist(), so the queue survives the browser's clean-ups (stubbed
    here: a headless browser decides without asking anyone)."""
    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_a])
    give_consent(db, patients.current_course(db, world.patient_a)["id"])
    page = page_at(360, 740)
    page.add_init_script(
        """window.persistCalls = 0;
        if (navigator.storage) {
          navigator.storage.persisted = () => Promise.resolve(false);
          navigator.storage.persist = () => {
            window.persistCalls++;
            return Promise.resolve(true);
          };
        }"""
    )
    open_link_in(page, live_server, world.token_a)
    assert wait_for(lambda: page.evaluate("window.persistCalls") >= 1)
    page.get_by_role("link", name="Add the diary to your home screen").click()
    page.wait_for_url(live_server + "/diary/install")
    help_box = page.locator(".install")
    assert "Add to Home Screen" in help_box.inner_text()  # the iPhone steps
    assert "7 days" in help_box.inner_text()
    assert not has_horizontal_overflow(page)
    screenshot(page, "diary-install-help-360-en")


def test_history_shows_what_the_patient_entered(signed_in_phone, live_server, db):
    page, course = signed_in_phone
    page.goto(live_server + "/diary/entry")
    pick(page, "avg", 3)
    pick(page, "worst", 5)
    page.locator("label[for=allergy_signs-hives]").click()
    page.locator("label[for=medication_taken-0]").click()
    page.locator("#medication").fill("paracetamol 1 g")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(live_server + "/diary/urgent")
    page.goto(live_server + "/diary/history")
    item = page.locator(".history-item").first.inner_text()
    assert "Signs of an allergic reaction: Hives or an itchy rash" in item
    assert "Pain medicine: paracetamol 1 g" in item
    assert not has_horizontal_overflow(page)
    screenshot(page, "diary-history-360-en")


CHART_TEXT = """() => {
  const svg = document.querySelector('svg.chart');
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const base = parseFloat(svg.getAttribute('font-size'));
  return Array.from(svg.querySelectorAll('text')).map(t => ({
    text: t.textContent,
    px: parseFloat(t.getAttribute('font-size') || base) * scale,
    y: t.getAttribute('y'),
  }));
}"""

LEGEND = """() => Array.from(document.querySelectorAll('.legend li')).map(li => {
  const key = li.querySelector('svg.key').getBoundingClientRect();
  const label = li.querySelector('span').getBoundingClientRect();
  const line = li.querySelector('svg.key line');
  return {
    label: li.querySelector('span').textContent,
    dash: line.getAttribute('stroke-dasharray'),
    keyMiddle: key.top + key.height / 2, labelTop: label.top, labelBottom: label.bottom,
    gap: Math.min(Math.abs(label.left - key.right), Math.abs(key.left - label.right)),
    px: parseFloat(getComputedStyle(li).fontSize),
  };
})"""


@pytest.mark.parametrize("lang", ["en", "ar", "zh_Hans"])
def test_home_chart_reads_on_a_360_px_phone(lang, live_server, page_at, world, db):
    """12 weeks of entries and sessions: every word and number of the chart is 12 px or
    more at 360 px; each legend key sits beside its own label, drawn as its own line."""
    from datetime import timedelta

    from diary import clock
    from diary.queries import seed, treatments

    db.execute("UPDATE patients SET locale = ? WHERE id = ?", [lang, world.patient_a])
    course = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course, locale=lang)
    today = clock.today("Europe/Rome")
    start = today - timedelta(days=84)
    db.execute("UPDATE courses SET start_date = ? WHERE id = ?", [start.isoformat(), course])
    for k in range(84):
        day = start + timedelta(days=k)
        seed.insert_entry(db, course, day.isoformat(), f"c-{k}", 8 - k // 14, 9 - k // 14)
        if k % 7 == 0:
            treatments.add_session(db, course, day.isoformat(), nrs_before=8 - k // 14)
    page = page_at(360, 740)
    open_link_in(page, live_server, world.token_a)
    texts = page.evaluate(CHART_TEXT)
    small = [t for t in texts if t["px"] < 12]
    assert small == [], small
    legend = page.evaluate(LEGEND)
    assert len(legend) == 5
    for item in legend:
        assert item["labelTop"] <= item["keyMiddle"] <= item["labelBottom"], item
        assert item["gap"] < 16, item  # beside it, not across a line break
        assert item["px"] >= 12, item
    # the keys are the chart's own lines: dotted baseline, long-dashed goal
    dashes = {
        line.get_attribute("stroke-dasharray")
        for line in page.locator("svg.chart line[stroke='#8a5a00']").all()
    }
    assert [item["dash"] for item in legend[2:4]] == ["1 4", "10 5"]
    assert {"1 4", "10 5"} <= dashes
    axis = [t["text"] for t in texts if t["y"] == str(230 - 8)]
    assert len(axis) == 2
    if lang == "zh_Hans":  # month then day, as Chinese writes it (not "23 11月")
        assert all(re.fullmatch(r"\d{1,2}月\d{1,2}日", a) for a in axis), axis
    assert not has_horizontal_overflow(page)
    screenshot(page, f"diary-home-chart-360-{lang}")


def test_a_repeat_visit_asks_the_network_for_no_static_file(signed_in_phone, live_server, app):
    """Static files have content-hashed URLs: the service worker answers them from its
    precache (and the browser's cache keeps them for a year), so pages opened again send
    the server no request for a static file, not even to revalidate one."""
    page, _course = signed_in_phone
    with static_requests(app) as asked:
        for path in ("/home", "/diary/entry", "/home", "/diary/history"):
            page.goto(live_server + path)
            page.wait_for_load_state("networkidle")
    assert asked == []
    keys = page.evaluate("caches.keys()")
    assert len(keys) == 1 and keys[0].startswith("pain-diary-shell-")
    cached = page.evaluate(
        f"caches.open({keys[0]!r}).then(c => c.keys()).then(k => k.map(r => r.url))"
    )
    assert any(re.search(r"/static/js/patient\.[0-9a-f]{10}\.js$", url) for url in cached)


#: records, whenever a manifest link enters the page, whether the first contentful paint
#: had been reported by then (a link in the HTML itself is recorded before any paint)
MANIFEST_WATCH = """
window.manifestLinked = [];
new MutationObserver(function (records) {
  records.forEach(function (record) {
    record.addedNodes.forEach(function (node) {
      if (node.nodeName === "LINK" && node.rel === "manifest") {
        window.manifestLinked.push(performance.getEntriesByName("first-contentful-paint").length);
      }
    });
  });
}).observe(document, { childList: true, subtree: true });
"""


def _app_manifest(page) -> dict:
    """What Chromium itself finds as the page's web app manifest (as its install check does)."""
    return page.context.new_cdp_session(page).send("Page.getAppManifest")


def test_the_manifest_is_linked_after_the_first_paint(signed_in_phone, live_server):
    """The manifest serves installing only: fetching it (and then its icon) before the first
    paint cost a slow phone two requests. The script links it once the page has painted,
    and Chromium still finds it, complete."""
    page, _course = signed_in_phone
    page.add_init_script(MANIFEST_WATCH)
    for path in ("/home", "/diary/entry", "/diary/reminder", "/offline"):
        page.goto(live_server + path)
        assert wait_for(lambda: page.evaluate("window.manifestLinked.length") > 0), path
        assert page.evaluate("window.manifestLinked") == [1], path
        found = _app_manifest(page)
        assert found["url"].startswith(f"{live_server}/manifest.webmanifest?lang=en&v="), path
        assert found["errors"] == [] and json.loads(found["data"])["start_url"] == "/home"
