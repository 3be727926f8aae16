"""Signing in and out: clinicians by email, password and the steps due after it (a second
factor, a new password, setting up two-step sign-in: see :mod:`diary.mfa`), patients by
personal link."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    options_to_json,
    verify_authentication_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

from .. import assets, clock, devices, mfa
from ..db import get_db
from ..forms import ActionForm, LoginForm, NewPasswordForm, SecondFactorForm
from ..logs import event
from ..queries import accounts, audit, patients
from ..queries import mfa as factors
from ..ratelimit import address_key, limiter, setting
from ..security import (
    CACHEABLE_ENDPOINTS,
    STEP_ENDPOINTS,
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
    """Find who is signed in from the cookie's session id; refuse ended or expired ones.
    For a clinician, also the step of signing in still due (``User.pending``)."""
    g.user = None
    if request.endpoint in CACHEABLE_ENDPOINTS:
        # the same for whoever asks (static files, the manifest in the language its URL
        # names): not even a look at the cookie, so no "Vary: Cookie" on a public response
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
            mfa.step_due(
                is_admin=bool(row["is_admin"]),
                setting=current_app.config["REQUIRE_MFA"],
                enrolled=bool(row["has_totp"]),
                verified=row["mfa_at"] is not None,
                must_change_password=bool(row["must_change_password"]),
            ),
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
    the switcher's POST (:func:`diary.views.pages.language`) saves it on the account.
    A cacheable response (the manifest's ``?lang=`` picks its own language) changes
    nothing: a response that any cache may keep must not set a cookie."""
    lang = request.args.get("lang")
    if request.endpoint in CACHEABLE_ENDPOINTS:
        return
    if lang and lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang


# --- throttling: checked and counted before a password is checked ------------------------


def _reserve(db, account_key: str, address: str, *, account: bool = True) -> accounts.Attempt:
    """Count this attempt against the account and the address, unless a limit is reached
    (``account=False``: only the address's limit applies)."""
    cfg = current_app.config
    limits = {"address": (address, cfg["LOGIN_MAX_PER_ADDRESS"])}
    if account:
        limits["account"] = (account_key, cfg["LOGIN_MAX_PER_ACCOUNT"])
    return accounts.reserve_attempt(
        db,
        limits,
        {"account": account_key, "address": address},
        timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"]),
    )


def _account_key(email: str) -> str:
    return token_hash("email:" + email.strip().lower())


def _throttled(db, form: LoginForm, wait: int, *, offer_code: bool):
    """429 with the time to wait; ``offer_code``: the account (not the address) is the one
    throttled, so the right password with a second factor still signs in."""
    minutes = max(1, math.ceil(wait / 60))
    audit.record(db, "signin.throttled", actor="system")
    event(current_app, "signin.throttled", wait_seconds=wait)
    message = ngettext(
        "Too many failed sign-in attempts. Please wait %(num)d minute and try again.",
        "Too many failed sign-in attempts. Please wait %(num)d minutes and try again.",
        minutes,
    )
    form.code.data = ""
    return (
        render_template("auth/login.html", form=form, error=message, offer_code=offer_code),
        429,
        {"Retry-After": str(wait)},
    )


# --- second-factor codes ----------------------------------------------------------------


@dataclass(frozen=True)
class CodeMatch:
    """A code that fits: a TOTP step of the app, or a recovery code (by its hash)."""

    method: str  # "totp" or "recovery"
    step: int | None = None
    code_hash: str | None = None


def _code_match(db, clinician: dict[str, Any], code: str) -> CodeMatch | None:
    """Which second factor ``code`` is, without spending it; None when it fits none."""
    key = factors.totp_key(db, clinician["id"])
    if key is None:
        return None
    digits = "".join(code.split())
    if digits.isdigit() and len(digits) == mfa.DIGITS:
        secret = mfa.decrypt_secret(
            current_app.config["SECRET_KEY"], clinician["id"], key["secret"]
        )
        if secret is None:
            return None
        step = mfa.matching_step(secret, digits, clock.now(), key["last_step"])
        return None if step is None else CodeMatch("totp", step=step)
    code_hash = mfa.recovery_hash(clinician["id"], code)
    if code_hash and factors.has_recovery_code(db, clinician["id"], code_hash):
        return CodeMatch("recovery", code_hash=code_hash)
    return None


