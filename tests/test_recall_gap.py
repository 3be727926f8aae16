"""Recall gap (issue 20 item 6), hand-worked: at each session the NRS the clinic measured
beside the mean of the diary over the 7 calendar days before the session day. Every
expected figure was worked out by hand and written as a literal (the working is in each
row's comment), never computed by the code under test."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest

from diary import outcomes

D = date.fromisoformat


def sess(number, day, nrs):
    return {"number": number, "date": D(day), "nrs_before": nrs}


def diary(first, values):
    """Consecutive days from ``first`` (None skips a day)."""
    out = []
    for k, value in enumerate(values):
        if value is not None:
            day = D(first) + timedelta(days=k)
            out.append({"day": day, "avg_nrs": value, "worst_nrs": value, "late": False})
    return out


# (case, session, entries) -> (mean, days with an entry, gap, flagged); None: nothing shown
GAPS = [
    # session on 10 March: the window is 3-9 March. Seven days of 4: mean 4, 6 - 4 = 2
    #    points exactly: flagged (2 or more)
    ("exactly 2 points flags", sess(2, "2026-03-10", 6), diary("2026-03-03", [4] * 7),
     (Fraction(4), 7, Fraction(2), True)),
    # one day of 4.01 in the window: 6 - 4.01 = 1.99 points: not flagged
    ("1.99 points does not", sess(2, "2026-03-10", 6), diary("2026-03-09", [4.01]),
     (Fraction(401, 100), 1, Fraction(199, 100), False)),
    # the clinic measured less than the diary said: 3 - 5 = -2, flagged either way
    ("2 points below flags", sess(2, "2026-03-10", 3), diary("2026-03-03", [5] * 7),
     (Fraction(5), 7, Fraction(-2), True)),
    # 4, 4, 4, 5, 5, 5, 5 = 32 over 7 days: mean 32/7 = 4.571...; 6 - 32/7 = 10/7 = 1.43
    ("sevenths stay exact", sess(3, "2026-03-17", 6),
     diary("2026-03-10", [4, 4, 4, 5, 5, 5, 5]), (Fraction(32, 7), 7, Fraction(10, 7), False)),
    # only 3 of the 7 days filled in (3, 5 and 9 March: 2 + 3 + 7 = 12, mean 4);
    # 2 March (8 days before) and the session day itself (10 March, 9) are outside
    ("3 of 7 days, window edges", sess(2, "2026-03-10", 7),
     diary("2026-03-02", [9, 2, None, 3, None, None, None, 7, 9]),
     (Fraction(4), 3, Fraction(3), True)),
    # the clinic measured nothing: the diary's mean is shown, no gap, no flag
    ("no NRS at the session", sess(2, "2026-03-10", None), diary("2026-03-08", [5, 6]),
     (Fraction(11, 2), 2, None, False)),
]  # fmt: skip


@pytest.mark.parametrize(("case", "session", "entries", "expected"), GAPS, ids=[g[0] for g in GAPS])
def test_recall_gap_by_hand(case, session, entries, expected):
    got = outcomes.recall_gap(session, entries)
    assert got is not None
    assert (got.mean, got.days, got.gap, got.flagged) == expected
    assert got.measured == session["nrs_before"]


def test_no_diary_day_in_the_week_before_shows_nothing():
    # entries on 2 March (8 days before) and on the session day only: nothing in 3-9 March
    entries = diary("2026-03-02", [5]) + diary("2026-03-10", [1])
    assert outcomes.recall_gap(sess(2, "2026-03-10", 6), entries) is None


def test_recall_gaps_by_session_number():
    # session 1 on 2 March has no diary before it; session 2 on 9 March has 2-8 March at 3
    sessions = [sess(1, "2026-03-02", 8), sess(2, "2026-03-09", 6)]
    gaps = outcomes.recall_gaps(sessions, diary("2026-03-02", [3] * 7))
    assert list(gaps) == [2]
    assert (gaps[2].mean, gaps[2].days, gaps[2].gap, gaps[2].flagged) == (3, 7, 3, True)


# --- on the course page -------------------------------------------------------------------


@pytest.fixture
def gap_course(db, world):
    """Session 1 (NRS 8) with no diary before it; session 2 (NRS 6) after 7 diary days of 4
    (+2: flagged); session 3 (NRS 5) after 3 diary days of 4 in its week (+1: not flagged)."""
    from diary import clock
    from diary.queries import patients, seed, treatments

    course = patients.current_course(db, world.patient_a)["id"]
    start = clock.today("Europe/Rome") - timedelta(days=20)
    db.execute("UPDATE courses SET start_date = ? WHERE id = ?", [start.isoformat(), course])
    for number, nrs in ((1, 8), (2, 6), (3, 5)):
        day = start + timedelta(days=7 * (number - 1))
        treatments.add_session(db, course, day.isoformat(), nrs_before=nrs, notes="")
    for k in [*range(7), 10, 11, 12]:
        day = (start + timedelta(days=k)).isoformat()
        seed.insert_entry(db, course, day, f"g-{k}", 4, 5)
    return course, start


def recall_rows(html: str) -> list[str]:
    """The recall-gap table's body rows as text, one per session shown."""
    import re

    table = re.search(r'<table class="recall-gap">(.*?)</table>', html, re.S)
    assert table, "no recall-gap table on the page"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S)[1:]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in rows]


def test_course_page_shows_the_recall_gap_and_flags_2_points(client, world, gap_course):
    from tests.helpers import login

    course, _start = gap_course
    login(client, world.clinician_a)
    html = client.get(f"/clinic/courses/{course}?lang=en").get_data(as_text=True)
    rows = recall_rows(html)
    # session 1 had no diary day before it: no row; sessions 2 and 3 have one each
    assert len(rows) == 2, rows
    assert rows[0].startswith("2 ·") and "6 4 7 of 7 +2" in rows[0]
    assert "2 points or more apart" in rows[0]  # said in text, not only in colour
    assert rows[1].startswith("3 ·") and "5 4 3 of 7 +1" in rows[1]
    assert "apart" not in rows[1]


def test_course_page_without_diary_before_any_session_has_no_recall_table(client, db, world):
    from diary import clock
    from diary.queries import patients, treatments
    from tests.helpers import login

    course = patients.current_course(db, world.patient_a)["id"]
    treatments.add_session(db, course, clock.today("Europe/Rome").isoformat(), nrs_before=7)
    login(client, world.clinician_a)
    html = client.get(f"/clinic/courses/{course}?lang=en").get_data(as_text=True)
    assert "Pain at the clinic and in the diary" not in html
    assert "recall-gap" not in html


# --- in the clinician's PDF summary -------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_pdf_session_table_shows_the_recall_gap_on_page_2(app, db, gap_course, locale):
    import io
    import re

    from pypdf import PdfReader

    from diary import report

    course, _start = gap_course
    with app.test_request_context():
        data = report.render_summary(db, course, locale)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2  # page 1 (the overview) stays one page
    page1 = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    page2 = re.sub(r"\s+", " ", reader.pages[1].extract_text())
    assert "7 of 7" not in page1
    if locale == "en":
        assert "Diary, 7 days before" in page2
        # session 2: diary 4 over 7 of 7 days against 6, flagged; session 3: 3 of 7 days
        assert re.search(r"\b4 \(7 of 7\) ⚑ 2 points or more apart", page2), page2
        assert re.search(r"\b4 \(3 of 7\)", page2)
        assert page2.count("points or more apart") == 1
    else:
        assert page2.count("⚑") == 1
