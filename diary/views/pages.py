"""Public pages: landing, health check, and the error pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from wtforms.fields.choices import SelectChoice

from .. import pdf
from ..db import get_db
from ..forms import LanguageForm, VerifyFileForm, VerifyForm
from ..logs import event
from ..queries import accounts, consents, patients
from ..ratelimit import address_key, limiter, retry_after, setting
from ..security import PatientSignedOut, access, current_user, is_safe_next

bp = Blueprint("pages", __name__)

PDF_BUSY = _l("Many documents are being prepared right now. Please try again in a few seconds.")

ERRORS = {
    400: (
        _l("Something in the request was not right"),
        _l("Please go back, check what you entered and try again."),
    ),
    403: (
        _l("You cannot open this page"),
        _l("This page belongs to someone else, or you need to sign in first."),
    ),
    404: (
        _l("Page not found"),
        _l("The address may be mistyped, or the page may have been removed."),
    ),
    405: (
        _l("That did not work"),
        _l("This page cannot be used that way. Please go back and try again."),
    ),
    413: (_l("Too much data"), _l("What you sent is too large. Please shorten it and try again.")),
    429: (_l("Too many attempts"), _l("Please wait a few minutes before you try again.")),
    500: (
        _l("Something went wrong on our side"),
        _l("Your last action may not have been saved. Please try again in a few minutes."),
    ),
    503: (_l("The service is busy"), _l("Please try again in a minute.")),
}


@bp.route("/")
@access("anonymous")
def index():
    """Landing page: where patients and clinicians each go."""
    return render_template("index.html", user=current_user())


@bp.route("/language", methods=["POST"])
@access("anonymous")
def language():
    """The language switcher: this device's language, saved on the signed-in account too
    (a POST with the form's token, so no link can change someone's saved language)."""
    form = LanguageForm()
    form.lang.choices = [SelectChoice(code, code) for code in current_app.config["LANGUAGES"]]
    if not form.validate_on_submit():
        abort(400)
    lang = form.lang.data
    session["lang"] = lang
    user = current_user()
    if user is not None and user.locale != lang:
        if user.kind == "clinician":
            accounts.set_clinician_locale(get_db(), user.id, lang)
        else:
            patients.set_patient_locale(get_db(), user.id, lang)
    target = form.next.data
    return redirect(target if is_safe_next(target) else url_for(".index"))


def _not_a_check() -> bool:
    """The empty form is not counted against the limit; a code or a file is."""
    return request.method == "GET" and request.args.get("code") is None


@bp.route("/verify", methods=["GET", "POST"])
@access("anonymous")
@limiter.limit(setting("VERIFY"), key_func=address_key, exempt_when=_not_a_check)
def verify():
    """Anyone can check a consent by its code (GET, from the QR code) or by uploading its
    PDF copy (POST): valid (version, date, clinic, text hash), withdrawn, replaced by a
    newer consent, or unknown. No names, no health data; the file is hashed, never kept;
    limited per client address (``DIARY_RATE_LIMIT_VERIFY``)."""
    form = VerifyForm(request.args)
    file_form = VerifyFileForm()
    result = None
    if request.method == "POST":
        if file_form.validate_on_submit():
            body = file_form.copy.data.read()
            if not body.startswith(b"%PDF-"):
                result = {"not_pdf": True}
            else:
                result = consents.verify_copy(get_db(), body) or {"unknown_file": True}
    elif request.args.get("code") is not None and form.validate():
        result = consents.verify_code(get_db(), form.code.data) or {"unknown": True}
    status = 400 if request.method == "POST" and file_form.errors else 200
    return render_template("verify.html", form=form, file_form=file_form, result=result), status


@bp.route("/healthz")
@access("anonymous")
def healthz():
    """200 JSON when the database answers, 503 otherwise (for load balancers)."""
    try:
        get_db().execute("SELECT 1").fetchone()
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")


def render_error(code: int, message: str | None = None):
    """The translated error page for an HTTP status."""
    title, default = ERRORS.get(code, ERRORS[500])
    return render_template("error.html", code=code, title=title, message=message or default), code


def register_error_handlers(app: Flask) -> None:
    """Translated pages for every HTTP error, and for a missing or stale CSRF token."""

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError):
        event(current_app, "csrf.refused", endpoint=request.endpoint)
        return render_error(
            400,
            str(
                _l(
                    "This form has expired or was sent from another site. "
                    "Please go back, reload the page and try again."
                )
            ),
        )

    @app.errorhandler(PatientSignedOut)
    def patient_signed_out(_error: PatientSignedOut):
        if request.path.startswith("/api/"):  # the phone's sync queue keeps the entry
            return jsonify(
                error=str(
                    _l(
                        "This phone is not signed in. Open your personal "
                        "link again to send your entries."
                    )
                )
            ), 401
        return render_template("auth/signed_out.html"), 403

    @app.errorhandler(pdf.Busy)
    def pdf_busy(_error: pdf.Busy):
        page, code = render_error(503, str(PDF_BUSY))
        return page, code, {"Retry-After": "5"}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        response = error.get_response()
        if isinstance(error, RateLimitExceeded):
            response.headers["Retry-After"] = str(retry_after())
            event(current_app, "ratelimit.exceeded", endpoint=request.endpoint)
        page, code = render_error(error.code)
        response.set_data(page)
        response.status_code = code
        response.content_type = "text/html; charset=utf-8"
        return response

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        app.logger.exception("unhandled error")
        return render_error(500)
