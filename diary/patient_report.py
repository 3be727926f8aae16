"""The patient's own one-page summary (issue 20 item 5), to show a family doctor.

In the patient's language: the pain at the start and now, the chart, the sessions
received, the side effects the patient reported in the diary (with their days) and the
clinic's contact. Figures come from :mod:`diary.outcomes` through
:func:`diary.report.course_figures`, like every other view. Nothing written by the
clinic's staff is shown (no session or clinician notes, no screening answers, no contact
note), nor the patient's own free text (note, pain medicine) or patient code: the file
may end up in a phone's Downloads folder or on another doctor's desk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any, NamedTuple

import sqlite_utils
from babel.dates import format_skeleton
from flask import current_app, render_template
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import charts, clock, entry_rules, outcomes, pdf, report
from .i18n import direction, format_number
from .labels import area_label
from .queries import accounts, patients

#: at most this many runs of days are printed for one side effect (the page stays one)
MAX_RUNS = 4

#: the summary's own words for the site effects whose diary label speaks to the patient
SUMMARY_LABELS = {"other": _l("Something else at the injection site")}


class Effect(NamedTuple):
    """One side effect the patient reported: its label, how many days, which days."""

    label: str
    days: int
    when: str
    allergy: bool


def day_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days grouped as (first, last) runs, in order."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _short(day: date) -> str:
    """A day as "Dec 3" / "3 dic" / "12月3日" in the current locale."""
    return format_skeleton("MMMd", day, locale=get_locale())


def days_text(days: Iterable[date]) -> str:
    """The days of a side effect as short runs ("Dec 3–5, Dec 9"), the first
    :data:`MAX_RUNS` of them and how many days more."""
    runs = day_runs(days)
    shown = [
        _short(a) if a == b else _("%(first)s to %(last)s", first=_short(a), last=_short(b))
        for a, b in runs[:MAX_RUNS]
    ]
    text = ", ".join(shown)
    more = sum((b - a).days + 1 for a, b in runs[MAX_RUNS:])
    if more:
        text += " " + ngettext("and %(num)d more day", "and %(num)d more days", more)
    return text


def reported_effects(diary: Iterable[Mapping[str, Any]]) -> list[Effect]:
    """The side effects reported in the diary (injection-site effects, then signs of a
    possible allergic reaction), each with its days, in the diary form's order."""
    diary = list(diary)
    found: list[Effect] = []
    for kinds, field, allergy in (
        (entry_rules.SITE_EFFECTS, "site_effects", False),
        (entry_rules.ALLERGY_SIGNS, "allergy_signs", True),
    ):
        for key, label in kinds.items():
            days = [e["day"] for e in diary if key in (e[field] or ())]
            if days:
                shown = SUMMARY_LABELS.get(key, label) if not allergy else label
                found.append(Effect(str(shown), len(set(days)), days_text(days), allergy))
    return found


def summary_html(db: sqlite_utils.Database, patient_id: int, locale: str) -> str | None:
    """The summary's HTML of the patient's current course in ``locale`` (None without a
    course)."""
    current = patients.current_course(db, patient_id)
    if current is None:
        return None
    course = patients.get_course(db, current["id"])
    clinic = accounts.get_clinic(db, course["clinic_id"])
    today = clock.today(clinic["timezone"])
    diary, sessions, end, result = report.course_figures(db, course, today)
    with force_locale(locale):
        chart_text = charts.ChartText(_("Your daily pain since the start"), _summary(result))
        chart = charts.trend_svg(
            diary,
            sessions,
            outcomes.chart_start(course["start_date"], diary, sessions),
            end,
            chart_text,
            baseline=result.baseline,
            chart_id="patient-chart",
            plain_labels=direction(locale) == "rtl",
        )
        return render_template(
            "pdf/patient_summary.html",
            clinic=clinic,
            course=course,
            area=area_label(course["area"]),
            result=result,
            sessions=sessions,
            effects=reported_effects(diary),
            chart_url=charts.data_url(chart) if diary or sessions else None,
            chart_summary=chart_text.summary,
            has_baseline=result.baseline is not None,
            today=today,
            locale=locale,
            dir=direction(locale),
            paper=clinic["paper_size"] or "A4",
            version=current_app.config["VERSION"],
        )


def _summary(result: outcomes.CourseOutcome) -> str:
    """The chart's one-sentence description, in plain words."""
    if result.baseline is None or result.current is None:
        return _("No pain ratings yet.")
    return _(
        "Your pain went from %(start)s at the start to %(now)s.",
        start=format_number(result.baseline),
        now=format_number(result.current),
    )


def render_summary(db: sqlite_utils.Database, patient_id: int, locale: str) -> bytes | None:
    """The summary PDF (through the render limit: may raise :class:`diary.pdf.Busy`)."""
    html = summary_html(db, patient_id, locale)
    return None if html is None else pdf.render_limited(html)
