"""Consent records (append-only), screening answers and comprehension-check attempts."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Literal

import sqlite_utils

from .. import clock
from ..db import transaction
from ..sheet import needs_new_consent, text_hash
from . import audit
from .rows import CONSENT, COUNTERSIGNATURE, QUIZ, decode_all, encode_json, first

ConsentState = Literal["none", "active", "outdated", "withdrawn"]


def course_owner(db: sqlite_utils.Database, course_id: int) -> dict[str, Any]:
    """The patient and clinic of a course (for audit events and scoping)."""
    return next(
        db.query(
            "SELECT c.id AS course_id, p.id AS patient_id, p.clinic_id FROM courses c"
            " JOIN patients p ON p.id = c.patient_id WHERE c.id = ?",
            [course_id],
        )
    )


def _audit(db: sqlite_utils.Database, action: str, course_id: int, **detail: Any) -> None:
    owner = course_owner(db, course_id)
    audit.record(
        db,
        action,
        actor="patient",
        actor_id=owner["patient_id"],
        clinic_id=owner["clinic_id"],
        patient_id=owner["patient_id"],
        course_id=course_id,
        **detail,
    )


def record_step(db: sqlite_utils.Database, course_id: int, action: str, **detail: Any) -> None:
    """Audit one step of the consent journey (section read, review shown, PDF opened...)."""
    _audit(db, action, course_id, **detail)


# --- screening ------------------------------------------------------------------------


def record_screening(
    db: sqlite_utils.Database,
    course_id: int,
    sheet_version: int,
    answers: dict[str, tuple[str, str]],
) -> None:
    """Store one submission of the screening questions: {question: (answer, detail)}."""
    now = clock.iso()
    with transaction(db):
        for question, (answer, detail) in answers.items():
            db.execute(
                "INSERT INTO screening_answers (course_id, question, answer, detail,"
                " sheet_version, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [course_id, question, answer, detail, sheet_version, now],
            )
        flagged = sorted(q for q, (a, _d) in answers.items() if a != "no")
        _audit(db, "screening.answered", course_id, flagged=flagged)


def latest_screening(db: sqlite_utils.Database, course_id: int) -> dict[str, dict[str, Any]]:
    """The most recent answer to each screening question of a course."""
    rows = db.query(
        "SELECT * FROM screening_answers WHERE id IN (SELECT max(id) FROM screening_answers"
        " WHERE course_id = ? GROUP BY question)",
        [course_id],
    )
    return {row["question"]: row for row in rows}


def screening_done(db: sqlite_utils.Database, course_id: int, sheet_version: int) -> bool:
    """True when the screening questions were answered for this sheet version."""
    return bool(
        db.execute(
            "SELECT 1 FROM screening_answers WHERE course_id = ? AND sheet_version = ? LIMIT 1",
            [course_id, sheet_version],
        ).fetchone()
    )


def screening_flags(db: sqlite_utils.Database, course_id: int) -> list[str]:
    """Questions whose latest answer is "yes" or "not sure": the clinician reviews them."""
    return sorted(q for q, row in latest_screening(db, course_id).items() if row["answer"] != "no")


# --- comprehension check ---------------------------------------------------------------


def record_quiz(
    db: sqlite_utils.Database,
    course_id: int,
    sheet_version: int,
    answers: dict[str, str],
    wrong: list[str],
    locale: str = "",
) -> int:
    """Store one attempt at the comprehension check (taken in ``locale``); return its id."""
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO quiz_attempts (course_id, sheet_version, answers, wrong, passed,"
            " created_at, locale) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                course_id,
                sheet_version,
                encode_json(answers),
                encode_json(wrong),
                int(not wrong),
                clock.iso(),
                locale,
            ],
        )
        _audit(db, "quiz.attempted", course_id, passed=not wrong, wrong=wrong)
    return int(cursor.lastrowid)


def quiz_passed(db: sqlite_utils.Database, course_id: int, sheet_version: int) -> bool:
    """True when an attempt for this sheet version had every answer right."""
    return bool(
        db.execute(
            "SELECT 1 FROM quiz_attempts WHERE course_id = ? AND sheet_version = ? AND passed = 1",
            [course_id, sheet_version],
        ).fetchone()
    )


def quiz_attempts(db: sqlite_utils.Database, course_id: int) -> list[dict[str, Any]]:
    """Every attempt of a course, oldest first."""
    return decode_all(
        db.query("SELECT * FROM quiz_attempts WHERE course_id = ? ORDER BY id", [course_id]), QUIZ
    )


# --- consents and withdrawals ----------------------------------------------------------


def give(
    db: sqlite_utils.Database,
    course_id: int,
    *,
    sheet_version: int,
    locale: str,
    text: str,
    agreements: dict[str, bool],
    full_name: str,
    signature_png: bytes | None,
    user_agent: str,
    created_at: str | None = None,
) -> int:
    """Store a consent and return its id. Durable: on disk before this returns.

    One consent per agreement: when the course's latest record is already a consent to
    this sheet version (a double click, a retried request), nothing is stored and that
    consent's id is returned. The check and the insert share one write transaction, so
    parallel requests cannot both pass the check.
    ``created_at`` is for imports and demo data only; otherwise it is the server's time.
    """
    with transaction(db, durable=True):
        current = db.execute(
            "SELECT id, kind, sheet_version FROM consents WHERE course_id = ?"
            " ORDER BY id DESC LIMIT 1",
            [course_id],
        ).fetchone()
        if current and current[1] == "consent" and current[2] == sheet_version:
            return int(current[0])
        cursor = db.execute(
            "INSERT INTO consents (course_id, kind, sheet_version, locale, text, text_sha256,"
            " agreements, full_name, signature_png, user_agent, created_at)"
            " VALUES (?, 'consent', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                course_id,
                sheet_version,
                locale,
                text,
                text_hash(text),
                encode_json(agreements),
                full_name,
                signature_png,
                user_agent[:500],
                created_at or clock.iso(),
            ],
        )
        _audit(
            db,
            "consent.given",
            course_id,
            consent_id=cursor.lastrowid,
            sheet_version=sheet_version,
            agreements=agreements,
        )
    return int(cursor.lastrowid)


def withdraw(
    db: sqlite_utils.Database, course_id: int, *, locale: str, text: str, user_agent: str
) -> int:
    """Store a withdrawal (a new record; nothing is changed or deleted). Durable. Raises
    ValueError when the latest record is not a consent (checked in the write
    transaction, so a double click stores one withdrawal)."""
    with transaction(db, durable=True):
        current = latest(db, course_id)
        if current is None or current["kind"] != "consent":
            raise ValueError("no consent to withdraw")
        cursor = db.execute(
            "INSERT INTO consents (course_id, kind, sheet_version, locale, text, text_sha256,"
            " user_agent, created_at) VALUES (?, 'withdrawal', ?, ?, ?, ?, ?, ?)",
            [
                course_id,
                current["sheet_version"],
                locale,
                text,
                text_hash(text),
                user_agent[:500],
                clock.iso(),
            ],
        )
        _audit(
            db, "consent.withdrawn", course_id, consent_id=cursor.lastrowid, withdraws=current["id"]
        )
    return int(cursor.lastrowid)


def history(db: sqlite_utils.Database, course_id: int) -> list[dict[str, Any]]:
    """Every consent and withdrawal of a course, oldest first (without the images)."""
    return decode_all(
        db.query(
            "SELECT id, course_id, kind, sheet_version, locale, text_sha256, agreements,"
            " full_name, signature_png IS NOT NULL AS signed, created_at FROM consents"
            " WHERE course_id = ? ORDER BY id",
            [course_id],
        ),
        CONSENT,
    )


def latest(db: sqlite_utils.Database, course_id: int) -> dict[str, Any] | None:
    """The most recent consent or withdrawal of a course."""
    return first(
        db.query(
            "SELECT * FROM consents WHERE course_id = ? ORDER BY id DESC LIMIT 1", [course_id]
        ),
        CONSENT,
    )


def get(db: sqlite_utils.Database, consent_id: int) -> dict[str, Any] | None:
    """One consent record with its course's patient and clinic."""
    return first(
        db.query(
            "SELECT k.*, p.id AS patient_id, p.code AS patient_code, p.clinic_id"
            " FROM consents k JOIN courses c ON c.id = k.course_id"
            " JOIN patients p ON p.id = c.patient_id WHERE k.id = ?",
            [consent_id],
        ),
        CONSENT,
    )


