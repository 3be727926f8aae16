"""Clinic administration (clinic admins): settings and team (adding members with a one-time
password, resetting a member's two-step sign-in). Plus every clinician's own account page
(password change, two-step sign-in)."""

from __future__ import annotations

from datetime import time

from babel.dates import format_time
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from .. import clock, digest, mfa
from ..db import get_db
from ..forms import ActionForm, ClinicianForm, ClinicSettingsForm, DigestForm, PasswordForm
from ..i18n import LANGUAGES
from ..queries import accounts, digests
from ..queries import mfa as factors
from ..security import (
    access,
    clear_session_keep_locale,
    current_user,
    hash_password,
    new_token,
    same_clinic_or_404,
    verify_password,
)
from .auth import personal_words

bp = Blueprint("admin", __name__, url_prefix="/clinic")


@bp.route("/settings", methods=["GET", "POST"])
@access("admin")
def settings():
    """The clinic's name, contact, language, time zone, schedule, paper and drugs."""
    user = current_user()
    db = get_db()
    clinic = accounts.get_clinic(db, user.clinic_id)
    form = ClinicSettingsForm()
    # the canonical zones, and the clinic's own if it was stored under an older name
    zones = clock.timezones()
    extra = () if clinic["timezone"] in zones else (clinic["timezone"],)
    form.timezone.choices = [SelectChoice(tz, tz) for tz in (*extra, *zones)]
    if request.method == "GET":
        for name in accounts.CLINIC_SETTINGS:
            if name != "drug_names":
                form[name].data = clinic[name]
        form.drugs.data = "\n".join(clinic["drugs"])
        for drug in clinic["drugs"]:
            form.drug_names.append_entry({"drug": drug, **clinic["drug_names"].get(drug, {})})
    if form.validate_on_submit():
        drugs = [line.strip() for line in (form.drugs.data or "").splitlines() if line.strip()]
        changed = accounts.update_clinic(
            db,
            user.clinic_id,
            {
                "name": form.name.data.strip(),
                "phone": (form.phone.data or "").strip(),
                "locale": form.locale.data,
                "timezone": form.timezone.data,
                "session_interval_days": form.session_interval_days.data,
                "paper_size": form.paper_size.data,
                "drugs": drugs,
                "drug_names": _drug_names(form, drugs),
                "needle": (form.needle.data or "").strip(),
                "retention_days": form.retention_days.data,
                "no_entry_days": form.no_entry_days.data,
            },
            clinician_id=user.id,
        )
        flash(_("The settings are saved.") if changed else _("Nothing was changed."), "info")
        return redirect(url_for(".settings"))
    return render_template(
        "clinic/settings.html", form=form, languages=[c for c in LANGUAGES if c != "en"]
    )


def _drug_names(form: ClinicSettingsForm, drugs: list[str]) -> dict[str, dict[str, str]]:
    """The names typed for each drug still in the list, without the empty ones."""
    names: dict[str, dict[str, str]] = {}
    for row in form.drug_names:
        drug = row.form.drug.data
        typed = {
            code: row.form[code].data.strip()
            for code in LANGUAGES
            if code != "en" and (row.form[code].data or "").strip()
        }
        if drug in drugs and typed:
            names[drug] = typed
    return names


@bp.route("/team", methods=["GET", "POST"])
@access("admin")
def team():
    """The clinic's clinicians; an admin adds and deactivates them."""
    user = current_user()
    db = get_db()
    form = ClinicianForm()
    new_password = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        if accounts.get_clinician_by_email(db, email):
            form.email.errors.append(_("Someone already uses this email address."))
        else:
            new_password = new_token()[:16]
            password_hash = hash_password(new_password)  # slow: before taking the write lock
            accounts.create_clinician(
                db,
                user.clinic_id,
                email,
                form.name.data.strip(),
                password_hash,
                is_admin=form.is_admin.data,
                must_change_password=True,
                actor="clinician",
                actor_id=user.id,
            )
            form = ClinicianForm(formdata=None)
    return render_template(
        "clinic/team.html",
        form=form,
        new_password=new_password,
        clinicians=accounts.list_clinicians(db, user.clinic_id),
        enrolled=factors.enrolled_ids(db, user.clinic_id),
        action_form=ActionForm(),
    )


