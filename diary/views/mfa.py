"""Two-step sign-in on a clinician's own account: setting up an authenticator app by QR
code (at the first sign-in when it is required, or from "My account"), new recovery codes,
adding and removing passkeys. The rules are in :mod:`diary.mfa`."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from webauthn import (
    generate_registration_options,
    options_to_json,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .. import clock, mfa
from ..db import get_db
from ..forms import ActionForm, AuthenticatorForm
from ..logs import event
from ..queries import accounts
from ..queries import mfa as factors
from ..security import STEP_ENDPOINTS, access, current_user
from .auth import start_clinician_session

bp = Blueprint("mfa", __name__, url_prefix="/clinic/account")


@bp.route("/authenticator", methods=["GET", "POST"])
@access("signing_in")
def enrol():
    """Set up an authenticator app: scan the QR code (or type the key), enter the code it
    shows; then the recovery codes, shown once. The key waits in the signed cookie until
    the code proves the app has it, and is stored only encrypted."""
    user = current_user()
    if user.pending not in (None, "enrol"):
        return redirect(url_for(STEP_ENDPOINTS[user.pending]))
    db = get_db()
    clinician = accounts.get_clinician(db, user.id)
    secret = session.get("totp_candidate")
    if not secret:
        secret = session["totp_candidate"] = mfa.new_totp_secret()
    form = AuthenticatorForm()
    if form.validate_on_submit():
        step = mfa.matching_step(secret, form.code.data, clock.now(), 0)
        if step is None:
            factors.audit_event(db, "mfa.failed", clinician, method="totp", setup=True)
            form.code.errors.append(
                _(
                    "This code is not right. Check that the phone's clock is right and enter"
                    " the code the app shows now."
                )
            )
        else:
            codes = mfa.new_recovery_codes()
            factors.enrol_totp(
                db,
                clinician,
                mfa.encrypt_secret(current_app.config["SECRET_KEY"], user.id, secret),
                step,
                [mfa.recovery_hash(user.id, code) for code in codes],
            )
            event(current_app, "mfa.enrolled", user=f"clinician:{user.id}", method="totp")
            # a new session that has passed the second step (this one had not)
            next_url = start_clinician_session(
                db, clinician, verified=True, next_url=session.get("next")
            )
            return render_template(
                "auth/recovery_codes.html", codes=codes, next_url=next_url, first=True
            )
    clinic = accounts.get_clinic(db, user.clinic_id)
    uri = mfa.provisioning_uri(secret, clinician["email"], clinic["name"])
    return render_template(
        "auth/enrol.html",
        form=form,
        qr=mfa.qr_data_uri(uri),
        secret=mfa.grouped(secret),
        replacing=factors.totp_key(db, user.id) is not None,
    )


@bp.route("/recovery-codes", methods=["POST"])
@access("clinician")
def recovery_codes():
    """Ten new recovery codes (the old ones stop working), shown once."""
    user = current_user()
    db = get_db()
    if not ActionForm().validate_on_submit() or factors.totp_key(db, user.id) is None:
        abort(400)
    codes = mfa.new_recovery_codes()
    factors.replace_recovery_codes(
        db, accounts.get_clinician(db, user.id), [mfa.recovery_hash(user.id, c) for c in codes]
    )
    return render_template(
        "auth/recovery_codes.html", codes=codes, next_url=url_for("admin.account"), first=False
    )


def _relying_party() -> mfa.RelyingParty:
    rp = mfa.relying_party(current_app.config["BASE_URL"])
    if rp is None:
        abort(404)
    return rp


@bp.route("/passkeys/options", methods=["POST"])
@access("clinician")
def passkey_options():
    """Start adding a passkey: the registration options with a fresh challenge (JSON).
    Passkeys come after the authenticator app, which keeps the recovery codes."""
    user = current_user()
    db = get_db()
    rp = _relying_party()
    if factors.totp_key(db, user.id) is None:
        return jsonify(error=_("Set up an authenticator app first.")), 400
    clinician = accounts.get_clinician(db, user.id)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=_("Pain diary"),
        user_name=clinician["email"],
        user_id=mfa.user_handle(user.id),
        user_display_name=clinician["name"],
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(k["credential_id"]))
            for k in factors.passkeys(db, user.id)
        ],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    factors.set_challenge(db, user.session_id, bytes_to_base64url(options.challenge))
    return current_app.response_class(options_to_json(options), mimetype="application/json")


@bp.route("/passkeys", methods=["POST"])
@access("clinician")
def passkey_add():
    """Finish adding a passkey: check the browser's answer to the challenge (used once)
    and store the public key; answers JSON ``{"next": url}``."""
    user = current_user()
    db = get_db()
    rp = _relying_party()
    challenge = factors.take_challenge(db, user.session_id)
    data = request.get_json(silent=True)
    try:
        checked = verify_registration_response(
            credential=data,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
        transports = [str(t) for t in data["response"].get("transports", [])][:8]
    except (WebAuthnException, KeyError, TypeError, ValueError, AttributeError):
        return jsonify(error=_("The passkey could not be added. Please try again.")), 400
    clinician = accounts.get_clinician(db, user.id)
    factors.add_passkey(
        db,
        clinician,
        bytes_to_base64url(checked.credential_id),
        checked.credential_public_key,
        checked.sign_count,
        transports,
    )
    event(current_app, "mfa.enrolled", user=f"clinician:{user.id}", method="passkey")
    flash(_("The passkey is added. You can use it at your next sign-in."), "info")
    return jsonify(next=url_for("admin.account"))


@bp.route("/passkeys/<int:passkey_id>/remove", methods=["POST"])
@access("clinician")
def passkey_remove(passkey_id: int):
    """Remove one of one's own passkeys (another's: 404)."""
    user = current_user()
    db = get_db()
    if not ActionForm().validate_on_submit():
        abort(400)
    if not factors.remove_passkey(db, accounts.get_clinician(db, user.id), passkey_id):
        abort(404)
    flash(_("The passkey is removed."), "info")
    return redirect(url_for("admin.account"))