def state(row: dict[str, Any] | None, current_version: int) -> ConsentState:
    """none / active / outdated (a material revision came after the version agreed to) /
    withdrawn, from the latest record."""
    if row is None:
        return "none"
    if row["kind"] == "withdrawal":
        return "withdrawn"
    return "outdated" if needs_new_consent(row["sheet_version"], current_version) else "active"


def current_state(db: sqlite_utils.Database, course_id: int, current_version: int) -> ConsentState:
    """The course's consent state now (:func:`state` of its latest record)."""
    # Only the two columns state() reads: this runs on every diary request, and the
    # full record carries the signature image.
    row = next(
        db.query(
            "SELECT kind, sheet_version FROM consents WHERE course_id = ? ORDER BY id DESC LIMIT 1",
            [course_id],
        ),
        None,
    )
    return state(row, current_version)


def is_active(db: sqlite_utils.Database, course_id: int, current_version: int) -> bool:
    """True when the course has a consent to the current sheet that was not withdrawn."""
    return current_state(db, course_id, current_version) == "active"


# --- countersignature ----------------------------------------------------------------

#: who else took part in a consent, besides the patient and the clinician
PEOPLE = (
    "interpreter_name",
    "interpreter_language",
    "witness_name",
    "representative_name",
    "representative_relationship",
)


