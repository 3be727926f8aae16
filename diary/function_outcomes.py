"""Outcomes as pain trials report them, beside the NRS: PEG-3 and PGIC (issue 20).

Pure functions of a course's sessions and of the patient's PEG and PGIC answers, as
:mod:`diary.queries.answers` returns them (dates as ``datetime.date``): a PEG answer has
``day``, ``pain``, ``enjoyment``, ``activity`` and ``locale``; a PGIC answer has ``day``,
``value`` and ``locale``. Sessions are rows with ``number`` and ``date`` as in
:mod:`diary.outcomes`. Every PEG/PGIC figure a page, PDF or export shows comes from
:func:`of_course` (the sibling of :func:`diary.outcomes.of_course`).

Definitions:

* PEG-3 (Krebs et al., J Gen Intern Med 2009;24(6):733-738; public domain): three 0-10
  ratings about the past week: average pain (P), interference with enjoyment of life (E),
  interference with general activity (G). The score is their mean, kept as an exact
  fraction (``(P + E + G) / 3``) and printed with one decimal.
* Course week k: the days from ``start + 7(k-1)`` to ``start + 7k - 1`` (week 1 starts on
  the course's start day; a day before the start is in week 0).
* PEG day: a diary day of a course week in which no PEG was answered yet (so the PEG is
  asked on the first diary day of each week, and again on that day while it may be
  corrected). The entry saves without it: the PEG is optional.
* PEG baseline: the last PEG answered on or before the day of session 1 (its recall is
  the past week, so an answer on session 1's day still describes the week before the
  treatment); without a session yet, the latest PEG. PEG now: the latest PEG answered
  after the baseline's day. PEG change: ``now - baseline`` in points (negative: better).
* PGIC (Patient Global Impression of Change, 7 points): "Since the start of the
  treatment, how would you describe the change in your pain and daily life?", 1 very much
  improved, 2 much improved, 3 minimally improved, 4 no change, 5 minimally worse, 6 much
  worse, 7 very much worse. Answered by the patient in the diary only.
* PGIC due: from the day of each session from the second on (sessions in date order) until
  it is answered in that session's interval (up to the day before the next session), and
  on the course's end day. "PGIC at session k": the first PGIC answered in interval k.
  The last PGIC: the latest answer, with the session whose interval it falls in.
* Improved (cohort): a course whose last PGIC is "much" or "very much improved" (1 or 2);
  the share is over the courses with at least one PGIC answer.
* Translations: the instruments were developed and validated in English; an answer given
  in any other language is marked "unvalidated translation" (:data:`VALIDATED_LANGUAGES`,
  the one place to add a language once a published validation can be cited).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from flask_babel import lazy_gettext as _l

from . import outcomes

Row = Mapping[str, Any]

PEG_ITEMS = ("pain", "enjoyment", "activity")
#: the PGIC's seven answers, 1 (very much improved) to 7 (very much worse)
PGIC_LABELS = {
    1: _l("Very much improved"),
    2: _l("Much improved"),
    3: _l("Minimally improved"),
    4: _l("No change"),
    5: _l("Minimally worse"),
    6: _l("Much worse"),
    7: _l("Very much worse"),
}
IMPROVED = (1, 2)  # "much" or "very much improved"
#: languages with a validated version of both instruments that we can cite: the
#: originals are English (PEG: Krebs et al. 2009; PGIC: Guy 1976, as used in pain trials
#: by Farrar et al., Pain 2001). Add a language only with a citable published validation.
VALIDATED_LANGUAGES = frozenset({"en"})


def validated(locale: str | None) -> bool:
    """True when answers given in ``locale`` use a validated version of the instruments."""
    return bool(locale) and str(locale).split("_")[0].split("-")[0] in VALIDATED_LANGUAGES


def peg_score(pain: int, enjoyment: int, activity: int) -> Fraction:
    """The PEG-3 score: the exact mean of its three 0-10 items."""
    return Fraction(pain + enjoyment + activity, 3)


def score_of(answer: Row) -> Fraction:
    """The PEG score of a stored answer."""
    return peg_score(answer["pain"], answer["enjoyment"], answer["activity"])


def course_week(start: date, day: date) -> int:
    """The course week of ``day`` (1 from the start day; 0 before the start)."""
    return max(0, (day - start).days // 7 + 1)


def asks_peg(start: date, day: date, pegs: Iterable[Row]) -> bool:
    """Is the PEG asked on ``day``? When no PEG was answered in its course week yet, or it
    was answered on that very day (to be corrected with the entry)."""
    week = course_week(start, day)
    answered = [p["day"] for p in pegs if course_week(start, p["day"]) == week]
    return not answered or day in answered


def _ordered(sessions: Iterable[Row]) -> list[Row]:
    return sorted(sessions, key=lambda s: (s["date"], s["number"]))


def asks_pgic(
    day: date, sessions: Iterable[Row], pgics: Iterable[Row], end_date: date | None = None
) -> bool:
    """Is the PGIC asked on ``day``? On the course's end day, and from the day of each
    session from the second on until it is answered before the next session; and again
    on a day it was answered (to be corrected with the entry)."""
    pgics = list(pgics)
    answered = {p["day"] for p in pgics}
    if day in answered or day == end_date:
        return True
    ordered = _ordered(sessions)
    since = [s["date"] for s in ordered[1:] if s["date"] <= day]
    if not since:
        return False
    latest = since[-1]
    return not any(latest <= d <= day for d in answered)


def session_of(day: date, sessions: Iterable[Row]) -> int | None:
    """Number (date order) of the session whose interval holds ``day``; None before
    session 1."""
    number = None
    for n, s in enumerate(_ordered(sessions), start=1):
        if s["date"] <= day:
            number = n
    return number


@dataclass(frozen=True)
class PegPoint:
    """One PEG answer: its day, items and score."""

    day: date
    pain: int
    enjoyment: int
    activity: int
    score: Fraction


@dataclass(frozen=True)
class PgicAnswer:
    """One PGIC answer and the session whose interval it falls in (None before session 1)."""

    day: date
    value: int
    session: int | None


@dataclass(frozen=True)
class FunctionOutcome:
    """The PEG and PGIC figures of one course."""

    pegs: list[PegPoint]  # by day
    baseline: PegPoint | None
    now: PegPoint | None
    change: Fraction | None  # now - baseline, points (negative: better)
    pgic_at_sessions: dict[int, PgicAnswer]  # session number -> first PGIC of its interval
    last_pgic: PgicAnswer | None
    improved: bool | None  # last PGIC "much"/"very much improved"; None without a PGIC
    unvalidated: bool  # some answer was given in a language without a validated version

    @property
    def any(self) -> bool:
        """True when the course has a PEG or a PGIC answer."""
        return bool(self.pegs) or self.last_pgic is not None


def peg_points(pegs: Iterable[Row]) -> list[PegPoint]:
    """The PEG answers as points, by day."""
    return [
        PegPoint(p["day"], p["pain"], p["enjoyment"], p["activity"], score_of(p))
        for p in sorted(pegs, key=lambda p: p["day"])
    ]


def peg_baseline(points: Sequence[PegPoint], sessions: Iterable[Row]) -> PegPoint | None:
    """The last PEG on or before session 1's day; without a session, the latest PEG."""
    ordered = _ordered(sessions)
    first = ordered[0]["date"] if ordered else None
    before = [p for p in points if first is None or p.day <= first]
    return before[-1] if before else None


