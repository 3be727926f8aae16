"""The clinician workspace (signed-in clinicians, scoped to their own clinic)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from . import sheet
from .consent import pdf_response

from .db import get_db
from .forms import SearchForm, SignOutForm
from .queries import accounts, audit, consents, patients
from .security import access, current_user, same_clinic_or_404

bp = Blueprint("clinic", __name__, url_prefix="/clinic")


@bp.context_processor
def workspace_context() -> dict:
    """The clinic and the sign-out form, shown on every workspace page."""
    user = current_user()
    if user is None or user.kind != "clinician":
        return {}
    return {"clinic": accounts.get_clinic(get_db(), user.clinic_id), "signout_form": SignOutForm()}


@bp.route("/")
@access("clinician")
def patients_list():
    """The clinic's patients and their latest course, searchable by code."""
    user = current_user()
    db = get_db()
    form = SearchForm(request.args)
    search = form.q.data.strip() if form.validate() and form.q.data else ""
    return render_template(
        "clinic/patients.html",
        form=form,
        search=search,
        rows=patients.list_patients(db, user.clinic_id, search),
        current_version=sheet.SHEET_VERSION,
    )


@bp.route("/team")
@access("admin")
def team():
    """The clinic's clinicians (clinic admins only)."""
    user = current_user()
    return render_template(
        "clinic/team.html", clinicians=accounts.list_clinicians(get_db(), user.clinic_id)
    )


@bp.route("/courses/<int:course_id>")
@access("clinician")
def course(course_id: int):
    """One course: consent history, screening answers and comprehension-check attempts."""
    db = get_db()
    row = same_clinic_or_404(patients.get_course(db, course_id))
    history = consents.history(db, course_id)
    return render_template(
        "clinic/course.html",
        course=row,
        consents=history,
        consent_state=consents.state(history[-1] if history else None, sheet.SHEET_VERSION),
        current_version=sheet.SHEET_VERSION,
        screening=consents.latest_screening(db, course_id),
        questions=sheet.SCREENING,
        answers=sheet.SCREENING_ANSWERS,
        attempts=consents.quiz_attempts(db, course_id),
    )


@bp.route("/consents/<int:consent_id>.pdf")
@access("clinician")
def consent_pdf(consent_id: int):
    """The same PDF copy the patient gets, for the chart."""
    db = get_db()
    record = same_clinic_or_404(consents.get(db, consent_id))
    user = current_user()
    audit.record(db, "consent.pdf_opened", actor="clinician", actor_id=user.id,
                 clinic_id=user.clinic_id, patient_id=record["patient_id"],
                 course_id=record["course_id"], consent_id=consent_id)
    return pdf_response(record, accounts.get_clinic(db, user.clinic_id))
