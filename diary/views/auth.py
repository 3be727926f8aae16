"""Signing in and out: clinicians by email and password, patients by personal link."""

from __future__ import annotations

import math
from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext

from .. import clock, devices
from ..db import get_db
from ..forms import ActionForm, LoginForm
from ..logs import event
from ..queries import accounts, audit, patients
from ..ratelimit import address_key, limiter, setting
from ..security import (
    User,
    access,
    clear_session_keep_locale,
    client_address,
    current_user,
    hash_password,
    is_safe_next,
    password_needs_rehash,
    token_hash,
    verify_password,
)

bp = Blueprint("auth", __name__)

#: seconds between writes of ``last_seen_at`` (the idle clock is this precise)
TOUCH_EVERY = 60


@bp.before_app_request
def load_user() -> None:
    """Find who is signed in from the cookie's session id; refuse ended or expired ones."""
    g.user = None
    if request.endpoint == "static":  # not even a look at the cookie: no "Vary: Cookie"
        return
    sid = session.get("sid")
    if not sid:
        return
    db = get_db()
    row = accounts.load_session(db, sid)
    now = clock.now()
    if row is None or not _still_valid(row, now):
        if row is not None and row["ended_at"] is None:
            accounts.end_session(db, row["session_id"])
            if row["clinician_id"]:
                flash(_("Your session has ended. Please sign in again."), "info")
        session.pop("sid", None)
        return
    if (now - clock.parse(row["last_seen_at"])).total_seconds() > TOUCH_EVERY:
        accounts.touch_session(db, row["session_id"], now)
    if row["clinician_id"]:
        g.user = User(
            "clinician",
            row["clinician_id"],
            row["c_clinic_id"],
            row["c_locale"],
            bool(row["is_admin"]),
            row["session_id"],
            row["c_name"],
            row["timezone"],
        )
    else:
        g.user = User(
            "patient",
            row["patient_id"],
            row["p_clinic_id"],
            row["p_locale"],
            False,
            row["session_id"],
            "",
            row["timezone"],
        )


def _still_valid(row: dict, now) -> bool:
    """Open, within its absolute lifetime, not idle too long, its account still usable."""
    if row["ended_at"] is not None or clock.parse(row["expires_at"]) <= now:
        return False
    if row["clinician_id"]:
        idle = timedelta(minutes=current_app.config["IDLE_MINUTES"])
        return bool(row["active"]) and now - clock.parse(row["last_seen_at"]) <= idle
    return row["token_revoked_at"] is None


@bp.before_app_request
def remember_language() -> None:
    """A ``?lang=`` link shows the page in that language and sticks to this device; only
    the switcher's POST (:func:`diary.views.pages.language`) saves it on the account."""
    lang = request.args.get("lang")
    if lang and lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang


def _throttle_wait(db, account_key: str, address: str) -> int:
    """Seconds until another attempt is allowed for this account or address (0: now)."""
    cfg = current_app.config
    window = timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"])
    now = clock.now()
    wait = 0.0
    for scope, key, limit in (
        ("account", account_key, cfg["LOGIN_MAX_PER_ACCOUNT"]),
        ("address", address, cfg["LOGIN_MAX_PER_ADDRESS"]),
    ):
        count, oldest = accounts.count_failures(db, scope, key, now - window)
        if count >= limit and oldest:
            wait = max(wait, (clock.parse(oldest) + window - now).total_seconds())
    return math.ceil(wait)


