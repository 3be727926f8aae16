"""The clinical calculations, as pure functions, against hand-worked examples and against
the reference figures of paper 001 (Bifarini et al., Clin Ter 2022;173(1):79-83)."""

from datetime import date, timedelta

import pytest

from diary import outcomes
from diary.demo import TABLE_1, plan_course

D = date.fromisoformat


def s(number, day, nrs=None):
    return {"number": number, "date": day, "nrs_before": nrs}


def e(day, avg, worst=None, late=0):
    return {
        "day": day,
        "avg_nrs": avg,
        "worst_nrs": worst if worst is not None else avg,
        "late": late,
    }


# --- hand-worked examples -----------------------------------------------------------------


def test_baseline_is_the_nrs_before_session_1():
    sessions = [s(2, D("2026-01-12"), 5), s(1, D("2026-01-05"), 8)]
    assert outcomes.baseline(sessions, [e(D("2026-01-04"), 6)]) == 8


def test_baseline_falls_back_to_the_last_three_diary_days_before_session_1():
    sessions = [s(1, D("2026-01-05"), None)]
    days = [
        e(D("2026-01-01"), 9),
        e(D("2026-01-02"), 8),
        e(D("2026-01-03"), 7),
        e(D("2026-01-04"), 6),
        e(D("2026-01-05"), 2),
    ]
    assert outcomes.baseline(sessions, days) == 7  # (8 + 7 + 6) / 3; session day excluded
    assert outcomes.baseline([], [e(D("2026-01-01"), 4), e(D("2026-01-02"), 5)]) == 4.5
    assert outcomes.baseline([s(1, D("2026-01-05"))], [e(D("2026-01-06"), 3)]) is None


def test_intervals_mean_min_max_and_completeness():
    sessions = [s(1, D("2026-01-05"), 8), s(2, D("2026-01-12"), 6)]
    days = [
        e(D("2026-01-05"), 7),
        e(D("2026-01-06"), 6, late=1),
        e(D("2026-01-08"), 5),
        e(D("2026-01-12"), 4),
        e(D("2026-01-13"), 3),
    ]
    first, second = outcomes.intervals(sessions, days, D("2026-01-14"))
    assert (first.start, first.end) == (date(2026, 1, 5), date(2026, 1, 11))
    assert (first.mean, first.min, first.max, first.n) == (6, 5, 7, 3)
    assert first.completeness == outcomes.Completeness(on_time=2, late=1, missing=4)
    assert first.next_nrs_before == 6
    assert (second.start, second.end) == (date(2026, 1, 12), date(2026, 1, 14))
    assert second.mean == 3.5 and second.completeness.missing == 1


@pytest.mark.parametrize(
    ("percent", "band"),
    [
        (None, None),
        (-20, "none"),
        (0, "none"),
        (9.9, "none"),
        (10, "minimal"),
        (29.9, "minimal"),
        (30, "moderate"),
        (49.9, "moderate"),
        (50, "substantial"),
        (100, "substantial"),
    ],
)
def test_immpact_bands(percent, band):
    assert outcomes.immpact_band(percent) == band


def test_change_in_points_and_percent():
    assert outcomes.change(8, 4) == (-4, 50)
    assert outcomes.change(8, 10) == (2, -25)
    assert outcomes.change(None, 4) == (None, None)
    assert outcomes.change(0, 0) == (0, None)


def test_goal_session_uses_the_interval_mean_or_the_next_pre_session_nrs():
    sessions = [s(1, D("2026-01-05"), 8), s(2, D("2026-01-12"), 6), s(3, D("2026-01-19"), 5)]
    not_yet = [e(D("2026-01-06"), 6), e(D("2026-01-13"), 5)]
    spans = outcomes.intervals(sessions, not_yet, D("2026-01-25"))
    assert outcomes.goal_session(8, spans) is None  # 5 is more than half of 8
    spans = outcomes.intervals(sessions, [*not_yet, e(D("2026-01-20"), 4)], D("2026-01-25"))
    assert outcomes.goal_session(8, spans) == 3  # interval after session 3: mean 4
    # no diary after session 2: the NRS measured before session 3 decides
    sessions[2] = s(3, D("2026-01-19"), 4)
    spans = outcomes.intervals(sessions, [e(D("2026-01-06"), 6)], D("2026-01-25"))
    assert outcomes.goal_session(8, spans) == 2


