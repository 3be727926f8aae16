"""Patients, treatment courses and the personal-link tokens that sign their devices in."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, NamedTuple

import sqlite_utils

from .. import clock
from ..db import transaction
from ..security import new_token, token_hash
from . import audit
from .accounts import end_sessions
from .courses import set_end
from .rows import COURSE, TOKEN, decode_all, encode_date, first

AREAS = ("neck", "low_back", "shoulder", "knee", "hip", "tendon", "other")

#: a patient code: 1-40 letters (any script), digits, spaces and . - / (never a name)
CODE_MAX = 40
CODE_PATTERN = r"^[\w.\-/ ]+$"


class InvalidCode(ValueError):
    """A patient code that breaks :data:`CODE_PATTERN` or :data:`CODE_MAX`."""


class CodeTaken(ValueError):
    """The clinic already has a patient with this code."""


def check_code(code: str) -> str:
    """The code, stripped, if it is a valid patient code; InvalidCode otherwise."""
    code = code.strip()
    if not code or len(code) > CODE_MAX or not re.match(CODE_PATTERN, code):
        raise InvalidCode(code)
    return code


def create_patient(
    db: sqlite_utils.Database,
    clinic_id: int,
    code: str,
    *,
    locale: str = "en",
    birth_year: int | None = None,
    contact_note: str = "",
) -> int:
    """Insert a patient (pseudonymous code, unique within the clinic); return the id.

    Raises InvalidCode or CodeTaken; nothing is stored then.
    """
    code = check_code(code)
    with transaction(db):
        if find_patient(db, clinic_id, code) is not None:
            raise CodeTaken(code)
        cursor = db.execute(
            "INSERT INTO patients (clinic_id, code, locale, birth_year, contact_note, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [clinic_id, code, locale, birth_year, contact_note, clock.iso()],
        )
    return int(cursor.lastrowid)


def get_patient(db: sqlite_utils.Database, patient_id: int) -> dict[str, Any] | None:
    """One patient by id."""
    return next(db.query("SELECT * FROM patients WHERE id = ?", [patient_id]), None)


def find_patient(db: sqlite_utils.Database, clinic_id: int, code: str) -> dict[str, Any] | None:
    """A clinic's patient by code (exact, case-sensitive as entered)."""
    return next(
        db.query(
            "SELECT * FROM patients WHERE clinic_id = ? AND code = ?", [clinic_id, code.strip()]
        ),
        None,
    )


def set_patient_locale(db: sqlite_utils.Database, patient_id: int, locale: str) -> None:
    """Save the patient's language (used for their pages, PDFs and reminders)."""
    with transaction(db):
        db.execute("UPDATE patients SET locale = ? WHERE id = ?", [locale, patient_id])


def create_course(
    db: sqlite_utils.Database, patient_id: int, area: str, start_date: date, area_note: str = ""
) -> int:
    """Insert a treatment course for a patient; return its id (not audited: see
    :func:`enrol` and :func:`open_course`, which the web and the CLI use)."""
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO courses (patient_id, area, area_note, start_date, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [patient_id, area, area_note, encode_date(start_date), clock.iso()],
        )
    return int(cursor.lastrowid)


class Enrolled(NamedTuple):
    """A new patient, their first course and their personal link's token (shown once)."""

    patient_id: int
    course_id: int
    token: str


def enrol(
    db: sqlite_utils.Database,
    clinic_id: int,
    code: str,
    *,
    area: str,
    start: date,
    locale: str,
    birth_year: int | None = None,
    contact_note: str = "",
    actor: str = "system",
    actor_id: int | None = None,
) -> Enrolled:
    """Add a patient with a first course and a personal link, audited, in one transaction.

    The clinician's enrol form and ``flask patient enroll`` both come here. Raises
    InvalidCode or CodeTaken; nothing is stored then.
    """
    with transaction(db):
        patient_id = create_patient(
            db, clinic_id, code, locale=locale, birth_year=birth_year, contact_note=contact_note
        )
        course_id = create_course(db, patient_id, area, start)
        audit.record(
            db,
            "patient.enrolled",
            actor=actor,
            actor_id=actor_id,
            clinic_id=clinic_id,
            patient_id=patient_id,
            course_id=course_id,
        )
        token = issue_link(db, patient_id, actor=actor, actor_id=actor_id)
    return Enrolled(patient_id, course_id, token)


