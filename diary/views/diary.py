"""The daily pain diary: the entry form, the offline sync endpoint, history and reminders,
plus what makes the diary an installable, offline-first PWA (manifest, service worker,
offline page)."""

from __future__ import annotations

import binascii
import dataclasses
import hashlib
import hmac
import json
from base64 import urlsafe_b64decode
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import assets, calendar_feed, clock, entry_rules, function_outcomes, reminders
from ..db import get_db, transaction
from ..entry_rules import EntryError
from ..forms import ActionForm, EntryForm, ReminderForm
from ..queries import accounts, answers, audit, consents, entries, patients, treatments
from ..queries import push as subscriptions
from ..security import access, current_user, external_url, queue_id
from ..sheet import SHEET_VERSION
from .download import send_download

bp = Blueprint("diary", __name__)


class ConsentRequired(Exception):
    """The course has no active consent: nothing may be stored."""


def _course() -> dict[str, Any]:
    course = patients.current_course(get_db(), current_user().id)
    if course is None:
        abort(404)
    return course


def store_entry(data: Any) -> tuple[str, dict[str, Any], entry_rules.EntryInput]:
    """Validate and store one entry for the signed-in patient (form and sync share this).

    Raises ConsentRequired without an active consent and EntryError for a refused entry.
    """
    user = current_user()
    db = get_db()
    course = _course()
    if not consents.is_active(db, course["id"], SHEET_VERSION):
        raise ConsentRequired()
    now = clock.now()
    entry = entry_rules.parse(data, default_day=clock.today(user.timezone), now=now)
    today = entry_rules.patient_today(now, entry.device_time, user.timezone)
    # stored as the time of saving: a phone clock running ahead is not believed
    entry = dataclasses.replace(entry, device_time=entry_rules.saved_at(now, entry.device_time))
    entry_rules.timing(entry.day, today)  # today or yesterday only
    if not entry_rules.diary_open(entry.day, course["end_date"]):
        raise entry_rules.course_ended_error()
    try:
        outcome, row = entries.save(
            db,
            course["id"],
            entry,
            today,
            patient_id=user.id,
            clinic_id=user.clinic_id,
            locale=str(get_locale()),
        )
    except entries.DayClosed:
        raise entry_rules.day_closed_error() from None
    return outcome, row, entry


@bp.route("/diary/entry", methods=["GET", "POST"])
@access("patient")
def entry():
    """Fill in (or correct) today's or yesterday's pain ratings."""
    user = current_user()
    db = get_db()
    course = _course()
    today = clock.today(user.timezone)
    if not consents.is_active(db, course["id"], SHEET_VERSION):
        if request.method == "POST":
            abort(403)
        return redirect(url_for("patient.home"))
    day = (
        today - timedelta(days=1)
        if request.values.get("day") == (today - timedelta(days=1)).isoformat()
        else today
    )
    existing = entries.get_for_day(db, course["id"], day)
    form = EntryForm()
    error = None
    if request.method == "POST":
        if not form.validate():  # the CSRF token
            abort(400)
        data: dict[str, Any] = {key: request.form.get(key) for key in request.form}
        data["site_effects"] = request.form.getlist("site_effects")
        data["allergy_signs"] = request.form.getlist("allergy_signs")
        try:
            outcome, row, saved = store_entry(data)
        except EntryError as exc:
            error = exc
            if exc.field in form:
                form[exc.field].errors = [exc.message]
        else:
            if saved.allergy_signs:
                return render_template("diary/urgent.html", clinic=_clinic(), saved=True)
            return redirect(url_for("patient.home", saved=outcome))
    elif existing is not None:
        _fill(form, existing)
    if not entry_rules.can_change(day, today, existing):
        return redirect(url_for("patient.home"))
    asked = _asked(course, day)
    if request.method == "GET":
        _fill_answers(form, course["id"], day)
    return render_template(
        "diary/entry.html",
        form=form,
        ask_peg=asked["peg"],
        ask_pgic=asked["pgic"],
        day=day,
        today=today,
        existing=existing,
        error=error,
        clinic=_clinic(),
        site_effects=entry_rules.SITE_EFFECTS,
        allergy_signs=entry_rules.ALLERGY_SIGNS,
        queue_id=queue_id(user.id),
    ), 400 if error else 200