def test_completeness_counts_every_day():
    days = [e(D("2026-01-01"), 3), e(D("2026-01-02"), 3, late=1)]
    assert outcomes.completeness(days, D("2026-01-01"), D("2026-01-07")) == outcomes.Completeness(
        1, 1, 5
    )
    assert outcomes.completeness(days, D("2026-01-07"), D("2026-01-01")).days == 0


def test_course_outcome_summary():
    sessions = [s(1, D("2026-01-05"), 8), s(2, D("2026-01-12"), 6)]
    days = [e(D("2026-01-06"), 6), e(D("2026-01-13"), 4), e(D("2026-01-14"), 3)]
    result = outcomes.course_outcome(sessions, days, D("2026-01-05"), D("2026-01-18"))
    # now: the latest measurement, the diary's 3 on 14 January
    assert result.baseline == 8 and (result.current, result.current_date) == (3, D("2026-01-14"))
    assert result.points == -5 and result.percent == pytest.approx(62.5)
    assert result.band == "substantial" and result.goal_session == 2 and result.sessions == 2


def test_last_days_mean_and_days_since_last_entry():
    days = [e(D("2025-12-31"), 8), e(D("2026-01-05"), 4), e(D("2026-01-07"), 2)]
    assert outcomes.last_days_mean(days, date(2026, 1, 7)) == 3  # 31 Dec is outside the 7 days
    assert outcomes.days_since_last_entry(days, date(2026, 1, 10)) == 3
    assert outcomes.days_since_last_entry([], date(2026, 1, 10)) is None


def test_rounding_is_half_away_from_zero():
    assert outcomes.rounded(3.25) == 3.3 and outcomes.rounded(-3.25) == -3.3
    assert outcomes.rounded(1.6698) == 1.7


# --- paper 001, Table 1 ------------------------------------------------------------------


def course_outcomes(group):
    """Each Table 1 row turned into dated sessions and diary days, then measured."""
    result = []
    last_day = date(2026, 11, 21)
    for number, row in enumerate(TABLE_1[group], start=1):
        plan = plan_course(group, number, row, last_day)
        sessions = [
            s(k + 1, d, nrs)
            for k, (d, nrs) in enumerate(zip(plan.session_days, plan.session_nrs, strict=True))
        ]
        days = [e(d, avg, worst, int(late)) for d, avg, worst, late in plan.days]
        result.append(outcomes.course_outcome(sessions, days, plan.days[0][0], last_day))
    return result


@pytest.mark.parametrize(
    ("group", "sessions", "baseline", "reached"),
    [
        ("A", (4.0, 1.7), (8.1, 0.3), 30),
        ("B", (3.0, 1.5), (8.0, 0.2), 28),
    ],
)
def test_paper_001_figures_by_group(group, sessions, baseline, reached):
    cohort = outcomes.cohort(course_outcomes(group))
    assert cohort.courses == 31
    assert round(cohort.sessions_mean) == sessions[0]  # the paper reports 4 and 3
    assert outcomes.rounded(cohort.sessions_sd) == sessions[1]
    assert (outcomes.rounded(cohort.baseline_mean), outcomes.rounded(cohort.baseline_sd)) == (
        baseline
    )
    assert cohort.reached == reached
    assert cohort.sessions_min == 1
    assert cohort.sessions_max == (9 if group == "A" else 7)


def test_paper_001_overall_sessions_to_goal():
    cohort = outcomes.cohort(course_outcomes("A") + course_outcomes("B"))
    assert cohort.courses == 62 and cohort.reached == 58
    assert (outcomes.rounded(cohort.sessions_mean), outcomes.rounded(cohort.sessions_sd)) == (
        3.5,
        1.7,
    )
    assert (cohort.sessions_min, cohort.sessions_max) == (1, 9)


def test_each_table_row_reaches_the_goal_at_its_last_session():
    for group in "AB":
        for row, result in zip(TABLE_1[group], course_outcomes(group), strict=True):
            basal, final, n = row
            assert result.baseline == basal and result.sessions == n
            assert result.current == final
            assert result.goal_session == (n if final <= basal / 2 else None)


def test_a_course_without_sessions_has_no_goal_but_a_current_value():
    today = date(2026, 1, 10)
    days = [e(today - timedelta(days=k), 6) for k in range(4)]
    result = outcomes.course_outcome([], days, today - timedelta(days=3), today)
    assert result.goal_session is None and result.current == 6 and result.baseline == 6
