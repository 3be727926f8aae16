"""Rules for a treatment session as the clinician records it: drugs and how they are shown.

Pure functions (no database, no request), so they are tested directly.

* One drug per syringe: the Italian Society of Mesotherapy recommends one drug in each
  syringe, not mixtures. A session that lists :data:`MIXTURE_FROM` or more drugs is
  flagged with :func:`mixture_warning` when it is saved, on the session form (live, by
  ``static/js/session.js``, which reads the threshold from the page) and on the course page.
* A drug is ``{"name": str, "dose": str, "volume_ml": float | None}``; a dose or volume
  needs a name (checked by the session form).
* A session's date (:func:`date_problem`): not in the future (the clinic's today), not
  before the course started, and at most one session a day unless the clinician confirms
  a second one. Sessions are numbered by date (:mod:`diary.queries.treatments`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from flask_babel import gettext as _

from .i18n import format_day

#: this many drugs in one session or more: a mixture, against the one-drug-per-syringe advice
MIXTURE_FROM = 2

Drug = Mapping[str, Any]


def is_mixture(drugs: Sequence[Drug]) -> bool:
    """True when a session lists more drugs than one syringe should hold."""
    return len(drugs) >= MIXTURE_FROM


def mixture_warning() -> str:
    """The translated one-drug-per-syringe reminder."""
    return _(
        "More than one drug: the Italian Society of Mesotherapy recommends one drug per "
        "syringe, not mixtures."
    )


def drug_text(drug: Drug, *, volume: Callable[[float], str] | None = None) -> str:
    """``"ketorolac 30 mg"``; with ``volume`` (a number formatter), ``"... 1 ml"`` too."""
    text = " ".join(filter(None, (drug["name"], drug.get("dose"))))
    if volume is not None and drug.get("volume_ml") is not None:
        text += f" {volume(drug['volume_ml'])} ml"
    return text


def drugs_text(drugs: Iterable[Drug], *, volume: Callable[[float], str] | None = None) -> str:
    """Every drug of a session, ``"; "``-separated."""
    return "; ".join(drug_text(drug, volume=volume) for drug in drugs)


def regimens(sessions: Iterable[Mapping[str, Any]]) -> list[tuple[str, list[int]]]:
    """The distinct drug regimens of a course (names and doses) with their session numbers."""
    found: dict[str, list[int]] = {}
    for session in sessions:
        found.setdefault(drugs_text(session["drugs"]), []).append(session["number"])
    return [(text, numbers) for text, numbers in found.items() if text]


def date_problem(
    day: date,
    *,
    today: date,
    course_start: date,
    other_days: Collection[date],
    same_day_confirmed: bool,
) -> str | None:
    """Why a session cannot be recorded on ``day`` (a translated sentence), or None."""
    if day > today:
        return _("The date cannot be in the future.")
    if day < course_start:
        return _(
            "The date cannot be before the course started (%(date)s).",
            date=format_day(course_start),
        )
    if day in other_days and not same_day_confirmed:
        return _(
            "A session is already recorded on %(date)s. Tick the box below to record "
            "another one on the same day.",
            date=format_day(day),
        )
    return None
