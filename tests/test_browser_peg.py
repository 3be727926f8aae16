"""A week of the diary in Debian's Chromium (issue 20): the PEG on the first diary day of
each course week (with the NRS, optional), plain entries the other days, the PEG again in
week 2 with the PGIC at session 2, then the figures on the course page."""

from datetime import UTC, datetime, time, timedelta

import pytest

from diary import clock
from diary.queries import answers, entries, patients, treatments
from tests.factories import give_consent
from tests.helpers import has_horizontal_overflow, login, screenshot

pytestmark = pytest.mark.browser


def pick(page, name, value):
    page.locator(f"label[for={name}-{value}]").click()


def test_a_week_with_a_peg_day(live_server, page_at, world, db, monkeypatch, app):
    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_a])
    course = patients.current_course(db, world.patient_a)
    give_consent(db, course["id"])
    start = course["start_date"]
    treatments.add_session(db, course["id"], start, nrs_before=7)
    page = page_at(360, 740)
    page.goto(f"{live_server}/p/{world.token_a}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server + "/home")

    def live_on(day_number: int) -> None:
        """Server and phone both at 18:00 UTC (19:00 in Rome) on day ``day_number``."""
        moment = datetime.combine(start + timedelta(days=day_number), time(18), tzinfo=UTC)
        monkeypatch.setattr(clock, "now", lambda: moment)
        page.clock.set_fixed_time(moment)

    def fill_in(avg: int, worst: int, peg=None, pgic=None) -> None:
        page.goto(live_server + "/diary/entry")
        assert (page.locator("[data-peg]").count() == 1) is (peg is not None)
        assert (page.locator("[data-pgic]").count() == 1) is (pgic is not None)
        pick(page, "avg", avg)
        pick(page, "worst", worst)
        if peg is not None:
            for name, value in zip(("peg_pain", "peg_enjoyment", "peg_activity"), peg, strict=True):
                pick(page, name, value)
        if pgic is not None:
            page.locator(f"label[for=pgic-{pgic - 1}]").click()
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(live_server + "/home?saved=1")

    # day 0 (session 1): week 1's first diary day asks the PEG; a part of it is refused
    live_on(0)
    page.goto(live_server + "/diary/entry")
    option = page.locator("label[for=peg_enjoyment-6]").bounding_box()
    assert option["width"] >= 44 and option["height"] >= 44
    assert not has_horizontal_overflow(page)
    pick(page, "avg", 6)
    pick(page, "worst", 8)
    pick(page, "peg_pain", 7)
    page.get_by_role("button", name="Save").click()
    status = page.locator("[data-entry-status]")
    status.filter(has_text="Please answer all three questions about the past week.").wait_for()
    pick(page, "peg_enjoyment", 6)
    pick(page, "peg_activity", 8)
    screenshot(page, "diary-entry-peg-360-en")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(live_server + "/home?saved=1")
    # days 1-6: the diary as usual, no PEG, no PGIC
    for day in range(1, 7):
        live_on(day)
        fill_in(5, 7)
    # day 7: week 2 and session 2: the PEG again, and the PGIC
    live_on(7)
    treatments.add_session(db, course["id"], start + timedelta(days=7), nrs_before=4)
    fill_in(3, 5, peg=(4, 3, 4), pgic=2)
    pegs = answers.for_course(db, answers.PEG, course["id"])
    assert [(a["day"], a["pain"], a["enjoyment"], a["activity"]) for a in pegs] == [
        (start, 7, 6, 8),
        (start + timedelta(days=7), 4, 3, 4),
    ]
    pgics = answers.for_course(db, answers.PGIC, course["id"])
    assert [(a["day"], a["value"]) for a in pgics] == [(start + timedelta(days=7), 2)]
    assert len(entries.for_course(db, course["id"])) == 8
    assert db.execute("SELECT count(*) FROM entry_submissions").fetchone()[0] == 8
    # the clinician sees them: PEG 21/3 = 7 -> 11/3 = 3.7, change -10/3 = -3.3
    staff = app.test_client()
    login(staff, world.clinician_a)
    html = staff.get(f"/clinic/courses/{course['id']}").get_data(as_text=True)
    assert "PEG baseline</dt><dd>7 " in html and "PEG now</dt><dd>3.7 " in html
    assert "-3.3 points" in html and "Much improved" in html
