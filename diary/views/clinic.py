"""The clinician workspace: dashboard, patients, enrolment and handout, courses, sessions,
cohort view. Every route is for signed-in clinicians and scoped to their own clinic."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup

from .. import (
    attention,
    charts,
    clock,
    comprehension,
    entry_rules,
    exports,
    function_outcomes,
    outcomes,
    report,
    session_rules,
    sheet,
)
from ..db import get_db
from ..forms import (
    ActionForm,
    CountersignForm,
    CourseForm,
    EnrolForm,
    EraseForm,
    PatientLanguageForm,
    SearchForm,
    SessionForm,
)
from ..labels import ACTION_LABELS, AREA_LABELS, REASON_LABELS
from ..queries import (
    accounts,
    answers,
    audit,
    consents,
    courses,
    entries,
    patients,
    retention,
    treatments,
)
from ..ratelimit import limiter, setting
from ..reference import CITATION, REFERENCE
from ..security import access, current_user, same_clinic_or_404
from .consent import pdf_response
from .download import send_download

bp = Blueprint("clinic", __name__, url_prefix="/clinic")


@bp.app_context_processor
def workspace_context() -> dict:
    """The clinic and the sign-out form, shown on every workspace page."""
    user = current_user()
    if user is None or user.kind != "clinician":
        return {}
    return {"clinic": accounts.get_clinic(get_db(), user.clinic_id), "signout_form": ActionForm()}


def clinic_today() -> date:
    """Today in the signed-in clinician's clinic."""
    return clock.today(current_user().timezone)


def _actor() -> dict[str, Any]:
    user = current_user()
    return {"actor": "clinician", "actor_id": user.id, "clinic_id": user.clinic_id}


# --- dashboard --------------------------------------------------------------------------


def _status(course: dict[str, Any], rows: list, sessions: list, today: date) -> Any:
    """A dashboard row's figures and flags (:func:`diary.outcomes.course_status`)."""
    latest = (
        {"kind": course["consent_kind"], "sheet_version": course["consent_version"]}
        if course["consent_kind"]
        else None
    )
    state = consents.state(latest, sheet.SHEET_VERSION)
    first_consent = (
        clock.local_day(course["first_consent_at"], current_user().timezone)
        if course["first_consent_at"]
        else None
    )
    return outcomes.course_status(
        sessions,
        rows,
        start=course["start_date"],
        today=today,
        diary_from=outcomes.diary_start(course["start_date"], first_consent),
        consent_active=state == "active",
        consent_withdrawn=state == "withdrawn",
        countersign_pending=not course["countersigned"],
        allergy_reported=course["flagged"],
        screening_flags=course["screening_flags"],
    )


#: dashboard rows per page (all open courses are sorted and filtered before paging)
PAGE_SIZE = 50

#: dashboard orders, each a key of a (course, status) row
SORTS = {
    "code": lambda cr: cr[0]["patient_code"].lower(),
    "flags": lambda cr: (-len(cr[1].flags), cr[0]["patient_code"].lower()),
    "change": lambda cr: (
        cr[1].outcome.percent is None,
        -(cr[1].outcome.percent if cr[1].outcome.percent is not None else 0),
    ),
    "recent": lambda cr: (cr[1].outcome.current is None, cr[1].outcome.current or 0),
    "sessions": lambda cr: -cr[1].outcome.sessions,
    "diary": lambda cr: (
        cr[1].done is None,
        cr[1].done.recorded / cr[1].done.days if cr[1].done and cr[1].done.days else 0,
    ),
    "start": lambda cr: cr[0]["start_date"],
}


@bp.route("/")
@access("clinician")
def dashboard():
    """One row per open course: consent, baseline, trend, goal, diary, flags."""
    user = current_user()
    db = get_db()
    today = clinic_today()
    sort = request.args.get("sort", "flags")
    if sort not in SORTS:
        sort = "flags"
    area = request.args.get("area") if request.args.get("area") in AREA_LABELS else None
    flagged_only = request.args.get("flagged") == "1"
    listed = courses.list_courses(db, user.clinic_id, active_only=True, area=area)
    by_entries = courses.entries_by_course(db, user.clinic_id, active_only=True)
    by_sessions = courses.sessions_by_course(db, user.clinic_id, active_only=True)
    rows = [
        (c, _status(c, by_entries.get(c["id"], []), by_sessions.get(c["id"], []), today))
        for c in listed
    ]
    functions = _functions(db, user.clinic_id, listed, active_only=True)
    if flagged_only:
        rows = [(c, status) for c, status in rows if status.flags]
    rows.sort(key=SORTS[sort])
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    return render_template(
        "clinic/dashboard.html",
        rows=rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        total=len(rows),
        first=(page - 1) * PAGE_SIZE + 1,
        page=page,
        pages=pages,
        sort=sort,
        area=area,
        flagged_only=flagged_only,
        today=today,
        current_version=sheet.SHEET_VERSION,
        functions=functions,
        pgic_labels=function_outcomes.PGIC_LABELS,
    )