def open_course(
    db: sqlite_utils.Database,
    patient: dict[str, Any],
    area: str,
    start: date,
    *,
    actor: str = "clinician",
    actor_id: int | None = None,
) -> int:
    """Open a further course for a patient, closing the open one on ``start``; audited."""
    with transaction(db):
        previous = current_course(db, patient["id"])
        if previous and not previous["end_date"]:
            set_end(db, get_course(db, previous["id"]), start, actor=actor, actor_id=actor_id)
        course_id = create_course(db, patient["id"], area, start)
        audit.record(
            db,
            "course.opened",
            actor=actor,
            actor_id=actor_id,
            clinic_id=patient["clinic_id"],
            patient_id=patient["id"],
            course_id=course_id,
        )
    return course_id


def get_course(db: sqlite_utils.Database, course_id: int) -> dict[str, Any] | None:
    """One course with its patient's code, language and clinic."""
    return first(
        db.query(
            "SELECT c.*, p.code AS patient_code, p.locale AS patient_locale, p.clinic_id"
            " FROM courses c JOIN patients p ON p.id = c.patient_id WHERE c.id = ?",
            [course_id],
        ),
        COURSE,
    )


def current_course(db: sqlite_utils.Database, patient_id: int) -> dict[str, Any] | None:
    """The patient's most recent course."""
    return first(
        db.query(
            "SELECT * FROM courses WHERE patient_id = ? ORDER BY start_date DESC, id DESC LIMIT 1",
            [patient_id],
        ),
        COURSE,
    )


def list_patients(
    db: sqlite_utils.Database, clinic_id: int, search: str = ""
) -> list[dict[str, Any]]:
    """A clinic's patients with their latest course, optionally filtered by code."""
    sql = """
    SELECT p.id, p.code, p.locale, p.created_at,
           c.id AS course_id, c.area, c.start_date, c.end_date,
           (SELECT count(*) FROM access_tokens t WHERE t.patient_id = p.id
                AND t.purpose = 'link' AND t.revoked_at IS NULL) AS active_links,
           k.kind AS consent_kind, k.sheet_version AS consent_version,
           k.created_at AS consent_at,
           (SELECT count(*) FROM screening_answers s WHERE s.id IN (
                SELECT max(id) FROM screening_answers WHERE course_id = c.id GROUP BY question)
                AND s.answer != 'no') AS screening_flags
    FROM patients p
    LEFT JOIN courses c ON c.id = (
        SELECT id FROM courses WHERE patient_id = p.id ORDER BY start_date DESC, id DESC LIMIT 1)
    LEFT JOIN consents k ON k.id = (SELECT max(id) FROM consents WHERE course_id = c.id)
    WHERE p.clinic_id = ? AND (? = '' OR p.code LIKE '%' || ? || '%' ESCAPE '\\')
    ORDER BY p.code
    """
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return decode_all(db.query(sql, [clinic_id, escaped, escaped]), COURSE)


# --- personal links -------------------------------------------------------------------


def issue_link(
    db: sqlite_utils.Database,
    patient_id: int,
    *,
    actor: str = "system",
    actor_id: int | None = None,
) -> str:
    """Revoke the patient's links (signing out their devices) and issue a new one.

    Returns the new token; only its SHA-256 is stored, so it can be shown only now.
    """
    token = new_token()
    _replace_links(db, patient_id, token, actor=actor, actor_id=actor_id)
    return token


def revoke_links(
    db: sqlite_utils.Database,
    patient_id: int,
    *,
    actor: str = "system",
    actor_id: int | None = None,
) -> int:
    """Revoke every personal link of a patient and sign out their devices at once."""
    return _replace_links(db, patient_id, None, actor=actor, actor_id=actor_id)


def _replace_links(
    db: sqlite_utils.Database,
    patient_id: int,
    token: str | None,
    *,
    actor: str,
    actor_id: int | None,
) -> int:
    """Revoke the links, store ``token`` as the new one if given, audit; return how many
    links were revoked."""
    patient = get_patient(db, patient_id)
    if patient is None:
        raise LookupError(patient_id)
    with transaction(db):
        revoked = _revoke_links(db, patient_id)
        if token is not None:
            _insert_token(db, patient_id, "link", token)
        audit.record(
            db,
            "link.issued" if token is not None else "link.revoked",
            actor=actor,
            actor_id=actor_id,
            clinic_id=patient["clinic_id"],
            patient_id=patient_id,
            revoked=revoked,
        )
    return revoked


