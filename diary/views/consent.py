"""The patient's "learn and consent" journey: information sheet, screening questions,
comprehension check, agreements with review, the PDF copy, and withdrawal."""

from __future__ import annotations

import contextlib
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from .. import clock, pdf, sheet, signature
from ..db import get_db
from ..forms import ActionForm, ConsentForm, WithdrawForm, quiz_form, screening_form
from ..queries import accounts, consents, patients
from ..ratelimit import limiter, setting
from ..security import access, current_user
from .download import send_download

bp = Blueprint("consent", __name__, url_prefix="/consent")
VERSION = sheet.SHEET_VERSION


def _patient_context() -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(db, course, clinic) of the signed-in patient; 404 when they have no course."""
    user = current_user()
    db = get_db()
    course = patients.current_course(db, user.id)
    if course is None:
        abort(404)
    return db, course, accounts.get_clinic(db, user.clinic_id)


def _locale() -> str:
    return str(get_locale())


@bp.route("/")
@access("patient")
def start():
    """Where the journey starts, or where it stands (consented, outdated, withdrawn)."""
    db, course, clinic = _patient_context()
    latest = consents.latest(db, course["id"])
    return render_template(
        "consent/start.html",
        state=consents.state(latest, VERSION),
        latest=latest,
        total=len(sheet.sections(clinic)),
        clinic=clinic,
    )


@bp.route("/changes")
@access("patient")
def changes():
    """Before consenting again: what changed since the version the patient agreed to
    (compared in the language they agreed in), then the usual steps."""
    db, course, clinic = _patient_context()
    latest = consents.latest(db, course["id"])
    if consents.state(latest, VERSION) != "outdated":
        return redirect(url_for(".start"))
    with force_locale(latest["locale"]):
        current = sheet.canonical_text(clinic)
    consents.record_step(
        db, course["id"], "consent.changes_shown", from_version=latest["sheet_version"],
        sheet_version=VERSION,
    )  # fmt: skip
    return render_template(
        "consent/changes.html",
        changes=sheet.changes(latest["text"], current),
        latest=latest,
        version=VERSION,
        text_lang=latest["locale"],
    )


@bp.route("/sheet/<int:number>", methods=["GET", "POST"])
@access("patient")
def section(number: int):
    """One section of the information sheet; "Next" records that it was read."""
    db, course, clinic = _patient_context()
    sections = sheet.sections(clinic)
    if not 1 <= number <= len(sections):
        abort(404)
    form = ActionForm()
    if form.validate_on_submit():
        consents.record_step(
            db,
            course["id"],
            "sheet.section_read",
            section=sections[number - 1].key,
            sheet_version=VERSION,
        )
        if number < len(sections):
            return redirect(url_for(".section", number=number + 1))
        return redirect(url_for(".screening"))
    return render_template(
        "consent/section.html",
        section=sections[number - 1],
        number=number,
        total=len(sections),
        form=form,
        back_to_quiz=request.args.get("back") == "quiz",
    )


@bp.route("/screening", methods=["GET", "POST"])
@access("patient")
def screening():
    """Questions the clinician reviews before treatment (they never block consent)."""
    db, course, _clinic = _patient_context()
    form = screening_form(sheet.SCREENING, sheet.SCREENING_ANSWERS)
    if form.validate_on_submit():
        answers = {
            key: (form[key].data, (form[f"{key}_detail"].data or "").strip())
            for key in sheet.SCREENING
        }
        consents.record_screening(db, course["id"], VERSION, answers)
        if any(answer != "no" for answer, _detail in answers.values()):
            flash(
                _(
                    "Thank you. Your doctor will read your answers and talk with you "
                    "before your first session."
                ),
                "info",
            )
        else:
            flash(_("Thank you. Your doctor will also see your answers."), "info")
        return redirect(url_for(".quiz"))
    if request.method == "GET":
        previous = consents.latest_screening(db, course["id"])
        for key, row in previous.items():
            if key in sheet.SCREENING:
                form[key].data = row["answer"]
                form[f"{key}_detail"].data = row["detail"]
    return render_template(
        "consent/screening.html",
        form=form,
        questions=sheet.SCREENING,
        last_section=len(sheet.sections(_clinic)),
    )


@bp.route("/quiz", methods=["GET", "POST"])
@access("patient")
def quiz():
    """The comprehension check: a wrong answer explains why and links to its section."""
    db, course, clinic = _patient_context()
    questions = sheet.quiz(clinic)
    form = quiz_form(questions)
    results: dict[str, bool] | None = None
    if form.validate_on_submit():
        answers = {q.key: form[q.key].data for q in questions}
        wrong = [q.key for q in questions if answers[q.key] != q.correct]
        consents.record_quiz(db, course["id"], VERSION, answers, wrong, locale=_locale())
        if not wrong:
            flash(_("All your answers are right."), "info")
            return redirect(url_for(".agree"))
        results = {q.key: q.key not in wrong for q in questions}
    elif request.method == "GET":
        _keep_right_answers(db, course["id"], form)
    section_numbers = {s.key: i for i, s in enumerate(sheet.sections(clinic), start=1)}
    return render_template(
        "consent/quiz.html",
        form=form,
        questions=questions,
        results=results,
        section_numbers=section_numbers,
    )


def _keep_right_answers(db, course_id: int, form) -> None:
    """Back from "Read this part again": the answers that were right stay chosen."""
    attempts = [a for a in consents.quiz_attempts(db, course_id) if a["sheet_version"] == VERSION]
    if attempts and not attempts[-1]["passed"]:
        last = attempts[-1]
        for key, answer in last["answers"].items():
            if key not in last["wrong"] and key in form:
                form[key].data = answer


def _missing_step(db, course_id: int) -> str | None:
    if not consents.screening_done(db, course_id, VERSION):
        return url_for(".screening")
    if not consents.quiz_passed(db, course_id, VERSION):
        return url_for(".quiz")
    return None


def _consent_form(clinic: dict[str, Any]) -> tuple[ConsentForm, dict[str, str]]:
    form = ConsentForm()
    texts = sheet.agreement_texts(clinic)
    for key in sheet.AGREEMENTS:
        form[key].label.text = texts[key]
    return form, texts


def _review(form: ConsentForm, texts: dict[str, str], text: str, png: bytes | None) -> str:
    """The review page: exactly what will be signed, with the hash of the text shown."""
    return render_template(
        "consent/review.html",
        form=form,
        texts=texts,
        sections=sheet.parse(text),
        digest=sheet.text_hash(text),
        signature_url=signature.data_url(png),
        version=VERSION,
    )


@bp.route("/agree", methods=["GET", "POST"])
@access("patient")
def agree():
    """Agreements, typed name and optional signature; a valid POST shows the review."""
    db, course, clinic = _patient_context()
    if consents.is_active(db, course["id"], VERSION):
        return redirect(url_for(".start"))
    missing = _missing_step(db, course["id"])
    if missing:
        flash(_("Please answer the questions first."), "info")
        return redirect(missing)
    form, texts = _consent_form(clinic)
    text = sheet.canonical_text(clinic)
    signature_error = None
    if request.method == "POST" and not request.args.get("edit") and form.validate_on_submit():
        try:
            png = signature.parse(form.signature.data)
        except ValueError:
            signature_error = _(
                "The signature could not be read. Please clear it and sign "
                "again, or leave it empty."
            )
        else:
            consents.record_step(db, course["id"], "consent.reviewed", sheet_version=VERSION)
            return _review(form, texts, text, png)
    return render_template(
        "consent/agree.html",
        form=form,
        signature_error=signature_error,
        show_errors=not request.args.get("edit"),
    )


@bp.route("/confirm", methods=["POST"])
@access("patient")
def confirm():
    """Store the consent exactly as reviewed ("I agree")."""
    db, course, clinic = _patient_context()
    if consents.is_active(db, course["id"], VERSION):
        return redirect(url_for(".start"))
    if _missing_step(db, course["id"]):
        abort(409)
    form, texts = _consent_form(clinic)
    text = sheet.canonical_text(clinic)
    if not form.validate_on_submit():
        return render_template("consent/agree.html", form=form, show_errors=True), 400
    try:
        png = signature.parse(form.signature.data)
    except ValueError:
        abort(400)
    if form.text_sha256.data != sheet.text_hash(text):
        flash(_("The information changed while you were reading. Please check it again."), "info")
        return _review(form, texts, text, png), 409
    consents.give(
        db,
        course["id"],
        sheet_version=VERSION,
        locale=_locale(),
        text=text,
        agreements={key: bool(form[key].data) for key in sheet.AGREEMENTS},
        full_name=form.full_name.data.strip(),
        signature_png=png,
        user_agent=request.headers.get("User-Agent", ""),
    )
    return redirect(url_for(".done"))


@bp.route("/done")
@access("patient")
def done():
    """Thank-you page with the PDF copy."""
    db, course, _clinic = _patient_context()
    latest = consents.latest(db, course["id"])
    if consents.state(latest, VERSION) != "active":
        return redirect(url_for(".start"))
    return render_template("consent/done.html", latest=latest)


def pdf_response(record: dict[str, Any], clinic: dict[str, Any]) -> Response:
    """A consent record's PDF copy as a download."""
    db = get_db()
    receipt = None
    if record["kind"] == "consent":
        code = consents.receipt_code(db, record["id"])
        base = current_app.config["BASE_URL"].rstrip("/")
        receipt = (code, f"{base}/verify?code={code}")
    body = pdf.consent_pdf(record, clinic, consents.countersignature(db, record["id"]), receipt)
    if receipt:
        consents.record_copy(db, record["id"], body)
    day = clock.local_day(record["created_at"], clinic["timezone"]).isoformat()
    name = (
        f"consent-{record['patient_code']}-{day}.pdf"
        if record.get("patient_code")
        else (f"consent-{day}.pdf")
    )
    return send_download(body, "application/pdf", name)


