"""Hand-worked cases (issue 14): every expected figure below was worked out by hand from
the rules in ../shared/CLINICAL.md ("Rules for the printed figures") and written here as a
literal, never computed by the code under test. The working is in each row's comment.

Items 8 (reference figures), 10 (session records), 11 (Arabic record views) and 12 (chart
labels) are checked where they are shown: test_printed_figures.py, test_session_records.py
and test_record_layout.py (hand-placed label positions, word positions in the PDF)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from diary import clock, outcomes
from diary.queries import entries, patients
from tests.factories import give_consent
from tests.helpers import open_link, phone_queue_id

D = date.fromisoformat


def shown(percent) -> str | None:
    """A percent as printed: its digits, without the locale (the pages add it)."""
    printed = outcomes.printed_percent(percent)
    return None if printed is None else f"{printed[0]:.{printed[1]}f}"


# (case, baseline, value) -> (points, printed %, band, goal reached)
FIGURES = [
    # 1. baseline 8, now 3: -5; 5/8 = 62.5 %, printed 63 (halves up; still substantial)
    ("out-of-order course", 8, 3, -5, "63", "substantial", True),
    # 2. baseline 0: nothing to divide by
    ("baseline 0", 0, 0, 0, None, None, False),
    ("baseline 0, pain up", 0, 2, 2, None, None, False),
    # 2. low baselines: a one-point change is 50 % (2) or 100 % (1); the points show it
    ("baseline 2 -> 1", 2, 1, -1, "50", "substantial", True),
    ("baseline 1 -> 1", 1, 1, 0, "0", "none", False),
    ("baseline 1 -> 0", 1, 0, -1, "100", "substantial", True),
    ("baseline 2 -> 3", 2, 3, 1, "-50", "none", False),
    # 3. exact thresholds: 2.1/7 = 3/10 exactly, 3/10, 0.9/3 = 3/10, 4/8 = 1/2
    ("7 -> 4.9 is 30 %", 7, 4.9, -2.1, "30", "moderate", False),
    ("10 -> 7 is 30 %", 10, 7, -3, "30", "moderate", False),
    ("3 -> 2.1 is 30 %", 3, 2.1, -0.9, "30", "moderate", False),
    ("8 -> 4 is 50 %", 8, 4, -4, "50", "substantial", True),
    ("9 -> 4.5 is 50 %", 9, 4.5, -4.5, "50", "substantial", True),
    # 4. rounding never crosses a band: 49.7 % moderate prints 49.7, not 50;
    #    29.96 % minimal prints 29.96 (29.96 -> "30" and "30.0" would read moderate);
    #    9.96 % none prints 9.96; 50.4 % prints 50
    ("49.7 %", 10, 5.03, -4.97, "49.7", "moderate", False),
    ("29.96 %", 10, 7.004, -2.996, "29.96", "minimal", False),
    ("9.96 %", 10, 9.004, -0.996, "9.96", "none", False),
    ("50.4 %", 10, 4.96, -5.04, "50", "substantial", True),
    # 5. 36 % (7 -> 4.5): printed 36, moderate
    ("7 -> 4.5", 7, 4.5, -2.5, "36", "moderate", False),
]


@pytest.mark.parametrize(
    ("case", "base", "value", "points", "printed", "band", "goal"),
    FIGURES,
    ids=[f[0] for f in FIGURES],
)
def test_figures_by_hand(case, base, value, points, printed, band, goal):
    got_points, percent = outcomes.change(base, value)
    assert got_points == pytest.approx(points)
    assert shown(percent) == printed
    assert outcomes.immpact_band(percent) == band
    assert outcomes.reached(base, value) is goal


def sess(number, day, nrs):
    return {"number": number, "date": D(day), "nrs_before": nrs}


def diary(first, values, late=()):
    """Consecutive days from ``first`` (None skips a day); days in ``late`` were late."""
    out = []
    for k, value in enumerate(values):
        day = D(first) + timedelta(days=k)
        if value is not None:
            out.append({"day": day, "avg_nrs": value, "worst_nrs": value, "late": day in late})
    return out


# (case, sessions, entries, start, today, end) ->
#   (baseline, source, now, now day, points, printed %, band, goal, goal session,
#    (on time, late, missing))
COURSES = [
    # 1. visits typed in reverse: day 0 NRS 8 (session 1 by date), day 7 NRS 5; diary 3 a day
    #    from day 7 to 10. Baseline 8; now the diary's 3 of 12 March; interval 1 (2-8 March)
    #    has no diary, so its figure is session 2's 5 > 4; interval 2's mean 3 <= 4: goal at
    #    session 2, kept (3 <= 4). Days 2-12 March: 9-12 on time, 2-8 missing.
    (
        "reverse order",
        [sess(1, "2026-03-09", 5), sess(2, "2026-03-02", 8)],
        diary("2026-03-09", [3, 3, 3, 3]),
        "2026-03-02",
        "2026-03-12",
        None,
        (8, "session", 3, "2026-03-12", -5, "63", "substantial", "reached", 2, (4, 0, 7)),
    ),
    # 2. baseline 0 (session 1 NRS 0): no %, no band, no goal
    (
        "baseline 0",
        [sess(1, "2026-03-02", 0)],
        diary("2026-03-02", [0, 0]),
        "2026-03-02",
        "2026-03-03",
        None,
        (0, "session", 0, "2026-03-03", 0, None, None, "not_assessable", None, (2, 0, 0)),
    ),
    # 5. baseline from the diary: no NRS at session 1 (not measured); the last three diary
    #    days before it (6, 7, 8; the 5 of 1 March is a fourth, left out) average 7. "Now"
    #    is the clinic's 4 before session 2 on 12 March (the diary's last day is 11 March).
    #    -3 points, 3/7 = 42.86 %, printed 43, moderate. Interval 1 (5-11 March) mean 5 > 3.5;
    #    interval 2 has no diary: no goal; open course: not yet. Days 1-12 March: 1-4 and 5-11
    #    on time (11), 12 March is today and empty: not missing.
    (
        "diary baseline, now from the clinic",
        [sess(1, "2026-03-05", None), sess(2, "2026-03-12", 4)],
        diary("2026-03-01", [5, 6, 7, 8, 5, 5, 5, 5, 5, 5, 5]),
        "2026-03-01",
        "2026-03-12",
        None,
        (7, "diary", 4, "2026-03-12", -3, "43", "moderate", "not_yet", None, (11, 0, 0)),
    ),
    # 6. goal reached after session 1 (diary 4 = half of 8), lost after session 2 (6): "reached
    #    at session 1, not maintained". Now 6 (11 March). -2, 25 %, minimal.
    (
        "reached then lost",
        [sess(1, "2026-03-02", 8), sess(2, "2026-03-09", 5)],
        diary("2026-03-02", [4] * 7 + [6] * 3),
        "2026-03-02",
        "2026-03-11",
        None,
        (8, "session", 6, "2026-03-11", -2, "25", "minimal", "not_maintained", 1, (10, 0, 0)),
    ),
    # 6. the same pain, never at half, course closed on 11 March: "not reached", not "not yet"
    (
        "closed, never reached",
        [sess(1, "2026-03-02", 8), sess(2, "2026-03-09", 5)],
        diary("2026-03-02", [6] * 10),
        "2026-03-02",
        "2026-03-20",
        "2026-03-11",
        (8, "session", 6, "2026-03-11", -2, "25", "minimal", "not_reached", None, (10, 0, 0)),
    ),
    # 7. today (5 March) not entered yet: 2 on time, 4 March missing, 5 March not counted;
    #    one late day (3 March)
    (
        "today not missing",
        [sess(1, "2026-03-02", 6)],
        diary("2026-03-02", [5, 4, None], late={D("2026-03-03")}),
        "2026-03-02",
        "2026-03-05",
        None,
        (6, "session", 4, "2026-03-03", -2, "33", "moderate", "not_yet", None, (1, 1, 1)),
    ),
    # DST: 29 March 2026 has 23 hours in Rome, 25 October 25 hours; each is one diary day.
    #   27 March - 1 April, one entry a day, today 1 April: 6 days, none missing. The
    #   interval's mean (4+4+4+4+3+3)/6 = 3.67 <= 4: goal at session 1; now 3.
    (
        "spring DST week",
        [sess(1, "2026-03-27", 8)],
        diary("2026-03-27", [4, 4, 4, 4, 3, 3]),
        "2026-03-27",
        "2026-04-01",
        None,
        (8, "session", 3, "2026-04-01", -5, "63", "substantial", "reached", 1, (6, 0, 0)),
    ),
    #   23-27 October with the 25th (25 hours) empty: 4 on time, 1 missing.
    (
        "autumn DST week",
        [sess(1, "2026-10-23", 6)],
        diary("2026-10-23", [5, 5, None, 4, 4]),
        "2026-10-23",
        "2026-10-27",
        None,
        (6, "session", 4, "2026-10-27", -2, "33", "moderate", "not_yet", None, (4, 0, 1)),
    ),
]


@pytest.mark.parametrize(
    ("case", "sessions", "entries_", "start", "today", "end", "expected"),
    COURSES,
    ids=[c[0] for c in COURSES],
)
def test_courses_by_hand(case, sessions, entries_, start, today, end, expected):
    course = {"start_date": D(start), "end_date": D(end) if end else None}
    result = outcomes.of_course(course, sessions, entries_, D(today))
    base, source, now, now_day, points, printed, band, goal, goal_at, days = expected
    assert (result.baseline, result.baseline_source) == (base, source)
    assert (result.current, result.current_date) == (now, D(now_day))
    assert result.points == pytest.approx(points)
    assert shown(result.percent) == printed
    assert (result.band, result.goal, result.goal_session) == (band, goal, goal_at)
    done = result.completeness
    assert (done.on_time, done.late, done.missing) == days


# --- DST through the app: the day an entry is filed under ----------------------------------

# (UTC moment of the save, the day the patient fills in, the day it must be filed under):
# Rome is UTC+1 in winter (CET), UTC+2 in summer (CEST); the clocks go forward at 02:00 on
# 29 March 2026 and back at 03:00 on 25 October 2026.
SAVES = [
    (datetime(2026, 3, 28, 22, 50, tzinfo=UTC), "2026-03-28"),  # 23:50 CET on the 28th
    (datetime(2026, 3, 28, 23, 10, tzinfo=UTC), "2026-03-29"),  # 00:10 CET on the 29th
    (datetime(2026, 3, 29, 22, 10, tzinfo=UTC), "2026-03-30"),  # 00:10 CEST: UTC still the 29th
    (datetime(2026, 10, 24, 22, 30, tzinfo=UTC), "2026-10-25"),  # 00:30 CEST on the 25th
    (datetime(2026, 10, 25, 22, 30, tzinfo=UTC), "2026-10-25"),  # 23:30 CET, same day, edited
    (datetime(2026, 10, 25, 23, 10, tzinfo=UTC), "2026-10-26"),  # 00:10 CET on the 26th
]


def test_entries_are_filed_under_the_clinics_day_across_dst(app, db, world, monkeypatch):
    """A patient of the Rome clinic saves each entry a few minutes either side of midnight
    around both DST changes: each lands on the local day written by hand above, none
    overwrites the day before (a UTC clock would file 00:10 CEST on 30 March under the
    29th, and refuse "30 March" as a day in the future)."""
    current = {"now": datetime(2026, 3, 27, 9, 0, tzinfo=UTC)}
    monkeypatch.setattr(clock, "now", lambda: current["now"])
    patient = patients.create_patient(db, world.clinic_a, "DST-1", locale="en")
    course = patients.create_course(db, patient, "knee", "2026-03-27")
    give_consent(db, course)
    phone = app.test_client()
    open_link(phone, patients.issue_link(db, patient))
    queue = phone_queue_id(phone)
    for k, (moment, day) in enumerate(SAVES):
        current["now"] = moment
        response = phone.post(
            "/api/entries",
            data=json.dumps(
                {
                    "client_id": f"dst-entry-{k:04d}-{k:04d}",
                    "queue_id": queue,
                    "avg": k,
                    "worst": k,
                    "day": day,
                }
            ),
            content_type="application/json",
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        assert response.status_code in (200, 201), (moment, response.get_json())
        assert response.get_json()["day"] == day and response.get_json()["late"] is False
    stored = {e["day"].isoformat(): e["avg_nrs"] for e in entries.for_course(db, course)}
    # by hand: the 28th, 29th and 30th of March, the 25th (edited at 23:30: value 4) and 26th
    assert stored == {"2026-03-28": 0, "2026-03-29": 1, "2026-03-30": 2,
                      "2026-10-25": 4, "2026-10-26": 5}  # fmt: skip
