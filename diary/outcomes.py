"""Clinical calculations, as pure functions of a course's sessions and diary entries.

Every figure shown on a page or printed in a PDF comes from here. Inputs are rows as
:mod:`diary.queries` returns them (dates as ``datetime.date``): a session has ``number``,
``date`` and ``nrs_before``; a diary entry has ``day``, ``avg_nrs``, ``worst_nrs`` and
``late``.

Definitions (see ../shared/CLINICAL.md):

* NRS: the 0-10 Numeric Rating Scale (0 no pain, 10 worst pain imaginable).
* Baseline: the NRS recorded before session 1; when it is missing, the mean daily
  average NRS of the diary days before session 1 (the last three at most).
* Interval k: from the day of session k up to the day before session k+1; the last
  interval runs to the end of the course (or today).
* Change: ``value - baseline`` in points, and the reduction in percent of baseline,
  ``(baseline - value) / baseline * 100`` (positive when pain went down).
* IMMPACT band of a percent reduction: under 10 % none, 10-29 % minimal, 30-49 %
  moderate, 50 % or more substantial.
* Sessions are taken in the order of their dates (the number follows the date).
* Exact figures: % changes, bands and the goal are compared as exact fractions, so 30 %
  is moderate and 50 % is the goal (a float would say 29.999...). A printed % never
  crosses its band (:func:`printed_percent`).
* Baseline 0: nothing to divide by, so no %, no band and no goal ("not assessable").
  Baselines 1-2 are assessable (a one-point change is then 50 % or more): pages show the
  points beside every %, so the size of the change is always visible.
* Goal status: reached at session N; "not maintained" when pain is above half the
  baseline again now; "not yet" for an open course, "not reached" for a closed one.
* Today (the clinic's) is not a missing diary day while it lasts.
* Goal: a 50 % reduction from baseline. The goal session is the first session after
  which pain was at most half the baseline: the mean daily average NRS of the interval
  that follows it or, when that interval has no diary entries, the NRS measured before
  the next session.
* Completeness: each calendar day of a period is on time (entry made that day), late
  (made the next day) or missing.
* Diary start: the later of the course start and the day of the first consent (no diary
  before consent); completeness on the dashboard counts from there.
* Dashboard flags (:func:`course_status`), each asking the clinician to look:
  ``allergy``: a possible allergic reaction was reported and not yet marked reviewed;
  ``withdrawn``: the patient withdrew consent (no further session without a new one);
  ``countersign``: the patient's active consent is not yet countersigned by a clinician;
  ``no_entry``: consent is active and no diary day was entered for :data:`NO_ENTRY_DAYS`
  days or more (counted from the diary start when nothing was ever entered);
  ``worse``: the mean of the last 7 days is :data:`RISE_POINTS` or more above baseline;
  ``screening``: a screening answer other than "no" awaits review.
* Chart start (:func:`chart_start`): the earliest of the course start, the first diary
  day and the first session.
* Recall gap (:func:`recall_gap`): at a session, the NRS the clinic measured before it
  (``nrs_before``) minus the mean daily average NRS of the diary over the
  :data:`RECALL_DAYS` calendar days before the session day (the day itself not included),
  with how many of those days had an entry. Nothing to show when none had; no gap when the
  clinic measured nothing. Flagged when the two differ by :data:`RECALL_GAP_POINTS` points
  or more either way, compared exactly (2 flags, 1.99 does not).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any, Literal

GOAL = 0.5  # a 50 % reduction from baseline
MODERATE = 0.3  # a 30 % reduction: moderate improvement (IMMPACT)
BASELINE_DAYS = 3
EXACT_DENOMINATOR = 10**6  # means of up to a million whole ratings stay exact
NO_ENTRY_DAYS = 3  # dashboard flag: this many days without a diary entry
RISE_POINTS = 2  # dashboard flag: last 7 days this many points above baseline
RECALL_DAYS = 7  # recall gap: the diary days before a session compared with its NRS
RECALL_GAP_POINTS = 2  # recall gap: flagged at this many points apart or more

Band = Literal["none", "minimal", "moderate", "substantial"]
GoalStatus = Literal["not_assessable", "reached", "not_maintained", "not_yet", "not_reached"]
Flag = Literal["allergy", "withdrawn", "countersign", "no_entry", "worse", "screening"]
BaselineSource = Literal["session", "diary"]
Row = Mapping[str, Any]


def _sorted_sessions(sessions: Iterable[Row]) -> list[Row]:
    """Sessions in time: by date (the number follows the date), then as numbered."""
    return sorted(sessions, key=lambda s: (s["date"], s["number"]))


def exact(value: float | int | Fraction) -> Fraction:
    """A figure as the exact fraction it stands for. NRS values are whole numbers and
    means have small denominators, so the float of a mean recovers its fraction exactly."""
    if isinstance(value, Fraction):
        return value
    return Fraction(value).limit_denominator(EXACT_DENOMINATOR)


def chart_start(start: date, entries: Iterable[Row], sessions: Iterable[Row] = ()) -> date:
    """The first day a course's chart (and its day-by-day export) shows."""
    return min([start, *(e["day"] for e in entries), *(s["date"] for s in sessions)])