def _spend(db, clinician: dict[str, Any], match: CodeMatch) -> bool:
    """Use the code up (a TOTP step or a recovery code counts once); audited."""
    if match.method == "totp":
        if not factors.use_totp_step(db, clinician["id"], match.step):
            return False
        factors.audit_event(db, "mfa.used", clinician, method="totp")
    else:
        if not factors.use_recovery_code(db, clinician["id"], match.code_hash):
            return False
        left = factors.recovery_codes_left(db, clinician["id"])
        factors.audit_event(db, "mfa.recovery_used", clinician, left=left)
        if left <= 2:
            flash(
                ngettext(
                    "You have %(num)d recovery code left. Make new ones under “My account”.",
                    "You have %(num)d recovery codes left. Make new ones under “My account”.",
                    left,
                ),
                "warning",
            )
    event(current_app, "mfa.used", user=f"clinician:{clinician['id']}", method=match.method)
    return True


def _mfa_failed(db, clinician: dict[str, Any], method: str) -> None:
    factors.audit_event(db, "mfa.failed", clinician, method=method)
    event(current_app, "mfa.failed", user=f"clinician:{clinician['id']}", method=method)


# --- the steps of a clinician's sign-in ----------------------------------------------------


def step_for(db, clinician: dict[str, Any], *, verified: bool) -> str | None:
    """The step still due for a clinician whose password was right (:func:`mfa.step_due`)."""
    return mfa.step_due(
        is_admin=bool(clinician["is_admin"]),
        setting=current_app.config["REQUIRE_MFA"],
        enrolled=factors.totp_key(db, clinician["id"]) is not None,
        verified=verified,
        must_change_password=bool(clinician["must_change_password"]),
    )


def step_url(step: str | None) -> str:
    """Where to go next: the page of the step due, else the page asked for at sign-in."""
    if step:
        return url_for(STEP_ENDPOINTS[step])
    return session.pop("next", None) or url_for("clinic.dashboard")


def start_clinician_session(
    db, clinician: dict[str, Any], *, verified: bool, next_url: str | None, first: bool = False
) -> str:
    """A new session for the clinician (the one this browser held ends); short while a step
    is due. Returns the address of the next step, or of the page asked for."""
    step = step_for(db, clinician, verified=verified)
    lifetime = (
        timedelta(minutes=mfa.PENDING_MINUTES)
        if step
        else timedelta(hours=current_app.config["ABSOLUTE_HOURS"])
    )
    _sign_in(
        db,
        "clinician",
        clinician["id"],
        clinician["clinic_id"],
        saved_locale=clinician["locale"],
        lifetime=lifetime,
        mfa_at=clock.iso() if verified else None,
        next_url=next_url,
        first=first,
    )
    return step_url(step)


@bp.route("/login", methods=["GET", "POST"])
@access("anonymous")
@limiter.shared_limit(setting("SIGNIN"), scope="signin", key_func=address_key, methods=["POST"])
def login():
    """Clinician sign-in, throttled per account and per client address.

    Each attempt is checked against the limits and counted in one write transaction before
    its password is checked, so parallel attempts cannot exceed the limit; a right password
    un-counts it. While only the account is throttled (someone else guessing), the right
    password with a right second-factor code still signs in: the code is checked first,
    so wrong passwords are not checked at all."""
    form = LoginForm()
    if form.validate_on_submit():
        db = get_db()
        email = form.email.data.strip().lower()
        account_key = _account_key(email)
        address = client_address()
        attempt = _reserve(db, account_key, address)
        if attempt.wait:
            account_only = attempt.blocked == {"account"}
            if account_only and (form.code.data or "").strip():
                return _throttled_with_code(db, form, email, account_key, address, attempt.wait)
            return _throttled(db, form, attempt.wait, offer_code=account_only)
        clinician = accounts.get_clinician_by_email(db, email)
        stored = clinician["password_hash"] if clinician else None
        if verify_password(stored, form.password.data) and clinician["active"]:
            accounts.release_attempt(db, attempt)
            if password_needs_rehash(stored):
                accounts.set_clinician_password(
                    db, clinician["id"], hash_password(form.password.data), chosen=False
                )
                clinician = accounts.get_clinician(db, clinician["id"])
            target = request.args.get("next")
            if step_for(db, clinician, verified=False) != "verify":
                accounts.clear_failures(db, account_key)  # else: once the second step passes
            return redirect(
                start_clinician_session(
                    db,
                    clinician,
                    verified=False,
                    next_url=target if is_safe_next(target) else None,
                    first=True,
                )
            )
        audit.record(
            db, "signin.failed", actor="system", actor_id=clinician["id"] if clinician else None
        )
        event(current_app, "signin.failed", known_account=clinician is not None)
        form.password.errors.append(_("The email address or password is not right."))
    return render_template("auth/login.html", form=form)