@bp.route("/team/<int:clinician_id>/two-step-reset", methods=["POST"])
@access("admin")
def reset_two_step(clinician_id: int):
    """A team member lost their phone and recovery codes: remove their authenticator app,
    recovery codes and passkeys and end their sessions (never one's own: a clinician
    signed in with it can set up a new app from "My account")."""
    user = current_user()
    db = get_db()
    other = same_clinic_or_404(accounts.get_clinician(db, clinician_id))
    if not ActionForm().validate_on_submit() or other["id"] == user.id:
        abort(400)
    factors.reset(db, other, actor="clinician", actor_id=user.id)
    flash(
        _(
            "%(name)s's two-step sign-in is removed. They set it up again at their next sign-in.",
            name=other["name"],
        ),
        "info",
    )
    return redirect(url_for(".team"))


@bp.route("/team/<int:clinician_id>/active", methods=["POST"])
@access("admin")
def set_active(clinician_id: int):
    """Deactivate or reactivate a team member (never yourself or the last admin)."""
    user = current_user()
    db = get_db()
    other = same_clinic_or_404(accounts.get_clinician(db, clinician_id))
    if not ActionForm().validate_on_submit():
        abort(400)
    activate = not other["active"]
    if other["id"] == user.id:
        flash(_("You cannot deactivate yourself."), "warning")
    elif (
        not activate and other["is_admin"] and accounts.count_active_admins(db, user.clinic_id) <= 1
    ):
        flash(_("The clinic needs at least one active admin."), "warning")
    else:
        accounts.set_clinician_active(db, other, activate, by=user.id)
        flash(
            _("%(name)s can sign in again.", name=other["name"])
            if activate
            else _("%(name)s can no longer sign in.", name=other["name"]),
            "info",
        )
    return redirect(url_for(".team"))


@bp.route("/account", methods=["GET", "POST"])
@access("clinician")
def account():
    """Change one's own password (every session of the account ends); two-step sign-in:
    the authenticator app, recovery codes and passkeys."""
    user = current_user()
    db = get_db()
    form = PasswordForm()
    form.personal_words = personal_words(accounts.get_clinician(db, user.id))
    if form.validate_on_submit():
        clinician = accounts.get_clinician(db, user.id)
        if not verify_password(clinician["password_hash"], form.current.data):
            form.current.errors.append(_("This is not your current password."))
        else:
            password_hash = hash_password(form.new.data)  # slow: before taking the write lock
            accounts.change_own_password(db, user.id, user.clinic_id, password_hash)
            clear_session_keep_locale()
            flash(_("Your password is changed. Please sign in with the new one."), "info")
            return redirect(url_for("auth.login"))
    rp = mfa.relying_party(current_app.config["BASE_URL"])
    return render_template(
        "clinic/account.html",
        form=form,
        factors=factors.summary(db, user.id),
        passkeys=factors.passkeys(db, user.id),
        passkeys_possible=rp is not None,
        required=mfa.required(user.is_admin, current_app.config["REQUIRE_MFA"]),
        action_form=ActionForm(),
        **_digest_context(accounts.get_clinician(db, user.id)),
    )


def _digest_context(clinician: dict) -> dict:
    """The account page's "Daily summary by email" box (templates/clinic/_digest.html)."""
    hour = time(current_app.config["DIGEST_HOUR"])
    return {
        "digest_form": DigestForm(digest=clinician["digest"], formdata=None),
        "digest_available": digest.enabled(current_app.config),
        "digest_hour": format_time(hour, "short", locale=get_locale()),
        "digest_email": clinician["email"],
    }


@bp.route("/account/digest", methods=["POST"])
@access("clinician")
def digest_choice():
    """Turn one's own daily email digest on or off."""
    form = DigestForm()
    if not form.validate_on_submit():
        abort(400)
    user = current_user()
    digests.set_choice(get_db(), user.id, user.clinic_id, bool(form.digest.data))
    if form.digest.data:
        flash(_("The daily summary by email is on."), "info")
    else:
        flash(_("The daily summary by email is off."), "info")
    return redirect(url_for(".account"))