def baseline(sessions: Iterable[Row], entries: Iterable[Row]) -> float | None:
    """NRS before session 1, else the mean daily average NRS of up to 3 diary days before it.

    Without a session yet, the last three diary days recorded count as "before session 1".
    Returns None when there is nothing to go on.
    """
    ordered = _sorted_sessions(sessions)
    if ordered and ordered[0]["nrs_before"] is not None:
        return float(ordered[0]["nrs_before"])
    first = ordered[0]["date"] if ordered else None
    before = sorted(
        (e for e in entries if first is None or e["day"] < first),
        key=lambda e: e["day"],
    )[-BASELINE_DAYS:]
    if not before:
        return None
    return statistics.fmean(e["avg_nrs"] for e in before)


@dataclass(frozen=True)
class Completeness:
    """Diary days in a period: made on time, made late (next day), or missing."""

    on_time: int
    late: int
    missing: int

    @property
    def days(self) -> int:
        return self.on_time + self.late + self.missing

    @property
    def recorded(self) -> int:
        return self.on_time + self.late


def completeness(
    entries: Iterable[Row], start: date, end: date, today: date | None = None
) -> Completeness:
    """Count on-time, late and missing diary days from ``start`` to ``end`` inclusive.

    ``today`` (the clinic's) is not missing while it lasts: without an entry it is not
    counted at all.
    """
    entries = list(entries)
    first, last = start, end
    if today is not None and last >= today and not any(e["day"] == today for e in entries):
        last = min(last, today - timedelta(days=1))
    if last < first:
        return Completeness(0, 0, 0)
    in_range = [e for e in entries if first <= e["day"] <= last]
    late = sum(1 for e in in_range if e["late"])
    days = (last - first).days + 1
    return Completeness(len(in_range) - late, late, days - len(in_range))


@dataclass(frozen=True)
class Interval:
    """What happened after one session, up to the next one."""

    session: Row
    start: date
    end: date  # inclusive
    n: int
    mean: float | None  # of the daily average NRS
    min: int | None
    max: int | None
    worst_mean: float | None
    completeness: Completeness
    next_nrs_before: int | None  # NRS measured before the next session


def intervals(
    sessions: Iterable[Row], entries: Sequence[Row], end: date, today: date | None = None
) -> list[Interval]:
    """One :class:`Interval` per session, the last one running to ``end`` (inclusive)."""
    ordered = _sorted_sessions(sessions)
    result = []
    for i, session in enumerate(ordered):
        start = session["date"]
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        stop = nxt["date"] - timedelta(days=1) if nxt else max(end, start)
        days = [e for e in entries if start <= e["day"] <= stop]
        avgs = [e["avg_nrs"] for e in days]
        result.append(
            Interval(
                session=session,
                start=start,
                end=stop,
                n=len(days),
                mean=statistics.fmean(avgs) if avgs else None,
                min=min(avgs) if avgs else None,
                max=max(avgs) if avgs else None,
                worst_mean=statistics.fmean(e["worst_nrs"] for e in days) if days else None,
                completeness=completeness(entries, start, stop, today),
                next_nrs_before=nxt["nrs_before"] if nxt else None,
            )
        )
    return result