def _insert_token(db: sqlite_utils.Database, patient_id: int, purpose: str, token: str) -> None:
    db.execute(
        "INSERT INTO access_tokens (patient_id, purpose, token_hash, created_at)"
        " VALUES (?, ?, ?, ?)",
        [patient_id, purpose, token_hash(token), clock.iso()],
    )


def _revoke_tokens(db: sqlite_utils.Database, patient_id: int, purpose: str) -> int:
    return db.execute(
        "UPDATE access_tokens SET revoked_at = ? WHERE patient_id = ? AND purpose = ?"
        " AND revoked_at IS NULL",
        [clock.iso(), patient_id, purpose],
    ).rowcount


def revoke_everything(db: sqlite_utils.Database, patient_id: int) -> int:
    """Revoke every token of a patient (links and calendar feed) and sign out their
    devices, inside the caller's transaction; return how many tokens were revoked.
    (Erasure uses this; its caller audits.)"""
    revoked = _revoke_links(db, patient_id) + _revoke_tokens(db, patient_id, "calendar")
    return revoked


def _revoke_links(db: sqlite_utils.Database, patient_id: int) -> int:
    revoked = _revoke_tokens(db, patient_id, "link")
    end_sessions(db, patient_id=patient_id)
    return revoked


def find_link(db: sqlite_utils.Database, token: str, unused_days: int) -> dict[str, Any] | None:
    """The unrevoked link token matching ``token``, with its patient's clinic and locale;
    ``expired`` is True when it was not used to sign in for ``unused_days`` (counted from
    its last use, or from when it was issued)."""
    link = first(
        db.query(
            "SELECT t.id, t.patient_id, t.created_at, t.last_used_at, p.clinic_id, p.locale"
            " FROM access_tokens t JOIN patients p ON p.id = t.patient_id"
            " WHERE t.token_hash = ? AND t.purpose = 'link' AND t.revoked_at IS NULL",
            [token_hash(token)],
        ),
        TOKEN,
    )
    if link is None:
        return None
    used = clock.parse(link["last_used_at"] or link["created_at"])
    return {**link, "expired": clock.now() - used > timedelta(days=unused_days)}


def mark_link_used(db: sqlite_utils.Database, token_id: int) -> None:
    """Record that a link signed a device in (its unused time starts again)."""
    with transaction(db):
        db.execute(
            "UPDATE access_tokens SET last_used_at = ? WHERE id = ?", [clock.iso(), token_id]
        )


# --- calendar reminder feed -------------------------------------------------------------


def set_reminder(db: sqlite_utils.Database, patient_id: int, at: str) -> str:
    """Save the reminder time and issue a new calendar-feed token (the old one stops)."""
    token = new_token()
    with transaction(db):
        db.execute("UPDATE patients SET reminder_time = ? WHERE id = ?", [at, patient_id])
        _revoke_tokens(db, patient_id, "calendar")
        _insert_token(db, patient_id, "calendar", token)
    return token


def stop_reminder(db: sqlite_utils.Database, patient_id: int) -> None:
    """Revoke the calendar feed (the time stays saved for a later .ics download)."""
    with transaction(db):
        _revoke_tokens(db, patient_id, "calendar")


def has_calendar_feed(db: sqlite_utils.Database, patient_id: int) -> bool:
    """True when the patient has a working calendar-feed address."""
    return bool(
        db.execute(
            "SELECT 1 FROM access_tokens WHERE patient_id = ? AND purpose = 'calendar'"
            " AND revoked_at IS NULL",
            [patient_id],
        ).fetchone()
    )


def find_calendar(db: sqlite_utils.Database, token: str) -> dict[str, Any] | None:
    """The patient behind a calendar-feed token, with reminder time, locale and time zone."""
    return next(
        db.query(
            "SELECT p.id AS patient_id, p.reminder_time, p.locale, k.timezone"
            " FROM access_tokens t JOIN patients p ON p.id = t.patient_id"
            " JOIN clinics k ON k.id = p.clinic_id"
            " WHERE t.token_hash = ? AND t.purpose = 'calendar' AND t.revoked_at IS NULL",
            [token_hash(token)],
        ),
        None,
    )