def _fill(form: EntryForm, row: dict[str, Any]) -> None:
    form.avg.data = str(row["avg_nrs"])
    form.worst.data = str(row["worst_nrs"])
    form.site_effects.data = row["site_effects"]
    form.allergy_signs.data = row["allergy_signs"]
    form.medication_taken.data = {True: "yes", False: "no"}.get(row["medication_taken"])
    form.medication.data = row["medication"]
    form.note.data = row["note"]


def _asked(course: dict[str, Any], day: Any) -> dict[str, bool]:
    """Which of the PEG and the PGIC the entry page asks on ``day``
    (:mod:`diary.function_outcomes`)."""
    db = get_db()
    return {
        "peg": function_outcomes.asks_peg(
            course["start_date"], day, answers.for_course(db, answers.PEG, course["id"])
        ),
        "pgic": function_outcomes.asks_pgic(
            day,
            treatments.for_course(db, course["id"]),
            answers.for_course(db, answers.PGIC, course["id"]),
            course["end_date"],
        ),
    }


def _fill_answers(form: EntryForm, course_id: int, day: Any) -> None:
    """The day's PEG and PGIC answers, to be corrected with the entry."""
    db = get_db()
    peg = answers.get_for_day(db, answers.PEG, course_id, day)
    if peg is not None:
        for name in entry_rules.PEG_FIELDS:
            form[name].data = str(peg[name.removeprefix("peg_")])
    pgic = answers.get_for_day(db, answers.PGIC, course_id, day)
    if pgic is not None:
        form.pgic.data = str(pgic["value"])


def _clinic() -> dict[str, Any]:
    return accounts.get_clinic(get_db(), current_user().clinic_id)


@bp.route("/diary/urgent")
@access("patient")
def urgent():
    """Urgent advice after a possible allergic reaction was reported."""
    return render_template("diary/urgent.html", clinic=_clinic(), saved=True)


def same_origin_request() -> bool:
    """True when the browser says this request comes from our own pages.

    The sync endpoint takes no CSRF token: an entry queued offline may be sent days later,
    after any token would have expired, and losing it is not acceptable. Instead it needs
    the session cookie (SameSite=Lax, so other sites' requests do not carry it), a JSON
    body (which a cross-site form cannot send without a CORS preflight that we never
    grant), and the browser's own statement of where the request comes from:
    ``Sec-Fetch-Site: same-origin`` or, from older browsers, a matching ``Origin``.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    return parts.scheme == request.scheme and parts.netloc == request.host


@bp.route("/api/entries", methods=["POST"])
@access("patient")
def sync():
    """Receive one entry from the phone's queue (JSON). Idempotent on the patient's
    ``client_id``; refused (409) when its ``queue_id`` is not the signed-in patient's."""
    if not same_origin_request():
        return jsonify(error=_("This request was refused.")), 403
    data = request.get_json(silent=True)  # None when not JSON (nested too deep included)
    if not request.is_json or not isinstance(data, dict):
        return jsonify(error=_("This entry could not be read. Please try again.")), 400
    if not data.get("client_id"):
        return jsonify(
            error=_("This entry could not be read. Please try again."), field="client_id"
        ), 400
    queue = data.get("queue_id")
    if not queue or not isinstance(queue, str):
        # queued by an older version of the app, which did not say whose diary it is for
        return jsonify(
            error=_(
                "This entry was saved by an older version of the app and was not sent."
                " Please fill in the day again."
            ),
            field="queue_id",
        ), 409
    if not hmac.compare_digest(
        queue.encode("utf-8", "replace"), queue_id(current_user().id).encode()
    ):
        # saved on this phone for another patient's diary: never stored under this one
        return jsonify(
            error=_("This entry was saved on this phone for another diary. It was not sent."),
            field="queue_id",
        ), 409
    try:
        outcome, row, saved = store_entry(data)
    except ConsentRequired:
        return jsonify(error=_("Please give your consent before you use the diary.")), 403
    except EntryError as exc:
        # a wrong phone clock or an unreadable field: the request itself is wrong (400)
        return jsonify(error=exc.message, field=exc.field), (
            400 if exc.field == "device_time" else 422
        )
    body = {
        "status": outcome,
        "day": row["day"].isoformat(),
        "late": bool(row["late"]),
        "urgent": bool(saved.allergy_signs),
    }
    return jsonify(body), 201 if outcome == "created" else 200


