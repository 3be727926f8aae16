"""PEG-3 and PGIC figures (issue 20), worked out by hand from the definitions in
diary/function_outcomes.py: every expected value is a literal, the working in comments."""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction

import pytest

from diary import function_outcomes as fo

D = date.fromisoformat

# a course starting Monday 2 November 2026, sessions on the 4th, 11th and 18th
START = D("2026-11-02")
SESSIONS = [
    {"number": 1, "date": D("2026-11-04"), "nrs_before": 7},
    {"number": 2, "date": D("2026-11-11"), "nrs_before": 5},
    {"number": 3, "date": D("2026-11-18"), "nrs_before": 3},
]


def peg(day, pain, enjoyment, activity, locale="en"):
    return {
        "day": D(day),
        "pain": pain,
        "enjoyment": enjoyment,
        "activity": activity,
        "locale": locale,
    }


def pgic(day, value, locale="en"):
    return {"day": D(day), "value": value, "locale": locale}


PEGS = [
    peg("2026-11-02", 7, 6, 8),  # 21/3 = 7
    peg("2026-11-04", 8, 7, 7),  # 22/3 = 7.33: the last on or before session 1's day
    peg("2026-11-09", 5, 4, 4),  # 13/3
    peg("2026-11-16", 3, 2, 2),  # 7/3
    peg("2026-11-23", 2, 2, 1),  # 5/3 = 1.67: the latest, "now"
]
PGICS = [
    pgic("2026-11-05", 4),  # interval 1 (not a PGIC "at a session": none at session 1)
    pgic("2026-11-11", 3),  # session 2's day: the PGIC at session 2
    pgic("2026-11-13", 2),  # still interval 2, not its first
    pgic("2026-11-18", 2),  # the PGIC at session 3
    pgic("2026-11-23", 1),  # interval 3: the last PGIC, very much improved
]


@pytest.mark.parametrize(
    ("items", "score"),
    [((0, 0, 0), 0), ((10, 10, 10), 10), ((7, 6, 8), 7), ((1, 2, 2), Fraction(5, 3))],
)
def test_peg_score_is_the_mean_of_the_three_items(items, score):
    assert fo.peg_score(*items) == score


def test_a_course_peg_baseline_now_and_change_by_hand():
    result = fo.course_function(SESSIONS, PEGS, PGICS)
    assert result.baseline.day == D("2026-11-04") and result.baseline.score == Fraction(22, 3)
    assert result.now.day == D("2026-11-23") and result.now.score == Fraction(5, 3)
    assert result.change == Fraction(-17, 3)  # 5/3 - 22/3
    assert fo.printed_score(result.baseline.score) == 7.3
    assert fo.printed_score(result.now.score) == 1.7
    assert fo.printed_score(result.change) == -5.7
    assert [p.score for p in result.pegs] == [
        7,
        Fraction(22, 3),
        Fraction(13, 3),
        Fraction(7, 3),
        Fraction(5, 3),
    ]


def test_pgic_at_each_session_and_the_last_by_hand():
    result = fo.course_function(SESSIONS, PEGS, PGICS)
    assert {n: (a.day, a.value) for n, a in result.pgic_at_sessions.items()} == {
        2: (D("2026-11-11"), 3),
        3: (D("2026-11-18"), 2),
    }
    assert (result.last_pgic.day, result.last_pgic.value, result.last_pgic.session) == (
        D("2026-11-23"),
        1,
        3,
    )
    assert result.improved is True and result.unvalidated is False


def test_without_a_session_the_latest_peg_is_the_baseline_and_there_is_no_change():
    result = fo.course_function([], PEGS[:2], [])
    assert result.baseline.day == D("2026-11-04") and result.now is None
    assert result.change is None and result.last_pgic is None and result.improved is None


def test_a_course_with_nothing_has_no_figures():
    result = fo.course_function(SESSIONS, [], [])
    assert (result.baseline, result.now, result.change, result.last_pgic) == (
        None,
        None,
        None,
        None,
    )
    assert not result.any


@pytest.mark.parametrize(
    ("day", "answered", "asked"),
    [
        ("2026-11-02", [], True),  # first diary day of week 1
        ("2026-11-03", ["2026-11-02"], False),  # week 1 already answered
        ("2026-11-02", ["2026-11-02"], True),  # answered today: shown to be corrected
        ("2026-11-08", ["2026-11-02"], False),  # last day of week 1
        ("2026-11-09", ["2026-11-02"], True),  # first day of week 2
        ("2026-11-12", ["2026-11-02"], True),  # week 2 not answered yet: its first diary day
        ("2026-11-01", [], True),  # before the start (week 0)
    ],
)
def test_peg_days(day, answered, asked):
    assert fo.asks_peg(START, D(day), [peg(d, 1, 1, 1) for d in answered]) is asked


def test_course_weeks():
    assert [fo.course_week(START, D(d)) for d in ("2026-11-01", "2026-11-02", "2026-11-08")] == [
        0,
        1,
        1,
    ]
    assert fo.course_week(START, D("2026-11-09")) == 2


@pytest.mark.parametrize(
    ("day", "answered", "end", "asked"),
    [
        ("2026-11-10", [], None, False),  # only session 1 so far: no change to judge yet
        ("2026-11-11", [], None, True),  # session 2's day
        ("2026-11-12", ["2026-11-11"], None, False),  # answered for session 2
        ("2026-11-12", ["2026-11-05"], None, True),  # answered before session 2 only
        ("2026-11-17", [], None, True),  # still session 2's interval, not answered
        ("2026-11-18", ["2026-11-11"], None, True),  # session 3's day
        ("2026-11-20", ["2026-11-18"], D("2026-11-20"), True),  # the course's end day
        ("2026-11-19", ["2026-11-18"], D("2026-11-20"), False),
    ],
)
def test_pgic_days(day, answered, end, asked):
    assert fo.asks_pgic(D(day), SESSIONS, [pgic(d, 4) for d in answered], end) is asked


def test_translations_other_than_english_are_unvalidated():
    assert fo.validated("en") and fo.validated("en_US")
    assert not any(fo.validated(x) for x in ("it", "es", "fr", "de", "ar", "pt_BR", "zh_Hans"))
    assert not fo.validated(None)
    result = fo.course_function(SESSIONS, [peg("2026-11-02", 1, 1, 1, "it")], [])
    assert result.unvalidated is True


def test_cohort_share_improved_and_peg_change_by_hand():
    a = fo.course_function(SESSIONS, PEGS, PGICS)  # change -17/3, last PGIC 1
    b = fo.course_function(  # PEG 4 -> 5: +1; last PGIC 4 (no change)
        SESSIONS, [peg("2026-11-04", 4, 4, 4), peg("2026-11-20", 5, 5, 5)], [pgic("2026-11-19", 4)]
    )
    c = fo.course_function(SESSIONS, [], [pgic("2026-11-12", 2)])  # much improved, no PEG
    d = fo.course_function(SESSIONS, [], [])  # nothing answered
    result = fo.cohort([a, b, c, d])
    assert (result.pgic_courses, result.improved) == (3, 2)
    assert result.improved_share == Fraction(2, 3)
    assert result.peg_courses == 2
    # mean of -17/3 and 1 = (-17/3 + 3/3) / 2 = -7/3; SD of two values = |a - b| / sqrt(2)
    # = (20/3) / sqrt(2) = 4.714
    assert result.peg_change_mean == pytest.approx(-7 / 3)
    assert result.peg_change_sd == pytest.approx(20 / 3 / math.sqrt(2))
    assert round(result.peg_change_sd, 3) == 4.714
