"""The patient's home: consent state, today's diary, the trend since baseline, next session."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from .. import charts, clock, entry_rules, exports, outcomes, patient_report, report
from ..db import get_db, transaction
from ..forms import ActionForm
from ..i18n import format_day, format_number
from ..queries import accounts, audit, consents, patients
from ..ratelimit import limiter, setting
from ..security import access, current_user, queue_id
from ..sheet import SHEET_VERSION
from .download import send_download

bp = Blueprint("patient", __name__)


def diary_summary(
    figures: report.CourseFigures, course: dict[str, Any], clinic: dict[str, Any], today: date
) -> dict[str, Any]:
    """Everything the home screen shows about the diary: the same figures as the
    clinician's course page and the PDF (:func:`diary.report.course_figures`)."""
    rows, sessions, result = figures.diary, figures.sessions, figures.result
    base = result.baseline
    text = summary_sentence(result, sessions[0]["date"] if sessions else None)
    chart = (
        charts.trend_svg(
            rows,
            sessions,
            outcomes.chart_start(course["start_date"], rows, sessions),
            today,
            charts.ChartText(_("Your daily pain since the start"), text),
            baseline=base,
            frame=charts.PHONE,
        )
        if rows
        else None
    )
    next_session = None
    if sessions:
        expected = sessions[-1]["date"] + timedelta(days=clinic["session_interval_days"])
        next_session = expected if expected >= today else None
    return {
        "summary": text,
        "chart": chart,
        "days_filled": days_filled(
            rows, outcomes.chart_start(course["start_date"], rows, sessions), today
        ),
        "next_session": next_session,
        "has_sessions": bool(sessions),
        "has_baseline": base is not None,
    }


def summary_sentence(result: outcomes.CourseOutcome, first_session: date | None) -> str:
    """How the pain went, as a person would say it. A change is told only once there is a
    measurement after the start: on the first session's day (or before any session, when
    the start is the diary's own last days) there is nothing to compare yet, so "from 6 to
    6" is never said."""
    base, now, on = result.baseline, result.current, result.current_date
    if base is not None and now is not None and first_session and on and on > first_session:
        return _(
            "Your pain went from %(start)s at the start to %(now)s on %(date)s.",
            start=format_number(base),
            now=format_number(now),
            date=format_day(on, "long"),
        )
    if base is not None and first_session is not None:
        return _("Your pain at the start: %(start)s.", start=format_number(base))
    if now is not None:
        return _(
            "Your latest pain rating: %(now)s on %(date)s.",
            now=format_number(now),
            date=format_day(on, "long"),
        )
    return _("No pain ratings yet.")


def days_filled(rows: list[dict[str, Any]], first_day: date, today: date) -> str:
    """The diary days filled in over the last 7 days, or since the diary's first day (the
    course start, or an earlier entry or session) when that was less than a week ago
    (today counts once it is filled in, as everywhere)."""
    since = max(first_day, today - timedelta(days=6))
    filled = outcomes.completeness(rows, since, today, today)
    if since > today - timedelta(days=6):  # the diary is less than a week old
        if filled.days == 0:
            return _("Your diary starts today.")
        return ngettext(
            "Since your diary started: %(filled)d of %(num)d day filled in.",
            "Since your diary started: %(filled)d of %(num)d days filled in.",
            filled.days,
            filled=filled.recorded,
        )
    return ngettext(
        "Last 7 days: %(num)d day filled in out of 7.",
        "Last 7 days: %(num)d days filled in out of 7.",
        filled.recorded,
    )


@bp.route("/me/export.json")
@access("patient")
@limiter.shared_limit(setting("EXPORT"), scope="export")
def export_json():
    """Everything stored about me, as JSON."""
    data = exports.patient_data(get_db(), current_user().id)
    return send_download(
        json.dumps(data, ensure_ascii=False, indent=2), "application/json", "my-pain-diary.json"
    )