@bp.route("/diary/history")
@access("patient")
def history():
    """Every entry of the patient's course, newest first."""
    db = get_db()
    course = _course()
    rows = sorted(entries.for_course(db, course["id"]), key=lambda r: r["day"], reverse=True)
    return render_template(
        "diary/history.html",
        rows=rows,
        pegs={a["day"]: a for a in answers.for_course(db, answers.PEG, course["id"])},
        pgics={a["day"]: a["value"] for a in answers.for_course(db, answers.PGIC, course["id"])},
        pgic_labels=function_outcomes.PGIC_LABELS,
        corrections=entries.corrections(db, course["id"]),
        site_effects=entry_rules.SITE_EFFECTS,
        allergy_signs=entry_rules.ALLERGY_SIGNS,
    )


@bp.route("/diary/install")
@access("patient")
def install():
    """How to add the diary to the home screen (Android, iPhone), and a button where the
    browser offers to install it."""
    return render_template("diary/install.html")


# --- reminders ------------------------------------------------------------------------


@bp.route("/diary/reminder", methods=["GET", "POST"])
@access("patient")
def reminder():
    """Choose the reminder time; get an .ics file or a calendar subscription."""
    user = current_user()
    db = get_db()
    patient = patients.get_patient(db, user.id)
    form = ReminderForm()
    feed_url = None
    if form.validate_on_submit():
        time_text = form.time.data.strftime("%H:%M")
        token = patients.set_reminder(db, user.id, time_text)
        feed_url = external_url("diary.calendar", token=token)
        patient = patients.get_patient(db, user.id)
    elif request.method == "GET" and patient["reminder_time"]:
        form.time.data = calendar_feed.parse_time(patient["reminder_time"])
    return render_template(
        "diary/reminder.html",
        form=form,
        patient=patient,
        feed_url=feed_url,
        has_feed=patients.has_calendar_feed(db, user.id),
        stop_form=ActionForm(),
        reminder_title=calendar_feed.TITLE,
        visit_title=calendar_feed.VISIT_TITLE,
        push=_push_state(user.session_id),
    )


def _push_state(session_id: int) -> dict[str, Any]:
    """What the reminder page's notification switch needs: the server's public key, and
    whether this phone is subscribed (with a fingerprint of its endpoint, so the page
    can tell when the browser's subscription changed)."""
    found = subscriptions.for_session(get_db(), session_id)
    return {
        "key": reminders.application_server_key(current_app.config),
        "on": found is not None,
        "fingerprint": _fingerprint(found["endpoint"]) if found else "",
        "title": reminders.TITLE,
    }


def _fingerprint(endpoint: str) -> str:
    """SHA-256 (hex) of an endpoint: the page compares, the endpoint is not shown."""
    return hashlib.sha256(endpoint.encode()).hexdigest()


def _b64url(value: Any, size: int) -> str | None:
    """``value`` when it is base64url text of ``size`` bytes, else None."""
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        raw = urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return value if len(raw) == size else None