def _functions(
    db, clinic_id: int, listed: list[dict[str, Any]], *, active_only: bool = False
) -> dict[int, function_outcomes.FunctionOutcome]:
    """The PEG and PGIC figures of the listed courses, by course id (three queries)."""
    pegs = answers.by_course(db, answers.PEG, clinic_id, active_only)
    pgics = answers.by_course(db, answers.PGIC, clinic_id, active_only)
    sessions = courses.sessions_by_course(db, clinic_id, active_only)
    return {
        c["id"]: function_outcomes.of_course(
            c, sessions.get(c["id"], []), pegs.get(c["id"], []), pgics.get(c["id"], [])
        )
        for c in listed
    }


# --- the follow-up list -----------------------------------------------------------------


@bp.route("/attention")
@access("clinician")
def follow_up():
    """Needs attention: each open course's reasons not yet seen, with a link to the course
    and "Mark as seen" (who and when, audited)."""
    db = get_db()
    clinic = accounts.get_clinic(db, current_user().clinic_id)
    return render_template(
        "clinic/attention.html",
        rows=attention.open_items(db, clinic, clinic_today()),
        labels=REASON_LABELS,
        no_entry_days=clinic["no_entry_days"],
        form=ActionForm(),
    )


@bp.route("/attention/<int:course_id>/seen", methods=["POST"])
@access("clinician")
def attention_seen(course_id: int):
    """Mark one reason of a course as seen (until its evidence changes)."""
    course = _course_or_404(course_id)
    reason, evidence = request.form.get("reason", ""), request.form.get("evidence", "")
    valid = reason in attention.REASONS and 0 < len(evidence) <= 40
    if not ActionForm().validate_on_submit() or not valid:
        abort(400)
    courses.mark_attention_seen(get_db(), course, reason, evidence, clinician_id=current_user().id)
    flash(_("Marked as seen."), "info")
    return redirect(url_for(".follow_up"))


# --- patients and enrolment -----------------------------------------------------------


@bp.route("/patients")
@access("clinician")
def patients_list():
    """The clinic's patients and their latest course, searchable by code."""
    user = current_user()
    form = SearchForm(request.args)
    search = form.q.data.strip() if form.validate() and form.q.data else ""
    return render_template(
        "clinic/patients.html",
        form=form,
        search=search,
        rows=patients.list_patients(get_db(), user.clinic_id, search),
        current_version=sheet.SHEET_VERSION,
    )


def _handout(patient: dict[str, Any], token: str):
    """The printable handout with the link and its QR code, in the patient's language."""
    link = (
        f"{current_app.config['BASE_URL'].rstrip('/')}{url_for('auth.patient_link', token=token)}"
    )
    qr = segno.make(link, error="m")
    svg = Markup(  # noqa: S704 - SVG generated by segno from our own URL
        qr.svg_inline(scale=6, border=2, dark="#000000", light="#ffffff", omitsize=True)
    )
    with force_locale(patient["locale"]):
        sheet_html = render_template(
            "clinic/_handout_sheet.html", link=link, qr=svg, patient=patient
        )
    course = patients.current_course(get_db(), patient["id"])
    return render_template(
        "clinic/handout.html",
        patient=patient,
        sheet=Markup(sheet_html),  # noqa: S704 - output of an autoescaped template
        patient_locale=patient["locale"],
        course_id=course["id"] if course else None,
    )