def countersign(
    db: sqlite_utils.Database,
    consent: dict[str, Any],
    *,
    clinician: dict[str, Any],
    statement: str,
    people: dict[str, str],
) -> int | None:
    """Record that ``clinician`` explained the consent and answered questions (audited).
    Returns the id, or None when the consent was countersigned already (one each)."""
    with transaction(db, durable=True):
        if countersignature(db, consent["id"]) is not None:
            return None
        cursor = db.execute(
            "INSERT INTO consent_countersignatures (consent_id, clinician_id, clinician_name,"
            " statement, interpreter_name, interpreter_language, witness_name,"
            " representative_name, representative_relationship, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                consent["id"],
                clinician["id"],
                clinician["name"],
                statement,
                *(people.get(key, "").strip() for key in PEOPLE),
                clock.iso(),
            ],
        )
        owner = course_owner(db, consent["course_id"])
        audit.record(
            db,
            "consent.countersigned",
            actor="clinician",
            actor_id=clinician["id"],
            clinic_id=owner["clinic_id"],
            patient_id=owner["patient_id"],
            course_id=consent["course_id"],
            consent_id=consent["id"],
            interpreter=bool(people.get("interpreter_name", "").strip()),
            witness=bool(people.get("witness_name", "").strip()),
            representative=bool(people.get("representative_name", "").strip()),
        )
    return int(cursor.lastrowid)


def countersignature(db: sqlite_utils.Database, consent_id: int) -> dict[str, Any] | None:
    """The countersignature of a consent, if there is one."""
    return first(
        db.query("SELECT * FROM consent_countersignatures WHERE consent_id = ?", [consent_id]),
        COUNTERSIGNATURE,
    )


# --- receipts: a code anyone can verify ------------------------------------------------

#: Crockford's base 32 (no I, L, O, U): read aloud and typed without confusion
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 random bits, shown as XXXX-XXXX-XXXX


def normalize_code(typed: str) -> str:
    """A typed code as stored: upper case, without spaces or dashes, O read as 0 and I/L
    as 1 (Crockford)."""
    code = "".join(typed.split()).replace("-", "").upper()
    return code.translate(str.maketrans("OIL", "011"))