@bp.route("/copy/<int:consent_id>.pdf")
@access("patient")
@limiter.shared_limit(setting("PDF"), scope="pdf")
def copy(consent_id: int):
    """The patient's own copy of a consent or withdrawal, as PDF."""
    db, course, clinic = _patient_context()
    record = consents.get(db, consent_id)
    if record is None or record["patient_id"] != current_user().id:
        abort(404)
    # the patient's copy is named by date only
    response = pdf_response(dict(record, patient_code=None), clinic)
    consents.record_step(db, record["course_id"], "consent.pdf_downloaded", consent_id=consent_id)
    return response


@bp.route("/withdraw", methods=["GET", "POST"])
@access("patient")
def withdraw():
    """Take back consent: one screen, one confirmation; a new record, nothing deleted."""
    db, course, _clinic = _patient_context()
    latest = consents.latest(db, course["id"])
    if latest is None or latest["kind"] != "consent":
        return redirect(url_for(".start"))
    form = WithdrawForm()
    if form.validate_on_submit():
        statement = _("I take back my consent. The diary stops. What I entered before is kept.")
        with contextlib.suppress(ValueError):  # a parallel request withdrew it already
            consents.withdraw(
                db,
                course["id"],
                locale=_locale(),
                text=statement,
                user_agent=request.headers.get("User-Agent", ""),
            )
        flash(_("Your consent is taken back. The diary is closed."), "info")
        return redirect(url_for(".start"))
    return render_template("consent/withdraw.html", form=form, latest=latest)
