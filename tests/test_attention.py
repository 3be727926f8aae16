"""The clinic's follow-up list (issue 18 item 3): each reason worked by hand as a pure
function, then through the app: listed, "Mark as seen" (who and when, audited) hides it
until its evidence changes, scoped to the clinic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from diary import attention, clock
from diary.queries import accounts, consents, patients, seed, treatments
from tests.factories import give_consent
from tests.helpers import csrf_from, login, visible

TODAY = date(2026, 12, 3)  # a Thursday, ISO week 49


def day(n: int) -> date:
    return TODAY - timedelta(days=n)


def entry(n: int, avg: int) -> dict:
    return {"day": day(n), "avg_nrs": avg}


def reasons(**changes) -> dict[str, attention.Item]:
    facts = dict(
        entries=[], sessions=[], today=TODAY, consent="active", consent_id=7,
        countersigned=True, allergy_report=None, diary_from=day(1), no_entry_days=3,
        interval_days=7,
    )  # fmt: skip
    facts.update(changes)
    return {item.reason: item for item in attention.reasons(**facts)}


def test_nothing_for_a_quiet_good_course():
    assert reasons(entries=[entry(0, 4), entry(1, 4)]) == {}


def test_no_entry_counts_from_the_last_diary_day_or_the_diary_start():
    # last entry 3 days ago (30 Nov): 1, 2 and 3 December missing -> listed at 3 days
    listed = reasons(entries=[entry(3, 5)])["no_entry"]
    assert (listed.evidence, listed.since) == ("2026-11-30", day(2))
    assert "no_entry" not in reasons(entries=[entry(2, 5)])  # 2 days: not yet
    assert "no_entry" not in reasons(entries=[entry(3, 5)], no_entry_days=4)  # clinic setting
    never = reasons(diary_from=day(3))["no_entry"]  # nothing entered since the diary began
    assert (never.evidence, never.since) == ("none", day(3))
    assert "no_entry" not in reasons(entries=[entry(5, 5)], consent="withdrawn")


def test_rising_compares_this_week_with_last_week():
    last_week = [entry(n, 3) for n in (7, 8, 9)]
    this_week = [entry(n, 5) for n in (0, 1, 2)]
    rise = reasons(entries=last_week + this_week)["rising"]  # 5 - 3 = 2: exactly the limit
    assert rise.evidence == "2026-W49" and rise.since == day(6)
    assert "rising" not in reasons(entries=last_week + [entry(n, 4) for n in (0, 1, 2)])
    # too few days in a week: no comparison (two days of 9 are not a trend)
    assert "rising" not in reasons(entries=last_week + [entry(0, 9), entry(1, 9)])
    assert attention.weekly_rise(last_week + this_week, TODAY) == 2


def test_overdue_is_more_than_a_week_after_the_expected_session():
    sessions = [{"date": day(15), "number": 1}]  # expected day(8): 8 days late
    item = reasons(entries=[entry(0, 4)], sessions=sessions)["overdue"]
    assert (item.evidence, item.since) == (day(15).isoformat(), day(8))
    late_7 = [{"date": day(14), "number": 1}]  # expected day(7): exactly a week late
    assert "overdue" not in reasons(entries=[entry(0, 4)], sessions=late_7)


def test_consent_and_allergy_reasons():
    assert reasons(consent="withdrawn")["withdrawn"].evidence == "7"
    assert reasons(entries=[entry(0, 4)], countersigned=False)["countersign"].evidence == "7"
    assert "countersign" not in reasons(consent="withdrawn", countersigned=False)
    assert reasons(entries=[entry(0, 4)], allergy_report=41)["allergy"].evidence == "41"


# --- through the app ---------------------------------------------------------------------


@pytest.fixture
def staff(app, world):
    client = app.test_client()
    login(client, world.clinician_a)
    return client


def _rows(client) -> list[tuple[str, str]]:
    """(reason, patient code) of each line of the follow-up list."""
    import re

    html = client.get("/clinic/attention?lang=en").get_data(as_text=True)
    return re.findall(
        r'<tr data-reason="(\w+)">\s*<th scope="row"><a [^>]*><bdi[^>]*>([^<]+)<', html
    )


def test_the_list_and_mark_as_seen(app, db, world, staff):
    today = clock.today("Europe/Rome")
    course = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course)
    seed.insert_entry(db, course, (today - timedelta(days=4)).isoformat(), "c-1", 5, 6)
    assert ("no_entry", "A-001") in _rows(staff)
    assert ("countersign", "A-001") in _rows(staff)
    # another clinic's clinician sees none of clinic A's lines, and cannot mark them
    other = app.test_client()
    login(other, world.clinician_b)
    assert "A-001" not in [code for _reason, code in _rows(other)]
    token = csrf_from(other.get("/clinic/attention").get_data(as_text=True))
    mark = f"/clinic/attention/{course}/seen"
    refused = other.post(mark, data={"csrf_token": token, "reason": "no_entry", "evidence": "x"})
    assert refused.status_code == 404
    # seen: gone, who and when recorded and audited
    page = staff.get("/clinic/attention").get_data(as_text=True)
    evidence = (today - timedelta(days=4)).isoformat()
    form = {"csrf_token": csrf_from(page), "reason": "no_entry", "evidence": evidence}
    seen = staff.post(mark, data=form)
    assert seen.status_code == 302
    assert ("no_entry", "A-001") not in _rows(staff)
    row = db.execute("SELECT clinician_id, seen_at FROM attention_seen").fetchone()
    assert row[0] == accounts.get_clinician_by_email(db, world.clinician_a)["id"] and row[1]
    assert (
        db.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'attention.seen' AND course_id = ?",
            [course],
        ).fetchone()[0]
        == 1
    )
    trail = visible(staff.get(f"/clinic/courses/{course}?lang=en").get_data(as_text=True))
    assert "Follow-up list: marked as seen" in trail and "attention.seen" not in trail
    # something new (an entry, then silence again): the line comes back
    seed.insert_entry(db, course, (today - timedelta(days=3)).isoformat(), "c-2", 5, 6)
    assert ("no_entry", "A-001") in _rows(staff)
    # a reason that is not one of the list's, or no form token: refused, nothing stored
    bad = staff.post(mark, data=dict(form, reason="anything"))
    assert bad.status_code == 400
    assert staff.post(mark, data={"reason": "no_entry", "evidence": "x"}).status_code == 400
    assert db.execute("SELECT count(*) FROM attention_seen").fetchone()[0] == 1
    for sql in ("UPDATE attention_seen SET reason = 'x'", "DELETE FROM attention_seen"):
        with pytest.raises(Exception, match="append-only"):
            db.execute(sql)


def test_withdrawn_and_overdue_show_through_the_app(db, world, staff):
    today = clock.today("Europe/Rome")
    course = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course)
    treatments.add_session(db, course, (today - timedelta(days=16)).isoformat(), nrs_before=7)
    seed.insert_entry(db, course, today.isoformat(), "c-1", 5, 6)
    assert ("overdue", "A-001") in _rows(staff)
    consents.withdraw(db, course, locale="en", text="w", user_agent="pytest")
    rows = _rows(staff)
    assert ("withdrawn", "A-001") in rows and ("overdue", "A-001") not in rows


def test_the_clinic_sets_the_days_without_an_entry(app, db, world):
    today = clock.today("Europe/Rome")
    course = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course)
    seed.insert_entry(db, course, (today - timedelta(days=4)).isoformat(), "c-1", 5, 6)
    admin = app.test_client()
    login(admin, world.admin_a)
    assert ("no_entry", "A-001") in _rows(admin)
    db.execute("UPDATE clinics SET no_entry_days = 5 WHERE id = ?", [world.clinic_a])
    assert ("no_entry", "A-001") not in _rows(admin)
    page = visible(admin.get("/clinic/attention?lang=en").get_data(as_text=True))
    assert "no diary entry for 5 days or more" in page


@pytest.mark.parametrize("lang", ["ar", "zh_Hans"])
def test_codes_in_other_scripts_are_listed_isolated_and_marked_seen(app, db, world, staff, lang):
    today = clock.today("Europe/Rome")
    courses = {}
    for code in ("李-1", "مريض-1"):
        patient = patients.create_patient(db, world.clinic_a, code, locale="ar")
        courses[code] = patients.create_course(db, patient, "knee", today.isoformat())
        give_consent(db, courses[code])
        seed.insert_entry(db, courses[code], (today - timedelta(days=5)).isoformat(), "c", 5, 6)
    html = staff.get(f"/clinic/attention?lang={lang}").get_data(as_text=True)
    assert f'lang="{lang.replace("_", "-")}"' in html
    rows = _rows(staff)
    for code, direction in (("李-1", "ltr"), ("مريض-1", "rtl")):
        assert ("no_entry", code) in rows
        # the code is its own isolated run inside the RTL or CJK text, linked to its course
        link = f'<a href="/clinic/courses/{courses[code]}"><bdi dir="{direction}">{code}</bdi>'
        assert link in html
    evidence = (today - timedelta(days=5)).isoformat()
    form = {"csrf_token": csrf_from(html), "reason": "no_entry", "evidence": evidence}
    seen = staff.post(f"/clinic/attention/{courses['مريض-1']}/seen", data=form)
    assert seen.status_code == 302
    rows = _rows(staff)
    assert ("no_entry", "مريض-1") not in rows and ("no_entry", "李-1") in rows