@bp.route("/me/export.csv")
@access("patient")
@limiter.shared_limit(setting("EXPORT"), scope="export")
def export_csv():
    """Everything stored about me, as CSV (column names in my language)."""
    data = exports.patient_data(get_db(), current_user().id)
    return send_download(exports.patient_csv(data), "text/csv", "my-pain-diary.csv")


@bp.route("/me/summary.pdf")
@access("patient")
@limiter.shared_limit(setting("PDF"), scope="pdf")
def summary_pdf():
    """My one-page summary to show a doctor, in my language; named by date only (a phone's
    Downloads folder is not private), audited like every download."""
    user = current_user()
    db = get_db()
    body = patient_report.render_summary(db, user.id, str(get_locale()))
    if body is None:
        abort(404)
    course = patients.current_course(db, user.id)
    name = f"pain-diary-summary-{clock.today(user.timezone).isoformat()}.pdf"
    response = send_download(body, "application/pdf", name)
    audit.record(
        db, "report.patient_downloaded", actor="patient", actor_id=user.id,
        clinic_id=user.clinic_id, patient_id=user.id, course_id=course["id"],
    )  # fmt: skip
    return response


@bp.route("/home")
@access("patient")
def home():
    """The patient's home: what to do today, how it is going, and the clinic's contact."""
    user = current_user()
    db = get_db()
    course = patients.current_course(db, user.id)
    clinic = accounts.get_clinic(db, user.clinic_id)
    latest = consents.latest(db, course["id"]) if course else None
    state = consents.state(latest, SHEET_VERSION)
    today = clock.today(user.timezone)
    context: dict[str, Any] = {}
    if course:
        figures = report.course_figures(db, course, today)
        by_day = {r["day"]: r for r in figures.diary}
        yesterday = today - timedelta(days=1)
        context = diary_summary(figures, course, clinic, today)
        context.update(
            today_entry=by_day.get(today),
            yesterday=yesterday.isoformat(),
            yesterday_day=yesterday,
            yesterday_entry=by_day.get(yesterday),
            diary_closed=not entry_rules.diary_open(today, course["end_date"]),
            yesterday_open=entry_rules.diary_open(yesterday, course["end_date"])
            and entry_rules.can_change(yesterday, today, by_day.get(yesterday)),
        )
    return render_template(
        "patient/home.html",
        clinic=clinic,
        course=course,
        consent=latest,
        consent_state=state,
        today=today,
        saved=request.args.get("saved"),
        format_day=format_day,
        queue_id=queue_id(user.id),
        **context,
    )


@bp.route("/me/phones")
@access("patient")
def phones():
    """The phones (browsers) signed in to my diary, this one first marked; sign others out."""
    user = current_user()
    devices = sorted(
        accounts.open_patient_sessions(get_db(), user.id), key=lambda d: d["id"] != user.session_id
    )  # this phone first, then the others by last use
    return render_template(
        "patient/phones.html", devices=devices, current=user.session_id, form=ActionForm()
    )


@bp.route("/me/phones/<int:phone_id>/signout", methods=["POST"])
@access("patient")
def sign_out_phone(phone_id: int):
    """Sign out one other phone (only one of mine; this phone signs out from its home)."""
    return _sign_out_phones(only=phone_id)


@bp.route("/me/phones/signout-others", methods=["POST"])
@access("patient")
def sign_out_other_phones():
    """Sign out every phone but this one."""
    return _sign_out_phones()


def _sign_out_phones(only: int | None = None):
    user = current_user()
    if not ActionForm().validate_on_submit() or only == user.session_id:
        abort(400)
    db = get_db()
    with transaction(db):  # the sign-outs and their audit event, or neither
        ended = accounts.end_patient_sessions(db, user.id, only=only, keep=user.session_id)
        if only is not None and not ended:
            abort(404)
        audit.record(
            db, "signout.other_phones", actor="patient", actor_id=user.id,
            clinic_id=user.clinic_id, patient_id=user.id, count=ended,
        )  # fmt: skip
    flash(
        ngettext("%(num)d phone was signed out.", "%(num)d phones were signed out.", ended), "info"
    )
    return redirect(url_for(".phones"))