@bp.route("/patients/new", methods=["GET", "POST"])
@access("clinician")
def enrol():
    """Add a patient with a first course, then show the handout with their link."""
    user = current_user()
    db = get_db()
    clinic = accounts.get_clinic(db, user.clinic_id)
    form = EnrolForm()
    if request.method == "GET":
        form.locale.data = clinic["locale"]
        form.start_date.data = clinic_today()
    if form.validate_on_submit():
        try:
            enrolled = patients.enrol(
                db,
                user.clinic_id,
                form.code.data,
                area=form.area.data,
                start=form.start_date.data,
                locale=form.locale.data,
                birth_year=form.birth_year.data,
                contact_note=form.contact_note.data or "",
                actor="clinician",
                actor_id=user.id,
            )
        except patients.CodeTaken:
            form.code.errors.append(_("This code is already used in your clinic."))
        except patients.InvalidCode:
            form.code.errors.append(_("Use letters, digits, spaces and . - / only."))
        else:
            return _handout(patients.get_patient(db, enrolled.patient_id), enrolled.token)
    return render_template("clinic/enrol.html", form=form)


def _patient_or_404(patient_id: int) -> dict[str, Any]:
    return same_clinic_or_404(patients.get_patient(get_db(), patient_id))


@bp.route("/patients/<int:patient_id>/link", methods=["POST"])
@access("clinician")
def issue_link(patient_id: int):
    """Issue a new personal link (the old one stops at once) and show the handout."""
    patient = _patient_or_404(patient_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    token = patients.issue_link(get_db(), patient_id, actor="clinician", actor_id=current_user().id)
    return _handout(patient, token)


@bp.route("/patients/<int:patient_id>/link/revoke", methods=["POST"])
@access("clinician")
def revoke_link(patient_id: int):
    """Revoke the personal link: every phone signed in with it is signed out at once."""
    _patient_or_404(patient_id)
    if ActionForm().validate_on_submit():
        patients.revoke_links(get_db(), patient_id, actor="clinician", actor_id=current_user().id)
        flash(_("The personal link is revoked. The patient's phones are signed out."), "info")
    course = patients.current_course(get_db(), patient_id)
    return redirect(
        url_for(".course", course_id=course["id"]) if course else url_for(".patients_list")
    )


@bp.route("/patients/<int:patient_id>/language", methods=["POST"])
@access("clinician")
def patient_language(patient_id: int):
    """Change the patient's saved language."""
    _patient_or_404(patient_id)
    form = PatientLanguageForm()
    if form.validate_on_submit():
        db = get_db()
        patients.set_patient_locale(db, patient_id, form.locale.data)
        audit.record(
            db,
            "patient.language_changed",
            **_actor(),
            patient_id=patient_id,
            locale=form.locale.data,
        )
        flash(_("The patient's language is saved."), "info")
    course = patients.current_course(get_db(), patient_id)
    return redirect(url_for(".course", course_id=course["id"]))


@bp.route("/patients/<int:patient_id>/courses/new", methods=["GET", "POST"])
@access("clinician")
def new_course(patient_id: int):
    """Open a further treatment course for a patient (the previous one is closed)."""
    patient = _patient_or_404(patient_id)
    db = get_db()
    form = CourseForm()
    if request.method == "GET":
        form.start_date.data = clinic_today()
    if form.validate_on_submit():
        course_id = patients.open_course(
            db, patient, form.area.data, form.start_date.data, actor_id=current_user().id
        )
        return redirect(url_for(".course", course_id=course_id))
    return render_template("clinic/new_course.html", form=form, patient=patient)


# --- one course -----------------------------------------------------------------------


def _course_or_404(course_id: int) -> dict[str, Any]:
    return same_clinic_or_404(patients.get_course(get_db(), course_id))


@bp.route("/courses/<int:course_id>")
@access("clinician")
def course(course_id: int):
    """Everything about one course: chart, outcome, sessions, diary, consent, audit trail."""
    return _course_page(course_id)


def _course_page(course_id: int, countersign_form: CountersignForm | None = None) -> str:
    row = _course_or_404(course_id)
    db = get_db()
    today = clinic_today()
    diary, sessions, end, result = report.course_figures(db, row, today)
    history = consents.history(db, course_id)
    chart = None
    if diary or sessions:
        chart = charts.course_chart(row, diary, sessions, result, end)
    return render_template(
        "clinic/course.html",
        course=row,
        patient=patients.get_patient(db, row["patient_id"]),
        result=result,
        chart=chart,
        sessions=sessions,
        recall=outcomes.recall_gaps(sessions, diary),
        is_mixture=session_rules.is_mixture,
        mixture_warning=session_rules.mixture_warning(),
        diary=sorted(diary, key=lambda e: e["day"], reverse=True),
        corrections=entries.corrections(db, course_id),
        consents=history,
        countersignature=consents.countersignature(db, history[-1]["id"])
        if history and history[-1]["kind"] == "consent"
        else None,
        countersign_form=countersign_form or CountersignForm(formdata=None),
        current_version=sheet.SHEET_VERSION,
        screening=consents.latest_screening(db, course_id),
        questions=sheet.SCREENING,
        answers=sheet.SCREENING_ANSWERS,
        attempts=consents.quiz_attempts(db, course_id),
        trail=audit.for_course(db, course_id),
        action_labels=ACTION_LABELS,
        site_effects=entry_rules.SITE_EFFECTS,
        allergy_signs=entry_rules.ALLERGY_SIGNS,
        language_form=PatientLanguageForm(
            locale=patients.get_patient(db, row["patient_id"])["locale"]
        ),
        action_form=ActionForm(),
        today=today,
        function=report.function_figures(db, row, sessions),
        pgic_labels=function_outcomes.PGIC_LABELS,
    )


@bp.route("/courses/<int:course_id>/close", methods=["POST"])
@access("clinician")
def close_course(course_id: int):
    """End a course today (or reopen it); the patient's diary closes with it."""
    row = _course_or_404(course_id)
    if ActionForm().validate_on_submit():
        end = None if row["end_date"] else clinic_today()
        courses.set_end(get_db(), row, end, actor_id=current_user().id)
    return redirect(url_for(".course", course_id=course_id))


@bp.route("/courses/<int:course_id>/reviewed", methods=["POST"])
@access("clinician")
def mark_reviewed(course_id: int):
    """Mark a reported possible allergic reaction as reviewed (clears the flag)."""
    row = _course_or_404(course_id)
    if ActionForm().validate_on_submit():
        courses.clear_flag(get_db(), row, clinician_id=current_user().id)
    return redirect(url_for(".course", course_id=course_id))


def _session_form_defaults(form: SessionForm, row: dict[str, Any]) -> None:
    clinic = accounts.get_clinic(get_db(), current_user().clinic_id)
    form.date.data = clinic_today()
    form.area.data = row["area"]
    form.needle.data = clinic["needle"]


@bp.route("/courses/<int:course_id>/sessions/new", methods=["GET", "POST"])
@access("clinician")
def new_session(course_id: int):
    """Record a treatment session; its number follows the course's last one."""
    row = _course_or_404(course_id)
    form = SessionForm()
    if request.method == "GET":
        _session_form_defaults(form, row)
    consent = consents.current_state(get_db(), course_id, sheet.SHEET_VERSION)
    if form.is_submitted() and all(  # every check runs, so every problem is listed at once
        [
            form.validate(),
            form.date.data is not None and _date_allowed(form, row, None),
            consent == "active" or form.paper_consent_given(),
        ]
    ):
        user = current_user()
        values = form.values()
        treatments.add_session(
            get_db(),
            course_id,
            values.pop("date"),
            **values,
            paper_consent_note="" if consent == "active" else form.paper_consent_note.data.strip(),
            created_by=user.id,
            clinic_id=user.clinic_id,
            patient_id=row["patient_id"],
        )
        flash(_("The session is saved."), "info")
        if session_rules.is_mixture(values["drugs"]):
            flash(session_rules.mixture_warning(), "warning")
        return redirect(url_for(".course", course_id=course_id))
    return _session_page(form, row, None, consent=consent)


def _other_session_days(row: dict[str, Any], session: dict[str, Any] | None) -> set:
    """The dates of the course's other sessions (all of them for a new one)."""
    return {
        s["date"]
        for s in treatments.for_course(get_db(), row["id"])
        if session is None or s["id"] != session["id"]
    }


def _date_allowed(form: SessionForm, row: dict[str, Any], session: dict[str, Any] | None) -> bool:
    """The session's date checked by :func:`diary.session_rules.date_problem`."""
    others = _other_session_days(row, session)
    problem = session_rules.date_problem(
        form.date.data,
        today=clinic_today(),
        course_start=row["start_date"],
        other_days=others,
        same_day_confirmed=bool(form.same_day.data),
    )
    if problem:
        form.date.errors = [*form.date.errors, problem]
    return problem is None


def _session_page(
    form: SessionForm,
    row: dict[str, Any],
    session: dict[str, Any] | None,
    *,
    consent: consents.ConsentState | None = None,
):
    """The session form, with what to check before treating: the consent state (for a new
    session), unreviewed allergy signs and screening answers other than "no"."""
    db = get_db()
    clinic = accounts.get_clinic(db, current_user().clinic_id)
    screening = consents.latest_screening(db, row["id"])
    return render_template(
        "clinic/session.html",
        form=form,
        course=row,
        session=session,
        consent=consent,
        allergy_entries=courses.unreviewed_allergy_entries(db, row),
        allergy_signs=entry_rules.ALLERGY_SIGNS,
        screening_flags=[
            (sheet.SCREENING[key], sheet.SCREENING_ANSWERS[a["answer"]], a["detail"])
            for key, a in screening.items()
            if a["answer"] != "no"
        ],
        clinic_drugs=clinic["drugs"],
        several=session_rules.is_mixture(form.drug_rows()),
        mixture_from=session_rules.MIXTURE_FROM,
        mixture_warning=session_rules.mixture_warning(),
        # the box to confirm a second session on one day, once that day is taken
        ask_same_day=bool(form.same_day.data)
        or form.date.data in _other_session_days(row, session),
    )


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@access("clinician")
def edit_session(session_id: int):
    """Correct a recorded session; the audit trail keeps which fields changed."""
    session = same_clinic_or_404(treatments.get_session(get_db(), session_id))
    row = _course_or_404(session["course_id"])
    form = SessionForm()
    if request.method == "GET":
        form.fill(session, default_area=row["area"])
    if form.validate_on_submit() and _date_allowed(form, row, session):
        changed = treatments.update_session(
            get_db(),
            session,
            form.values(),
            clinician_id=current_user().id,
        )
        flash(_("The session is saved.") if changed else _("Nothing was changed."), "info")
        return redirect(url_for(".course", course_id=row["id"]))
    return _session_page(form, row, session)


@bp.route("/consents/<int:consent_id>/countersign", methods=["POST"])
@access("clinician")
def countersign(consent_id: int):
    """Countersign a patient's consent: "I discussed this with the patient and answered
    their questions", with the interpreter, witness or legal representative if any."""
    db = get_db()
    record = same_clinic_or_404(consents.get(db, consent_id))
    form = CountersignForm()
    if record["kind"] != "consent":
        abort(404)
    if form.validate_on_submit():
        user = current_user()
        stored = consents.countersign(
            db,
            record,
            clinician={"id": user.id, "name": user.name},
            statement=str(form.confirm.label.text),
            people={key: form[key].data or "" for key in consents.PEOPLE},
        )
        flash(
            _("The consent is countersigned.")
            if stored
            else _("This consent was countersigned already."),
            "info",
        )
        return redirect(url_for(".course", course_id=record["course_id"]))
    return _course_page(record["course_id"], countersign_form=form), 400


@bp.route("/consents/<int:consent_id>.pdf")
@access("clinician")
@limiter.shared_limit(setting("PDF"), scope="pdf")
def consent_pdf(consent_id: int):
    """The same PDF copy the patient gets, for the chart."""
    db = get_db()
    record = same_clinic_or_404(consents.get(db, consent_id))
    user = current_user()
    response = pdf_response(record, accounts.get_clinic(db, user.clinic_id))
    audit.record(
        db,
        "consent.pdf_opened",
        **_actor(),
        patient_id=record["patient_id"],
        course_id=record["course_id"],
        consent_id=consent_id,
    )
    return response


@bp.route("/courses/<int:course_id>/summary.pdf")
@access("clinician")
@limiter.shared_limit(setting("PDF"), scope="pdf")
def summary_pdf(course_id: int):
    """The PDF summary for the chart, in the clinician's language (``?download=1`` saves it)."""
    row = _course_or_404(course_id)
    db = get_db()
    body = report.render_summary(db, course_id, str(get_locale()))
    name = f"summary-{row['patient_code']}-{clinic_today().isoformat()}.pdf"
    return _audited_download(
        row,
        "report.generated",
        body,
        "application/pdf",
        name,
        inline=not request.args.get("download"),
    )


def _audited_download(
    course: dict[str, Any], action: str, body: str | bytes, mimetype: str, name: str, **kw: Any
):
    """A course's download, audited once the response is built (a failure records nothing)."""
    response = send_download(body, mimetype, name, **kw)
    audit.record(
        get_db(), action, **_actor(), patient_id=course["patient_id"], course_id=course["id"]
    )
    return response


@bp.route("/courses/<int:course_id>/export.csv")
@access("clinician")
@limiter.shared_limit(setting("EXPORT"), scope="export")
def course_export(course_id: int):
    """The course as CSV: one row per diary day and per session."""
    row = _course_or_404(course_id)
    return _audited_download(
        row,
        "export.course_csv",
        exports.course_csv(get_db(), course_id, clinic_today()),
        "text/csv",
        f"course-{row['patient_code']}-{course_id}.csv",
    )


@bp.route("/courses/<int:course_id>/fhir.json")
@access("clinician")
@limiter.shared_limit(setting("EXPORT"), scope="export")
def course_fhir(course_id: int):
    """The course as a FHIR R4 Bundle (JSON)."""
    row = _course_or_404(course_id)
    bundle = exports.fhir_bundle(
        get_db(), course_id, current_app.config["BASE_URL"], clinic_today()
    )
    return _audited_download(
        row,
        "export.fhir",
        json.dumps(bundle, ensure_ascii=False, indent=1),
        "application/fhir+json",
        f"course-{course_id}-fhir.json",
    )


@bp.route("/cohort.csv")
@access("clinician")
@limiter.shared_limit(setting("EXPORT"), scope="export")
def cohort_export():
    """Every course of the clinic as one CSV."""
    user = current_user()
    db = get_db()
    response = send_download(
        exports.cohort_csv(db, user.clinic_id, clinic_today()), "text/csv", "cohort.csv"
    )
    audit.record(db, "export.cohort_csv", **_actor())
    return response


@bp.route("/patients/<int:patient_id>/erase", methods=["GET", "POST"])
@access("admin")
def erase(patient_id: int):
    """Erase a patient's diary content on request, after typing the patient's code."""
    patient = _patient_or_404(patient_id)
    form = EraseForm()
    if form.validate_on_submit():
        if form.code.data.strip() != patient["code"]:
            form.code.errors.append(_("Type the patient's code exactly to confirm."))
        else:
            removed = retention.erase_patient(get_db(), patient_id, clinician_id=current_user().id)
            flash(
                ngettext(
                    "Erased: %(num)d diary entry. Consents and the audit trail are kept.",
                    "Erased: %(num)d diary entries. Consents and the audit trail are kept.",
                    removed.get("diary_entries", 0),
                ),
                "info",
            )
            return redirect(url_for(".patients_list"))
    return render_template("clinic/erase.html", form=form, patient=patient)


# --- cohort ---------------------------------------------------------------------------


@bp.route("/cohort")
@access("clinician")
def cohort():
    """The clinic's results beside the reference figures of paper 001."""
    user = current_user()
    db = get_db()
    today = clinic_today()
    area = request.args.get("area") if request.args.get("area") in AREA_LABELS else None
    start_from = _date_arg("from")
    start_to = _date_arg("to")
    listed = courses.list_courses(
        db, user.clinic_id, area=area, start_from=start_from, start_to=start_to
    )
    by_entries = courses.entries_by_course(db, user.clinic_id)
    by_sessions = courses.sessions_by_course(db, user.clinic_id)
    results = [
        outcomes.of_course(c, by_sessions.get(c["id"], []), by_entries.get(c["id"], []), today)
        for c in listed
    ]
    functions = _functions(db, user.clinic_id, listed)
    return render_template(
        "clinic/cohort.html",
        cohort=outcomes.cohort(results),
        cohort_function=function_outcomes.cohort(list(functions.values())),
        comprehension=_comprehension(db, user.clinic_id),
        quiz_titles={q.key: q.text for q in sheet.quiz(accounts.get_clinic(db, user.clinic_id))},
        area=area,
        start_from=start_from.isoformat() if start_from else "",
        start_to=start_to.isoformat() if start_to else "",
        reference=REFERENCE,
        citation=CITATION,
    )


def _comprehension(db, clinic_id: int) -> dict[tuple[int, str], list]:
    """First-try miss rates of the comprehension check by (version, language), each a list
    in question order (:mod:`diary.comprehension`)."""
    questions = [q.key for q in sheet.quiz(accounts.get_clinic(db, clinic_id))]
    table: dict[tuple[int, str], list] = {}
    for rate in comprehension.miss_rates(consents.first_attempts(db, clinic_id), questions):
        table.setdefault((rate.version, rate.locale), []).append(rate)
    return table


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name) or "")
    except ValueError:
        return None
