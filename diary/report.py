"""The clinician's PDF summary of a course: one page to read in under a minute, details after.

Every figure comes from :mod:`diary.outcomes`; the chart is the same SVG as on the web
(:mod:`diary.charts`). Rendering is limited per process (a semaphore) so PDFs never crowd
out the patients' diary requests; a busy server answers 503 with Retry-After.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any, NamedTuple

import sqlite_utils
from flask import current_app, render_template
from flask_babel import force_locale

from . import charts, clock, entry_rules, function_outcomes, outcomes, pdf, session_rules, sheet
from .i18n import direction
from .queries import accounts, answers, consents, entries, patients, treatments
from .reference import REFERENCE


class CourseFigures(NamedTuple):
    """A course's diary, sessions and outcome as of ``today``; its chart runs to ``end``."""

    diary: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    end: date
    result: outcomes.CourseOutcome


def course_figures(db: sqlite_utils.Database, course: dict[str, Any], today: date) -> CourseFigures:
    """The one computation of a course's figures, read by the patient's home, the course
    page and the PDF summary (``today`` in the clinic's time zone)."""
    diary = entries.for_course(db, course["id"])
    sessions = treatments.for_course(db, course["id"])
    return CourseFigures(
        diary,
        sessions,
        course["end_date"] or today,
        outcomes.of_course(course, sessions, diary, today),
    )


def function_figures(
    db: sqlite_utils.Database, course: dict[str, Any], sessions: list[dict[str, Any]]
) -> function_outcomes.FunctionOutcome:
    """A course's PEG and PGIC figures (:func:`diary.function_outcomes.of_course`), read by
    the course page and the PDF summary."""
    return function_outcomes.of_course(
        course,
        sessions,
        answers.for_course(db, answers.PEG, course["id"]),
        answers.for_course(db, answers.PGIC, course["id"]),
    )


def summary_context(db: sqlite_utils.Database, course_id: int) -> dict[str, Any]:
    """Everything the summary shows, computed once (no figure is computed in the template)."""
    course = patients.get_course(db, course_id)
    clinic = accounts.get_clinic(db, course["clinic_id"])
    diary, sessions, end, result = course_figures(db, course, clock.today(clinic["timezone"]))
    history = consents.history(db, course_id)
    latest = history[-1] if history else None
    effects_by_interval = []
    for span in result.intervals:
        counts: Counter[str] = Counter()
        for entry in diary:
            if span.start <= entry["day"] <= span.end:
                counts.update(entry["site_effects"])
        effects_by_interval.append(counts)
    return {
        "course": course,
        "clinic": clinic,
        "result": result,
        "intervals": list(zip(result.intervals, effects_by_interval, strict=True)),
        "sessions": sessions,
        "recall": outcomes.recall_gaps(sessions, diary),
        "regimens": session_rules.regimens(sessions),
        "needles": sorted({s["needle"] for s in sessions if s["needle"]}),
        "ultrasound_sessions": [s["number"] for s in sessions if s["ultrasound"]],
        "no_drug_sessions": [s["number"] for s in sessions if s["no_drug"]],
        "paper_consents": [
            (s["number"], s["paper_consent_note"]) for s in sessions if s["paper_consent_note"]
        ],
        "diary": diary,
        "notes": [e for e in diary if e["note"] or e["medication"]],
        "allergy_entries": [e for e in diary if e["allergy_signs"]],
        "consent": latest,
        "consent_state": consents.state(latest, sheet.SHEET_VERSION),
        "first_consent": next((c for c in history if c["kind"] == "consent"), None),
        "screening_flags": consents.screening_flags(db, course_id),
        "screening": consents.latest_screening(db, course_id),
        "start": outcomes.chart_start(course["start_date"], diary, sessions),
        "end": end,
        "generated": clock.now(),
        "reference": REFERENCE.sessions[:2],
        "function": function_figures(db, course, sessions),
        "pgic_labels": function_outcomes.PGIC_LABELS,
    }


def render_summary(db: sqlite_utils.Database, course_id: int, locale: str) -> bytes:
    """The summary PDF of a course in ``locale`` (A4 or Letter as the clinic set it)."""
    return pdf.render_limited(summary_html(db, course_id, locale))


def summary_html(db: sqlite_utils.Database, course_id: int, locale: str) -> str:
    """The summary's HTML in ``locale``, as :func:`render_summary` prints it."""
    data = summary_context(db, course_id)
    with force_locale(locale):
        summary = charts.summary_text(data["result"])
        chart = charts.course_chart(
            data["course"],
            data["diary"],
            data["sessions"],
            data["result"],
            data["end"],
            chart_id="summary-chart",
            plain_labels=direction(locale) == "rtl",
        )
        return render_template(
            "pdf/summary.html",
            **data,
            chart_url=charts.data_url(chart),
            chart_summary=summary,
            questions=sheet.SCREENING,
            answers=sheet.SCREENING_ANSWERS,
            site_effects=entry_rules.SITE_EFFECTS,
            allergy_signs=entry_rules.ALLERGY_SIGNS,
            locale=locale,
            dir=direction(locale),
            paper=data["clinic"]["paper_size"] or "A4",
            version=current_app.config["VERSION"],
        )
