"""The clinic's follow-up list ("Needs attention"): which courses need a look, and why.

Each reason comes with its *evidence*: the fact that changes when the situation is new
again. "Mark as seen" records (course, reason, evidence), who and when; the reason stays
hidden until its evidence changes, then comes back.

* ``no_entry``: consent is active and no diary day was entered for the clinic's
  ``no_entry_days`` days or more (counted from the diary start when nothing was entered;
  today is not missing while it lasts). Evidence: the last diary day ("none" before any).
* ``allergy``: a possible allergic reaction was reported and not yet marked reviewed on the
  course page. Evidence: the latest report.
* ``rising``: pain rose by :data:`RISE_POINTS` or more over the last week: the mean daily
  average NRS of the 7 days ending today minus that of the 7 days before, each week with
  at least :data:`MIN_WEEK_DAYS` diary days. Evidence: today's ISO week.
* ``withdrawn``: the patient withdrew consent. Evidence: the withdrawal.
* ``countersign``: the active consent is not countersigned by a clinician. Evidence: that
  consent.
* ``overdue``: consent is active, there was at least one session, and today is more than
  :data:`OVERDUE_DAYS` days after the expected next one (the last session plus the clinic's
  days between sessions). Evidence: the last session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import sqlite_utils

from . import clock, sheet
from .outcomes import diary_start, mean_over
from .queries import consents, courses

Reason = Literal["no_entry", "allergy", "rising", "withdrawn", "countersign", "overdue"]
REASONS: tuple[Reason, ...] = (
    "allergy",
    "rising",
    "withdrawn",
    "no_entry",
    "overdue",
    "countersign",
)
RISE_POINTS = 2  # points the weekly mean rose
MIN_WEEK_DAYS = 3  # diary days each week needs for the comparison
OVERDUE_DAYS = 7  # days past the expected session
NO_ENTRY_DAYS = 3  # the clinic setting's default


@dataclass(frozen=True)
class Item:
    """One reason a course is on the list, with its evidence and the day it began."""

    reason: Reason
    evidence: str
    since: date | None


def weekly_rise(entries: Sequence[Mapping[str, Any]], today: date) -> float | None:
    """This week's mean daily average NRS minus last week's (None without enough days)."""
    this_start, last_start = today - timedelta(days=6), today - timedelta(days=13)
    this = [e for e in entries if this_start <= e["day"] <= today]
    last = [e for e in entries if last_start <= e["day"] < this_start]
    if len(this) < MIN_WEEK_DAYS or len(last) < MIN_WEEK_DAYS:
        return None
    return mean_over(this, this_start, today) - mean_over(last, last_start, this_start)


def reasons(
    *,
    entries: Sequence[Mapping[str, Any]],
    sessions: Sequence[Mapping[str, Any]],
    today: date,
    consent: str,
    consent_id: int | None,
    countersigned: bool,
    allergy_report: int | None,
    diary_from: date | None,
    no_entry_days: int,
    interval_days: int,
) -> list[Item]:
    """Why an open course needs attention today (definitions in the module docstring);
    ``consent`` is :func:`diary.queries.consents.state`, ``allergy_report`` the id of an
    unreviewed report (None when there is none)."""
    found: list[Item] = []
    active = consent == "active"
    if allergy_report is not None:
        found.append(Item("allergy", str(allergy_report), None))
    rise = weekly_rise(entries, today)
    if rise is not None and rise >= RISE_POINTS:
        year, week, _day = today.isocalendar()
        found.append(Item("rising", f"{year}-W{week:02d}", today - timedelta(days=6)))
    if consent == "withdrawn":
        found.append(Item("withdrawn", str(consent_id), None))
    last_day = max((e["day"] for e in entries), default=None)
    since = last_day or diary_from
    if active and since is not None and (today - since).days >= no_entry_days:
        evidence = last_day.isoformat() if last_day else "none"
        found.append(Item("no_entry", evidence, since + timedelta(days=1) if last_day else since))
    if active and sessions:
        last = max(sessions, key=lambda s: s["date"])
        expected = last["date"] + timedelta(days=interval_days)
        if (today - expected).days > OVERDUE_DAYS:
            found.append(Item("overdue", f"{last['date'].isoformat()}", expected))
    if active and not countersigned:
        found.append(Item("countersign", str(consent_id), None))
    return found


def open_items(
    db: sqlite_utils.Database, clinic: Mapping[str, Any], today: date
) -> list[tuple[dict[str, Any], Item]]:
    """The clinic's list: each open course's reasons (:func:`reasons`) not yet marked as
    seen, most urgent first, as (course row, item). The page and the daily digest both
    read it from here."""
    seen = courses.seen_attention(db, clinic["id"])
    by_entries = courses.entries_by_course(db, clinic["id"], active_only=True)
    by_sessions = courses.sessions_by_course(db, clinic["id"], active_only=True)
    rows = []
    for course in courses.list_courses(db, clinic["id"], active_only=True):
        latest = (
            {"kind": course["consent_kind"], "sheet_version": course["consent_version"]}
            if course["consent_kind"]
            else None
        )
        first_consent = (
            clock.local_day(course["first_consent_at"], clinic["timezone"])
            if course["first_consent_at"]
            else None
        )
        for item in reasons(
            entries=by_entries.get(course["id"], []),
            sessions=by_sessions.get(course["id"], []),
            today=today,
            consent=consents.state(latest, sheet.SHEET_VERSION),
            consent_id=course["consent_id"],
            countersigned=bool(course["countersigned"]),
            allergy_report=course["allergy_report"] if course["flagged"] else None,
            diary_from=diary_start(course["start_date"], first_consent),
            no_entry_days=clinic["no_entry_days"],
            interval_days=clinic["session_interval_days"],
        ):
            if (course["id"], item.reason, item.evidence) not in seen:
                rows.append((course, item))
    rows.sort(key=lambda row: (REASONS.index(row[1].reason), row[0]["patient_code"]))
    return rows