def _throttled_with_code(
    db, form: LoginForm, email: str, account_key: str, address: str, wait: int
):
    """A throttled account's sign-in with password and code together: the code first (a
    wrong one spends no password check), then the password. Counted against the address
    (whose limit still holds) and the account; the answer is the same whichever was wrong."""
    attempt = _reserve(db, account_key, address, account=False)
    if attempt.wait:
        return _throttled(db, form, attempt.wait, offer_code=False)
    clinician = accounts.get_clinician_by_email(db, email)
    usable = clinician is not None and clinician["active"]
    match = _code_match(db, clinician, form.code.data) if usable else None
    if match is None:
        if usable:
            _mfa_failed(db, clinician, "code")
    elif verify_password(clinician["password_hash"], form.password.data):
        if _spend(db, clinician, match):
            accounts.release_attempt(db, attempt)
            accounts.clear_failures(db, account_key)
            target = request.args.get("next")
            return redirect(
                start_clinician_session(
                    db,
                    clinician,
                    verified=True,
                    next_url=target if is_safe_next(target) else None,
                    first=True,
                )
            )
    else:
        audit.record(db, "signin.failed", actor="system", actor_id=clinician["id"])
    return _throttled(db, form, wait, offer_code=True)


def _second_step_passed(db, clinician: dict[str, Any]) -> str:
    """The second factor is right: forget the account's failures, start a new session that
    has passed it; return where to go next."""
    accounts.clear_failures(db, _account_key(clinician["email"]))
    return start_clinician_session(db, clinician, verified=True, next_url=session.get("next"))


def _step_guard(expected: str) -> User:
    """The signed-in clinician, or a redirect to the step actually due (or the workspace)."""
    user = current_user()
    if user.pending != expected:
        abort(redirect(step_url(user.pending)))
    return user


def _relying_party() -> mfa.RelyingParty | None:
    return mfa.relying_party(current_app.config["BASE_URL"])


@bp.route("/login/code", methods=["GET", "POST"])
@access("signing_in")
@limiter.shared_limit(setting("SIGNIN"), scope="signin", key_func=address_key, methods=["POST"])
def second_factor():
    """The second step: a code from the authenticator app, a recovery code, or a passkey.
    Five wrong codes end the half-signed-in session; wrong codes count against the address
    like wrong passwords."""
    user = _step_guard("verify")
    db = get_db()
    clinician = accounts.get_clinician(db, user.id)
    form = SecondFactorForm()
    status = 200
    if form.validate_on_submit():
        attempt = _reserve(db, _account_key(clinician["email"]), client_address(), account=False)
        if attempt.wait:
            form.code.errors.append(_("Too many wrong attempts from this network. Please wait."))
            status = 429
        else:
            match = _code_match(db, clinician, form.code.data)
            if match and _spend(db, clinician, match):
                accounts.release_attempt(db, attempt)
                return redirect(_second_step_passed(db, clinician))
            _mfa_failed(db, clinician, "code")
            if factors.count_code_failure(db, user.session_id) >= mfa.MAX_CODE_FAILURES:
                accounts.end_session(db, user.session_id)
                clear_session_keep_locale()
                flash(_("Too many wrong codes. Please sign in again."), "warning")
                return redirect(url_for(".login"))
            form.code.errors.append(_("This code is not right, or it was used already."))
    has_passkeys = bool(factors.passkeys(db, user.id)) and _relying_party() is not None
    return render_template("auth/second_factor.html", form=form, passkeys=has_passkeys), status


@bp.route("/login/passkey/options", methods=["POST"])
@access("signing_in")
def passkey_options():
    """Start signing in with a passkey: a challenge for the clinician's passkeys (JSON)."""
    user = _step_guard("verify")
    db = get_db()
    rp = _relying_party()
    keys = factors.passkeys(db, user.id)
    if rp is None or not keys:
        return jsonify(error=_("No passkey is set up for this account.")), 400
    options = generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(k["credential_id"])) for k in keys
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    factors.set_challenge(db, user.session_id, bytes_to_base64url(options.challenge))
    return current_app.response_class(options_to_json(options), mimetype="application/json")


