"""Erasure on request and purging after the retention period.

Consents and audit events are never deleted (they are kept as a legal obligation and the
database refuses it); everything else a patient wrote is.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlite_utils

from .. import clock
from ..db import transaction
from . import audit
from .patients import revoke_everything
from .rows import COURSE, decode


def _delete_course_content(db: sqlite_utils.Database, course_id: int) -> dict[str, int]:
    counts = {}
    counts["entry_submissions"] = db.execute(
        "DELETE FROM entry_submissions WHERE entry_id IN"
        " (SELECT id FROM diary_entries WHERE course_id = ?)",
        [course_id],
    ).rowcount
    counts["diary_entries"] = db.execute(
        "DELETE FROM diary_entries WHERE course_id = ?", [course_id]
    ).rowcount
    for table in ("peg_answers", "pgic_answers"):  # PEG and PGIC, answered with the diary
        counts[table] = db.execute(
            f"DELETE FROM {table} WHERE course_id = ?",  # noqa: S608 - fixed names
            [course_id],
        ).rowcount
    counts["screening_details"] = db.execute(
        "UPDATE screening_answers SET detail = '' WHERE course_id = ? AND detail != ''", [course_id]
    ).rowcount
    return counts


def erase_patient(db: sqlite_utils.Database, patient_id: int, *, clinician_id: int) -> dict:
    """Erase a patient's diary content on request (entries, notes, free text), revoke their
    links and sign out their phones. Consents, sessions recorded by clinicians and the audit
    trail stay. Returns what was removed."""
    patient = db.execute("SELECT clinic_id FROM patients WHERE id = ?", [patient_id]).fetchone()
    counts: dict[str, int] = {}
    with transaction(db):
        for (course_id,) in db.execute(
            "SELECT id FROM courses WHERE patient_id = ?", [patient_id]
        ).fetchall():
            for key, n in _delete_course_content(db, course_id).items():
                counts[key] = counts.get(key, 0) + n
        db.execute(
            "UPDATE patients SET contact_note = '', reminder_time = NULL, erased_at = ?"
            " WHERE id = ?",
            [clock.iso(), patient_id],
        )
        counts["links_revoked"] = revoke_everything(db, patient_id)
        audit.record(
            db,
            "patient.erased",
            actor="clinician",
            actor_id=clinician_id,
            clinic_id=patient[0],
            patient_id=patient_id,
            removed=counts,
        )
    return counts


def purgeable(
    db: sqlite_utils.Database, today: date, older_than_days: int | None = None
) -> list[dict[str, Any]]:
    """Courses closed longer ago than the retention period (the clinic's, or the given
    number of days for every clinic) and not purged yet."""
    rows = db.query(
        "SELECT c.id, c.end_date, p.code AS patient_code, p.clinic_id, k.name AS clinic_name,"
        " k.retention_days FROM courses c JOIN patients p ON p.id = c.patient_id"
        " JOIN clinics k ON k.id = p.clinic_id"
        " WHERE c.end_date IS NOT NULL AND c.purged_at IS NULL ORDER BY k.id, c.end_date"
    )
    found = []
    for row in rows:
        decode(row, COURSE)
        days = older_than_days if older_than_days is not None else row["retention_days"]
        if days is None:
            continue
        if row["end_date"] < today - timedelta(days=days):
            found.append(row)
    return found


def purge_course(db: sqlite_utils.Database, course_id: int) -> dict[str, int]:
    """Remove a closed course's diary, sessions, screening and quiz; keep consents and audit."""
    with transaction(db):
        counts = _delete_course_content(db, course_id)
        for table in ("treatment_sessions", "screening_answers", "quiz_attempts"):
            counts[table] = db.execute(
                f"DELETE FROM {table} WHERE course_id = ?",  # noqa: S608 - fixed names
                [course_id],
            ).rowcount
        db.execute("UPDATE courses SET purged_at = ? WHERE id = ?", [clock.iso(), course_id])
        row = db.execute(
            "SELECT p.clinic_id, p.id FROM courses c JOIN patients p"
            " ON p.id = c.patient_id WHERE c.id = ?",
            [course_id],
        ).fetchone()
        audit.record(
            db,
            "course.purged",
            actor="system",
            clinic_id=row[0],
            patient_id=row[1],
            course_id=course_id,
            removed=counts,
        )
    return counts