def assessable(base: float | None) -> bool:
    """A % change needs a baseline to divide by: none for a missing or zero baseline."""
    return base is not None and base > 0


def change(base: float | None, value: float | None) -> tuple[float | None, Fraction | None]:
    """(points, exact percent reduction) of ``value`` against ``base``; None where
    undefined (no % without an assessable baseline)."""
    if base is None or value is None:
        return None, None
    percent = (exact(base) - exact(value)) / exact(base) * 100 if assessable(base) else None
    return value - base, percent


def immpact_band(percent_reduction: float | Fraction | None) -> Band | None:
    """IMMPACT band: <10 % none, 10-29 % minimal, 30-49 % moderate, >=50 % substantial
    (compared exactly: 30 % is moderate)."""
    if percent_reduction is None:
        return None
    value = exact(percent_reduction)
    if value >= 50:
        return "substantial"
    if value >= 30:
        return "moderate"
    if value >= 10:
        return "minimal"
    return "none"


def printed_percent(percent: float | Fraction | None) -> tuple[float, int] | None:
    """The percent as printed and its decimals: whole when that keeps its band, else one
    or two decimals, rounded toward the band, so a printed figure never disagrees with its
    band (49.7 % prints "49.7", never "50" beside "moderate"). Halves round up, as
    people expect (62.5 % prints "63")."""
    if percent is None:
        return None
    value = exact(percent)
    band = immpact_band(value)
    for digits in (0, 1, 2):
        shown = Fraction(math.floor(value * 10**digits + Fraction(1, 2)), 10**digits)
        if immpact_band(shown) == band:
            return float(shown), digits
    return float(Fraction(math.floor(value * 100), 100)), 2


def reached(base: float | None, value: float | None, share: float = GOAL) -> bool:
    """True when ``value`` is at most (1 - share) of an assessable baseline (default: half
    of it), compared exactly."""
    if not assessable(base) or value is None:
        return False
    return exact(value) <= exact(base) * (1 - Fraction(share).limit_denominator(100))


def goal_session(base: float | None, spans: Sequence[Interval]) -> int | None:
    """Number of the first session after which pain was at most half the baseline
    (sessions counted in date order)."""
    for number, span in enumerate(spans, start=1):
        after = span.mean if span.mean is not None else span.next_nrs_before
        if reached(base, after):
            return number
    return None


def mean_over(entries: Iterable[Row], start: date, end: date) -> float | None:
    """Mean daily average NRS of the entries from ``start`` to ``end`` inclusive."""
    values = [e["avg_nrs"] for e in entries if start <= e["day"] <= end]
    return statistics.fmean(values) if values else None


def last_days_mean(entries: Iterable[Row], today: date, days: int = 7) -> float | None:
    """Mean daily average NRS over the ``days`` days ending ``today``."""
    return mean_over(entries, today - timedelta(days=days - 1), today)


def latest_measurement(
    sessions: Sequence[Row], entries: Sequence[Row]
) -> tuple[float, date] | None:
    """ "Now": the most recent NRS of either kind, with its day. Kinds: a diary day's
    average, or the NRS the clinic measured before a session. Only measurements after the
    baseline count: from session 1's day on (its own NRS is the baseline), or any diary
    day before the first session. On one day, the diary's average wins (it is entered
    after the visit and covers the whole day)."""
    ordered = _sorted_sessions(sessions)
    since = ordered[0]["date"] if ordered else None
    found = [
        (s["date"], 0, s["nrs_before"]) for s in ordered[1:] if s["nrs_before"] is not None
    ] + [(e["day"], 1, e["avg_nrs"]) for e in entries if since is None or e["day"] >= since]
    if not found:
        return None
    day, _kind, value = max(found)
    return float(value), day


@dataclass(frozen=True)
class RecallGap:
    """A session's clinic-measured NRS beside the diary of the days before it."""

    session: Row
    measured: int | None  # the session's nrs_before
    mean: Fraction  # mean daily average NRS of the diary days before the session
    days: int  # how many of the RECALL_DAYS days had an entry (1 or more)
    gap: Fraction | None  # measured - mean; None when nothing was measured
    flagged: bool  # |gap| >= RECALL_GAP_POINTS