@bp.route("/login", methods=["GET", "POST"])
@access("anonymous")
@limiter.shared_limit(setting("SIGNIN"), scope="signin", key_func=address_key, methods=["POST"])
def login():
    """Clinician sign-in, throttled per account and per client address."""
    form = LoginForm()
    if form.validate_on_submit():
        db = get_db()
        email = form.email.data.strip().lower()
        account_key = token_hash("email:" + email)
        address = client_address()
        wait = _throttle_wait(db, account_key, address)
        if wait:
            minutes = max(1, math.ceil(wait / 60))
            audit.record(db, "signin.throttled", actor="system")
            event(current_app, "signin.throttled", wait_seconds=wait)
            message = ngettext(
                "Too many failed sign-in attempts. Please wait %(num)d minute and try again.",
                "Too many failed sign-in attempts. Please wait %(num)d minutes and try again.",
                minutes,
            )
            return (
                render_template("auth/login.html", form=form, error=message),
                429,
                {"Retry-After": str(wait)},
            )
        clinician = accounts.get_clinician_by_email(db, email)
        stored = clinician["password_hash"] if clinician else None
        if verify_password(stored, form.password.data) and clinician["active"]:
            accounts.clear_failures(db, account_key)
            if password_needs_rehash(stored):
                accounts.set_clinician_password(
                    db, clinician["id"], hash_password(form.password.data)
                )
            _sign_in(
                db,
                "clinician",
                clinician["id"],
                clinician["clinic_id"],
                saved_locale=clinician["locale"],
                lifetime=timedelta(hours=current_app.config["ABSOLUTE_HOURS"]),
            )
            target = request.args.get("next")
            return redirect(target if is_safe_next(target) else url_for("clinic.dashboard"))
        accounts.record_failure(
            db,
            account_key,
            address,
            prune_before=clock.now()
            - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"]),
        )
        audit.record(
            db, "signin.failed", actor="system", actor_id=clinician["id"] if clinician else None
        )
        event(current_app, "signin.failed", known_account=clinician is not None)
        form.password.errors.append(_("The email address or password is not right."))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@access("anonymous")
def logout():
    """End the session on the server (a replayed cookie is refused) and clear the cookie."""
    if ActionForm().validate_on_submit():
        user = current_user()
        if user is not None:
            db = get_db()
            accounts.end_session(db, user.session_id)
            audit.record(db, "signout", actor=user.kind, actor_id=user.id, clinic_id=user.clinic_id)
            event(current_app, "signout", user=f"{user.kind}:{user.id}")
        clear_session_keep_locale()
        flash(_("You have signed out."), "info")
    return redirect(url_for("pages.index"))


@bp.route("/p/<token>", methods=["GET", "POST"])
@access("anonymous")
@limiter.shared_limit(setting("SIGNIN"), scope="signin", key_func=address_key)
def patient_link(token: str):
    """A patient's personal link: GET shows "Continue"; the POST signs this device in."""
    db = get_db()
    days = current_app.config["LINK_UNUSED_DAYS"]
    link = patients.find_link(db, token, days) if len(token) <= 128 else None
    if link is None or link["expired"]:
        expired = link is not None
        if expired:
            event(current_app, "link.expired", patient=link["patient_id"])
        return render_template("auth/link_invalid.html", expired=expired, days=days), 404
    g.link_locale = link["locale"]
    form = ActionForm()
    if form.validate_on_submit():
        _sign_in(
            db,
            "patient",
            link["patient_id"],
            link["clinic_id"],
            saved_locale=link["locale"],
            lifetime=timedelta(days=current_app.config["PATIENT_SESSION_DAYS"]),
            token_id=link["id"],
        )
        patients.mark_link_used(db, link["id"])
        return redirect(url_for("patient.home"))
    return render_template("auth/continue.html", form=form)


def _sign_in(
    db,
    kind: str,
    user_id: int,
    clinic_id: int,
    *,
    saved_locale: str | None,
    lifetime: timedelta,
    token_id: int | None = None,
) -> None:
    """Sign this device in as a clinician or a patient: a new cookie session (fresh CSRF
    token, no old state) holding a new server-side session; the language chosen before
    signing in is saved to the account; audited and logged. Patients' phones stay signed
    in across browser restarts, clinicians' sessions end with the browser."""
    lang = session.get("lang")
    clear_session_keep_locale()
    session.permanent = kind == "patient"
    session["sid"] = accounts.start_session(
        db,
        lifetime,
        token_id=token_id,
        device=devices.describe(request.user_agent.string),
        **{f"{kind}_id": user_id},
    )
    if lang and lang != saved_locale:
        setter = (
            accounts.set_clinician_locale if kind == "clinician" else patients.set_patient_locale
        )
        setter(db, user_id, lang)
    audit.record(
        db,
        "signin",
        actor=kind,
        actor_id=user_id,
        clinic_id=clinic_id,
        patient_id=user_id if kind == "patient" else None,
    )
    event(current_app, "signin", user=f"{kind}:{user_id}")