def course_function(
    sessions: Sequence[Row], pegs: Sequence[Row], pgics: Sequence[Row]
) -> FunctionOutcome:
    """PEG baseline, now and change; PGIC at each session and the last one (see above)."""
    points = peg_points(pegs)
    base = peg_baseline(points, sessions)
    later = [p for p in points if base is not None and p.day > base.day]
    now = later[-1] if later else None
    change = now.score - base.score if now is not None and base is not None else None
    answers = [
        PgicAnswer(p["day"], p["value"], session_of(p["day"], sessions))
        for p in sorted(pgics, key=lambda p: p["day"])
    ]
    at_sessions: dict[int, PgicAnswer] = {}
    for answer in answers:
        if answer.session is not None and answer.session >= 2:
            at_sessions.setdefault(answer.session, answer)
    last = answers[-1] if answers else None
    return FunctionOutcome(
        pegs=points,
        baseline=base,
        now=now,
        change=change,
        pgic_at_sessions=at_sessions,
        last_pgic=last,
        improved=None if last is None else last.value in IMPROVED,
        unvalidated=any(not validated(a["locale"]) for a in [*pegs, *pgics]),
    )


def of_course(
    course: Row, sessions: Sequence[Row], pegs: Sequence[Row], pgics: Sequence[Row]
) -> FunctionOutcome:
    """:func:`course_function` of a course row: every view reads a course's PEG and PGIC
    figures from here (course page, PDF, dashboard, cohort, CSV, FHIR)."""
    return course_function(sessions, pegs, pgics)


@dataclass(frozen=True)
class CohortFunction:
    """PEG and PGIC over several courses."""

    pgic_courses: int  # courses with at least one PGIC answer
    improved: int  # of those, last PGIC "much" or "very much improved"
    peg_courses: int  # courses with a PEG baseline and a later PEG
    peg_change_mean: float | None
    peg_change_sd: float | None

    @property
    def improved_share(self) -> Fraction | None:
        """Share of the courses with a PGIC whose last one is (very) much improved."""
        return Fraction(self.improved, self.pgic_courses) if self.pgic_courses else None


def cohort(results: Sequence[FunctionOutcome]) -> CohortFunction:
    """Cohort PEG change (mean, sample SD) and the share of courses much or very much
    improved by their last PGIC."""
    with_pgic = [r for r in results if r.last_pgic is not None]
    changes = [float(r.change) for r in results if r.change is not None]
    return CohortFunction(
        pgic_courses=len(with_pgic),
        improved=sum(1 for r in with_pgic if r.improved),
        peg_courses=len(changes),
        peg_change_mean=statistics.fmean(changes) if changes else None,
        peg_change_sd=statistics.stdev(changes) if len(changes) > 1 else None,
    )


def printed_score(value: Fraction | float | None) -> float | None:
    """A PEG score or change as printed: one decimal, halves away from zero (22/3 -> 7.3)."""
    return None if value is None else outcomes.rounded(float(value), 1)