def recall_gap(session: Row, entries: Iterable[Row]) -> RecallGap | None:
    """The recall gap at ``session`` (definition above); None when none of the
    :data:`RECALL_DAYS` days before the session day has a diary entry."""
    first = session["date"] - timedelta(days=RECALL_DAYS)
    values = [exact(e["avg_nrs"]) for e in entries if first <= e["day"] < session["date"]]
    if not values:
        return None
    mean = sum(values, Fraction(0)) / len(values)
    measured = session["nrs_before"]
    gap = exact(measured) - mean if measured is not None else None
    return RecallGap(
        session=session,
        measured=measured,
        mean=mean,
        days=len(values),
        gap=gap,
        flagged=gap is not None and abs(gap) >= RECALL_GAP_POINTS,
    )


def recall_gaps(sessions: Iterable[Row], entries: Sequence[Row]) -> dict[int, RecallGap]:
    """:func:`recall_gap` of every session that has one, by session number."""
    found = {s["number"]: recall_gap(s, entries) for s in sessions}
    return {number: gap for number, gap in found.items() if gap is not None}


def days_since_last_entry(entries: Sequence[Row], today: date) -> int | None:
    """Days since the most recent diary day (0 when today's is in)."""
    if not entries:
        return None
    return (today - max(e["day"] for e in entries)).days


