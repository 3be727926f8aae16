"""The clinician workspace (signed-in clinicians, scoped to their own clinic)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from .db import get_db
from .forms import SearchForm, SignOutForm
from .queries import accounts, patients
from .security import access, current_user

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
    )


@bp.route("/team")
@access("admin")
def team():
    """The clinic's clinicians (clinic admins only)."""
    user = current_user()
    return render_template(
        "clinic/team.html", clinicians=accounts.list_clinicians(get_db(), user.clinic_id)
    )
