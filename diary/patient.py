"""The patient's own pages (signed-in patient device)."""

from __future__ import annotations

from flask import Blueprint, render_template

from .db import get_db
from .forms import SignOutForm
from .queries import accounts, consents, patients
from .sheet import SHEET_VERSION
from .security import access, current_user

bp = Blueprint("patient", __name__)


@bp.route("/home")
@access("patient")
def home():
    """The patient's home: their clinic, their course, and how to reach the clinic."""
    user = current_user()
    db = get_db()
    course = patients.current_course(db, user.id)
    latest = consents.latest(db, course["id"]) if course else None
    return render_template(
        "patient/home.html",
        clinic=accounts.get_clinic(db, user.clinic_id),
        course=course,
        consent=latest,
        consent_state=consents.state(latest, SHEET_VERSION),
        signout_form=SignOutForm(),
    )