def receipt_code(db: sqlite_utils.Database, consent_id: int) -> str:
    """The consent's verification code (made on first use), as ``XXXX-XXXX-XXXX``."""
    with transaction(db):
        row = db.execute(
            "SELECT code FROM consent_codes WHERE consent_id = ?", [consent_id]
        ).fetchone()
        if row is None:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            db.execute(
                "INSERT INTO consent_codes (consent_id, code, created_at) VALUES (?, ?, ?)",
                [consent_id, code, clock.iso()],
            )
        else:
            code = row[0]
    return "-".join(code[k : k + 4] for k in range(0, CODE_LENGTH, 4))


def _proof(db: sqlite_utils.Database, join: str, where: str, value: str) -> dict[str, Any] | None:
    """The consent found through ``join``/``where`` (constants), as :func:`verify_code`
    describes it, or None."""
    found = first(
        db.query(
            # join and where are constants of this module; the value is a parameter
            "SELECT k.id, k.course_id, k.kind, k.sheet_version, k.text_sha256, k.created_at,"  # noqa: S608
            " cl.name AS clinic_name, cl.timezone FROM " + join + " JOIN courses c"
            " ON c.id = k.course_id JOIN patients p ON p.id = c.patient_id"
            " JOIN clinics cl ON cl.id = p.clinic_id WHERE " + where,
            [value],
        ),
        CONSENT,
    )
    if found is None:
        return None
    later = first(
        db.query(
            "SELECT kind, sheet_version, created_at FROM consents WHERE course_id = ? AND id > ?"
            " ORDER BY id LIMIT 1",
            [found["course_id"], found["id"]],
        ),
        CONSENT,
    )
    return {**found, "later": later}


def verify_code(db: sqlite_utils.Database, typed: str) -> dict[str, Any] | None:
    """What a code proves, without names or health data: the consent (version, date,
    text hash, clinic name) and what came after it (a withdrawal or a newer consent), or
    None for an unknown code."""
    join = "consent_codes r JOIN consents k ON k.id = r.consent_id"
    return _proof(db, join, "r.code = ?", normalize_code(typed))


def record_copy(db: sqlite_utils.Database, consent_id: int, body: bytes) -> None:
    """Remember the SHA-256 of a PDF copy handed out, so that the file can be checked."""
    digest = hashlib.sha256(body).hexdigest()
    with transaction(db):
        if db.execute("SELECT 1 FROM consent_copies WHERE sha256 = ?", [digest]).fetchone():
            return
        db.execute(
            "INSERT INTO consent_copies (consent_id, sha256, created_at) VALUES (?, ?, ?)",
            [consent_id, digest, clock.iso()],
        )


def verify_copy(db: sqlite_utils.Database, body: bytes) -> dict[str, Any] | None:
    """What an uploaded file proves: as :func:`verify_code` when it is, byte for byte, a
    copy this service handed out (with ``copy_issued_at``), else None."""
    digest = hashlib.sha256(body).hexdigest()
    join = "consent_copies f JOIN consents k ON k.id = f.consent_id"
    found = _proof(db, join, "f.sha256 = ?", digest)
    if found is None:
        return None
    issued = db.execute(
        "SELECT created_at FROM consent_copies WHERE sha256 = ?", [digest]
    ).fetchone()[0]
    return {**found, "copy_issued_at": issued}


def first_attempts(db: sqlite_utils.Database, clinic_id: int) -> list[dict[str, Any]]:
    """Each course's first attempt at each sheet version's comprehension check in a clinic,
    with the language it was taken in (the patient's language for rows from before that
    was recorded)."""
    return decode_all(
        db.query(
            "SELECT q.sheet_version, q.wrong, coalesce(nullif(q.locale, ''), p.locale) AS locale"
            " FROM quiz_attempts q JOIN courses c ON c.id = q.course_id"
            " JOIN patients p ON p.id = c.patient_id"
            " WHERE p.clinic_id = ? AND q.id IN (SELECT min(id) FROM quiz_attempts"
            "  GROUP BY course_id, sheet_version)",
            [clinic_id],
        ),
        QUIZ,
    )