def _subscription() -> tuple[str, str, str] | None:
    """The endpoint and keys of the subscription in the request's JSON body, as the
    browser writes it, each checked; None when any is missing or not acceptable."""
    data = request.get_json(silent=True) if request.is_json else None
    keys = data.get("keys") if isinstance(data, dict) else None
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    p256dh = _b64url(keys.get("p256dh"), 65) if isinstance(keys, dict) else None
    auth = _b64url(keys.get("auth"), 16) if isinstance(keys, dict) else None
    allow_loopback = reminders.loopback_allowed(current_app.config)
    if not (p256dh and auth and reminders.valid_endpoint(endpoint, allow_loopback=allow_loopback)):
        return None
    return endpoint, p256dh, auth


@bp.route("/diary/reminder/push", methods=["POST"])
@access("patient")
def push_subscribe():
    """Store this phone's push subscription (JSON from the page's button, with the CSRF
    token in ``X-CSRFToken``); it replaces the phone's earlier one."""
    found = _subscription()
    if found is None:
        return jsonify(error=_("This request was refused.")), 400
    endpoint, p256dh, auth = found
    user = current_user()
    db = get_db()
    with transaction(db):  # the subscription and its audit event, or neither
        changed = subscriptions.save(
            db, user.id, user.session_id, endpoint, p256dh, auth, cap=reminders.MAX_SUBSCRIPTIONS
        )
        if changed:
            audit.record(
                db, "reminder.push_on", actor="patient", actor_id=user.id,
                clinic_id=user.clinic_id, patient_id=user.id,
            )  # fmt: skip
    return jsonify(on=True, fingerprint=_fingerprint(endpoint)), 201 if changed else 200


@bp.route("/api/push-subscription", methods=["POST"])
@access("patient")
def push_renew():
    """The service worker's ``pushsubscriptionchange``: the push service replaced this
    phone's subscription, and the worker sends the new one (JSON) so that reminders keep
    coming without the patient opening the reminder page.

    A worker has no form token: like the sync endpoint, this takes the session cookie, a
    JSON body and the browser's same-origin statement. It only *replaces* a subscription
    this phone already has (409 otherwise: notifications turned off stay off), and it is
    not an audit event: the patient chose nothing, the browser changed its address."""
    if not same_origin_request():
        return jsonify(error=_("This request was refused.")), 403
    found = _subscription()
    if found is None:
        return jsonify(error=_("This request was refused.")), 400
    user = current_user()
    db = get_db()
    with transaction(db):
        if not subscriptions.for_session(db, user.session_id):
            return jsonify(error=_("This request was refused.")), 409
        subscriptions.save(db, user.id, user.session_id, *found, cap=reminders.MAX_SUBSCRIPTIONS)
    return jsonify(on=True, fingerprint=_fingerprint(found[0]))


@bp.route("/diary/reminder/push/stop", methods=["POST"])
@access("patient")
def push_unsubscribe():
    """Turn notifications off on this phone (the page also unsubscribes the browser)."""
    if ActionForm().validate_on_submit():
        user = current_user()
        db = get_db()
        with transaction(db):
            if subscriptions.remove_for_session(db, user.id, user.session_id):
                audit.record(
                    db, "reminder.push_off", actor="patient", actor_id=user.id,
                    clinic_id=user.clinic_id, patient_id=user.id,
                )  # fmt: skip
    return redirect(url_for(".reminder"))


@bp.route("/diary/reminder.ics")
@access("patient")
def reminder_ics():
    """A one-off .ics file with the daily reminder, to open in the phone's calendar."""
    user = current_user()
    patient = patients.get_patient(get_db(), user.id)
    if not patient["reminder_time"]:
        return redirect(url_for(".reminder"))
    body = _reminders(user.id, patient["reminder_time"], user.timezone, None)
    return send_download(body, "text/calendar", "pain-diary.ics")