def mean_sd(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (SD None for fewer than two values)."""
    if not values:
        return None, None
    sd = statistics.stdev(values) if len(values) > 1 else None
    return statistics.fmean(values), sd


@dataclass(frozen=True)
class CourseOutcome:
    """The summary figures of one course."""

    baseline: float | None
    baseline_source: BaselineSource | None  # session 1's NRS, or the diary before it
    current: float | None  # "now": the latest measurement (latest_measurement)
    current_date: date | None  # the day it was measured
    points: float | None
    percent: Fraction | None  # exact; print it with printed_percent()
    band: Band | None
    goal_session: int | None
    goal: GoalStatus
    sessions: int
    intervals: list[Interval]
    completeness: Completeness


def goal_status(
    base: float | None, first_reached: int | None, current: float | None, *, closed: bool
) -> GoalStatus:
    """``not_assessable`` (baseline 0), ``reached``, ``not_maintained`` (reached, but pain
    is above half the baseline again now), ``not_yet`` (open course), ``not_reached``
    (closed course that never reached it)."""
    if base is not None and not assessable(base):
        return "not_assessable"
    if first_reached is not None:
        return "reached" if reached(base, current) else "not_maintained"
    return "not_reached" if closed else "not_yet"


def course_outcome(
    sessions: Sequence[Row],
    entries: Sequence[Row],
    start: date,
    end: date,
    *,
    today: date | None = None,
    closed: bool = False,
) -> CourseOutcome:
    """Baseline, current pain ("now"), change, band, goal and completeness of a course.

    "Now" is :func:`latest_measurement`, with its date. ``today``
    (the clinic's) is not counted as a missing day while it lasts; ``closed`` courses that
    never reached the goal have "not reached" it.
    """
    base = baseline(sessions, entries)
    ordered = _sorted_sessions(sessions)
    source: BaselineSource | None = None
    if base is not None:
        source = "session" if ordered and ordered[0]["nrs_before"] is not None else "diary"
    spans = intervals(sessions, entries, end, today)
    latest = latest_measurement(sessions, entries)
    current, current_date = latest if latest else (None, None)
    points, percent = change(base, current)
    first_reached = goal_session(base, spans)
    return CourseOutcome(
        baseline=base,
        baseline_source=source,
        current=current,
        current_date=current_date,
        points=points,
        percent=percent,
        band=immpact_band(percent),
        goal_session=first_reached,
        goal=goal_status(base, first_reached, current, closed=closed),
        sessions=len(spans),
        intervals=spans,
        completeness=completeness(entries, start, end, today),
    )


def of_course(
    course: Row, sessions: Sequence[Row], entries: Sequence[Row], today: date
) -> CourseOutcome:
    """:func:`course_outcome` of a course row as of the clinic's ``today``: to its end
    (or today while open), closed once it has an end. Every view reads a course's
    figures from here (patient home, dashboard, course page, PDF, cohort, CSV, FHIR)."""
    return course_outcome(
        sessions,
        entries,
        course["start_date"],
        course["end_date"] or today,
        today=today,
        closed=course["end_date"] is not None,
    )


def diary_start(course_start: date, first_consent: date | None) -> date | None:
    """The day the diary starts: the later of the course start and the first consent
    (None while there is no consent)."""
    return None if first_consent is None else max(course_start, first_consent)


@dataclass(frozen=True)
class CourseStatus:
    """One dashboard row: a course's figures and the flags that ask for attention."""

    outcome: CourseOutcome
    recent: float | None  # mean daily average NRS of the last 7 days (the "worse" flag)
    since: int | None  # days since the last diary day
    done: Completeness | None  # diary days from the diary start to today
    flags: list[Flag]


def course_status(
    sessions: Sequence[Row],
    entries: Sequence[Row],
    *,
    start: date,
    today: date,
    diary_from: date | None,
    consent_active: bool,
    allergy_reported: bool,
    consent_withdrawn: bool = False,
    countersign_pending: bool = False,
    screening_flags: int,
) -> CourseStatus:
    """The dashboard's figures and flags of an open course (definitions above)."""
    result = course_outcome(sessions, entries, start, today, today=today)
    recent = last_days_mean(entries, today)
    since = days_since_last_entry(entries, today)
    flags: list[Flag] = []
    if allergy_reported:
        flags.append("allergy")
    if consent_withdrawn:
        flags.append("withdrawn")
    if consent_active and countersign_pending:
        flags.append("countersign")
    silent = since if since is not None else (today - diary_from).days if diary_from else None
    if consent_active and silent is not None and silent >= NO_ENTRY_DAYS:
        flags.append("no_entry")
    if (
        result.baseline is not None
        and recent is not None
        and recent >= result.baseline + RISE_POINTS
    ):
        flags.append("worse")
    if screening_flags:
        flags.append("screening")
    return CourseStatus(
        outcome=result,
        recent=recent,
        since=since,
        done=completeness(entries, diary_from, today, today) if diary_from else None,
        flags=flags,
    )


@dataclass(frozen=True)
class Cohort:
    """Figures over several courses, comparable with paper 001."""

    courses: int
    reached: int
    sessions_mean: float | None  # sessions to goal, or received when not reached
    sessions_sd: float | None
    sessions_min: int | None
    sessions_max: int | None
    baseline_mean: float | None
    baseline_sd: float | None
    change_mean: float | None  # points, current minus baseline
    change_sd: float | None


def cohort(outcomes: Sequence[CourseOutcome]) -> Cohort:
    """Cohort figures over the treated courses (at least one session; as the patients of
    paper 001). A course counts the sessions up to the goal, or all the sessions it
    received when the goal was not reached."""
    counted = [o for o in outcomes if o.sessions]
    sessions = [o.goal_session or o.sessions for o in counted]
    bases = [o.baseline for o in counted if o.baseline is not None]
    changes = [o.points for o in counted if o.points is not None]
    s_mean, s_sd = mean_sd(sessions)
    b_mean, b_sd = mean_sd(bases)
    c_mean, c_sd = mean_sd(changes)
    return Cohort(
        courses=len(counted),
        reached=sum(1 for o in counted if o.goal_session is not None),
        sessions_mean=s_mean,
        sessions_sd=s_sd,
        sessions_min=min(sessions) if sessions else None,
        sessions_max=max(sessions) if sessions else None,
        baseline_mean=b_mean,
        baseline_sd=b_sd,
        change_mean=c_mean,
        change_sd=c_sd,
    )


def goal_line(base: float | None, share: float = GOAL) -> float | None:
    """The NRS value that marks a reduction of ``share`` from baseline."""
    return None if base is None else base * (1 - share)


def rounded(value: float | None, digits: int = 1) -> float | None:
    """Round half away from zero, as people expect (3.25 -> 3.3)."""
    if value is None:
        return None
    factor = 10**digits
    return math.floor(abs(value) * factor + 0.5) / factor * (1 if value >= 0 else -1)