@bp.route("/login/passkey", methods=["POST"])
@access("signing_in")
@limiter.shared_limit(setting("SIGNIN"), scope="signin", key_func=address_key, methods=["POST"])
def passkey_signin():
    """Finish signing in with a passkey: check the authenticator's signature against the
    challenge (used once) and the stored public key; answers JSON ``{"next": url}``."""
    user = _step_guard("verify")
    db = get_db()
    clinician = accounts.get_clinician(db, user.id)
    rp = _relying_party()
    challenge = factors.take_challenge(db, user.session_id)
    attempt = _reserve(db, _account_key(clinician["email"]), client_address(), account=False)
    if attempt.wait:
        return jsonify(error=_("Too many wrong attempts from this network. Please wait.")), 429
    data = request.get_json(silent=True)
    keys = {k["credential_id"]: k for k in factors.passkeys(db, user.id)}
    try:
        key = keys[data["id"]]
        checked = verify_authentication_response(
            credential=data,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=key["public_key"],
            credential_current_sign_count=key["sign_count"],
        )
    except (WebAuthnException, KeyError, TypeError, ValueError, AttributeError):
        _mfa_failed(db, clinician, "passkey")
        if factors.count_code_failure(db, user.session_id) >= mfa.MAX_CODE_FAILURES:
            accounts.end_session(db, user.session_id)
            clear_session_keep_locale()
            return jsonify(error=_("Too many wrong codes. Please sign in again.")), 403
        return jsonify(error=_("The passkey was not accepted. Try again, or enter a code.")), 400
    factors.passkey_used(db, key["id"], checked.new_sign_count)
    factors.audit_event(db, "mfa.used", clinician, method="passkey")
    event(current_app, "mfa.used", user=f"clinician:{clinician['id']}", method="passkey")
    accounts.release_attempt(db, attempt)
    return jsonify(next=_second_step_passed(db, clinician))


def personal_words(clinician: dict[str, Any]) -> tuple[str, ...]:
    """The words of the account that make a password easy to guess."""
    clinic = accounts.get_clinic(get_db(), clinician["clinic_id"])
    local = clinician["email"].split("@")[0]
    return (clinician["email"], local, *clinician["name"].split(), *clinic["name"].split())


@bp.route("/login/new-password", methods=["GET", "POST"])
@access("signing_in")
def new_password():
    """First sign-in with a one-time password: choose one's own before anything else."""
    user = _step_guard("password")
    db = get_db()
    clinician = accounts.get_clinician(db, user.id)
    form = NewPasswordForm()
    form.personal_words = personal_words(clinician)
    if form.validate_on_submit():
        if verify_password(clinician["password_hash"], form.new.data):
            form.new.errors.append(_("Choose a password of your own, not the one-time password."))
        else:
            password_hash = hash_password(form.new.data)  # slow: before taking the write lock
            accounts.change_own_password(
                db, user.id, user.clinic_id, password_hash, first_sign_in=True
            )
            clinician = accounts.get_clinician(db, user.id)
            # no second factor was due before this step: either none is set up or it passed
            verified = factors.totp_key(db, user.id) is not None
            flash(_("Your password is saved."), "info")
            return redirect(
                start_clinician_session(
                    db, clinician, verified=verified, next_url=session.get("next")
                )
            )
    return render_template("auth/new_password.html", form=form)


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
        response = redirect(url_for("pages.index"))
        # the phone's caches are gone (diary.js): pages carry the stylesheet again
        response.delete_cookie(assets.KEPT_COOKIE)
        return response
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
    mfa_at: str | None = None,
    next_url: str | None = None,
    first: bool = True,
) -> None:
    """Sign this device in as a clinician or a patient: the server-side session this browser
    held ends, and a new cookie session (fresh CSRF token, no old state) holds a new one;
    the language chosen before signing in is saved to the account. ``first``: a sign-in
    (audited and logged), not the next step of one; ``next_url``: the page to open once
    every step is done. Patients' phones stay signed in across browser restarts,
    clinicians' sessions end with the browser."""
    lang = session.get("lang")
    earlier = session.get("sid")
    if earlier:
        accounts.end_session_by_sid(db, earlier)
    clear_session_keep_locale()
    session.permanent = kind == "patient"
    session["sid"] = accounts.start_session(
        db,
        lifetime,
        token_id=token_id,
        device=devices.describe(request.user_agent.string),
        mfa_at=mfa_at,
        **{f"{kind}_id": user_id},
    )
    if next_url:
        session["next"] = next_url
    if not first:
        return
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