def _reminders(patient_id: int, at: str, timezone: str, locale: str | None) -> bytes:
    """The patient's reminder calendar as their course stands today: the daily reminder
    while the diary is open (until the course's end date), the next expected visit, and
    nothing once consent is withdrawn or the course is closed."""
    db = get_db()
    course = patients.current_course(db, patient_id)
    latest = consents.latest(db, course["id"]) if course else None
    active = latest is not None and latest["kind"] == "consent"
    until = course["end_date"] if course else None
    visits = []
    sessions = treatments.for_course(db, course["id"]) if course else []
    if sessions:
        clinic = accounts.get_clinic(db, patients.get_patient(db, patient_id)["clinic_id"])
        visits = [sessions[-1]["date"] + timedelta(days=clinic["session_interval_days"])]
    return calendar_feed.reminder_calendar(
        at,
        timezone,
        external_url("diary.entry"),
        uid_seed=f"patient-{patient_id}",
        locale=locale,
        active=active,
        until=until,
        visits=visits,
    )


@bp.route("/diary/reminder/stop", methods=["POST"])
@access("patient")
def reminder_stop():
    """Stop the calendar subscription (its address stops working at once)."""
    if ActionForm().validate_on_submit():
        patients.stop_reminder(get_db(), current_user().id)
    return redirect(url_for(".reminder"))


@bp.route("/cal/<token>.ics")
@access("anonymous")
def calendar(token: str):
    """The subscribable reminder feed. Its own revocable token; no health data in it."""
    found = patients.find_calendar(get_db(), token) if len(token) <= 128 else None
    if found is None or not found["reminder_time"]:
        abort(404)
    body = _reminders(
        found["patient_id"], found["reminder_time"], found["timezone"], found["locale"]
    )
    return Response(body, mimetype="text/calendar")


# --- the installable app shell --------------------------------------------------------


@bp.route("/manifest.webmanifest")
@access("anonymous")
def manifest():
    """The web app manifest (name and colours; start page is the diary home)."""
    icons = [
        {
            "src": assets.url(f"icons/{name}-{size}.png"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": purpose,
        }
        for name, purpose in (("icon", "any"), ("icon-maskable", "maskable"))
        for size in (192, 512)
    ]
    body = {
        "name": _("Pain diary"),
        "short_name": _("Pain diary"),
        "description": _("Your daily pain diary between mesotherapy sessions."),
        "start_url": url_for("patient.home"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#f3f6f7",
        "theme_color": "#0b5560",
        "lang": str(get_locale()),
        "icons": icons,
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    if request.args.get("v") == assets.release():
        # the page links it with the release and the language in the URL: it cannot change
        response.headers["Cache-Control"] = assets.IMMUTABLE
    return response


@bp.route("/apple-touch-icon.png")
@access("anonymous")
def apple_touch_icon():
    """The home-screen icon where iOS looks for it (no <link> for it on every page: other
    phones would download it for nothing)."""
    return redirect(assets.url("icons/icon-192.png"))


#: what the service worker precaches (under their hashed URLs) besides the offline page
SHELL_FILES = (
    "js/patient.js",
    "css/patient.css",
    "icons/icon.svg",
    "icons/icon-192.png",
)


@bp.route("/sw.js")
@access("anonymous")
def service_worker():
    """The service worker, served from the root so that its scope is the whole site, with
    the release's shell URLs (content-hashed) above it: a new release is a new worker."""
    found = assets.manifest()
    build = {
        "version": found.version,
        "queue": assets.url("js/queue.js"),
        "shell": [url_for(".offline"), *(assets.url(name) for name in SHELL_FILES)],
        # a push message that cannot be read still shows a notification, in these words
        "notice": {"title": str(reminders.TITLE), "body": str(reminders.BODY)},
        "icon": assets.url("icons/icon-192.png"),
        "pushRenew": url_for(".push_renew"),
    }
    script = found.by_name["js/sw.js"].body or b""
    body = b"var BUILD = " + json.dumps(build).encode() + b";\n" + script
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.route("/offline")
@access("anonymous")
def offline():
    """The offline page: an empty entry form the phone can fill in without a network.

    It holds no patient data, so the service worker may keep it.
    """
    return render_template(
        "diary/offline.html",
        form=EntryForm(meta={"csrf": False}),
        site_effects=entry_rules.SITE_EFFECTS,
        allergy_signs=entry_rules.ALLERGY_SIGNS,
    )
