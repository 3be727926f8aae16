"""Courses across a clinic: the dashboard and cohort views read everything here in bulk."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlite_utils

from .. import clock
from ..db import transaction
from . import audit
from .rows import COURSE, ENTRY, SESSION, Decoder, decode, decode_all, encode_date

COURSE_SQL = """
SELECT c.*, p.code AS patient_code, p.locale AS patient_locale, p.clinic_id,
       k.id AS consent_id, k.kind AS consent_kind, k.sheet_version AS consent_version,
       k.created_at AS consent_at,
       (SELECT min(created_at) FROM consents WHERE course_id = c.id AND kind = 'consent')
            AS first_consent_at,
       EXISTS (SELECT 1 FROM consent_countersignatures WHERE consent_id = k.id)
            AS countersigned,
       (SELECT max(id) FROM audit_events WHERE course_id = c.id
            AND action = 'safety.allergy_reported') AS allergy_report,
       (SELECT count(*) FROM screening_answers s WHERE s.id IN (
            SELECT max(id) FROM screening_answers WHERE course_id = c.id GROUP BY question)
            AND s.answer != 'no') AS screening_flags
FROM courses c
JOIN patients p ON p.id = c.patient_id
LEFT JOIN consents k ON k.id = (SELECT max(id) FROM consents WHERE course_id = c.id)
WHERE p.clinic_id = :clinic {where}
ORDER BY p.code, c.start_date
"""


def list_courses(
    db: sqlite_utils.Database,
    clinic_id: int,
    *,
    active_only: bool = False,
    area: str | None = None,
    start_from: date | None = None,
    start_to: date | None = None,
) -> list[dict[str, Any]]:
    """A clinic's courses with patient code, latest consent and screening flag count,
    by patient code and start."""
    where = []
    params: dict[str, Any] = {"clinic": clinic_id}
    if active_only:
        where.append("AND c.end_date IS NULL")
    if area:
        where.append("AND c.area = :area")
        params["area"] = area
    if start_from:
        where.append("AND c.start_date >= :start_from")
        params["start_from"] = encode_date(start_from)
    if start_to:
        where.append("AND c.start_date <= :start_to")
        params["start_to"] = encode_date(start_to)
    return decode_all(db.query(COURSE_SQL.format(where=" ".join(where)), params), COURSE)


def _by_course(
    db: sqlite_utils.Database, sql: str, clinic_id: int, active_only: bool, decoder: Decoder
) -> dict[int, list[dict[str, Any]]]:
    """Rows of every course of a clinic in one query, decoded and grouped by course."""
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    active = "AND c.end_date IS NULL" if active_only else ""
    for row in db.query(sql.format(active=active), {"clinic": clinic_id}):
        grouped[row["course_id"]].append(decode(row, decoder))
    return grouped


#: the columns the outcome calculations read (the dashboard loads every open course)
ENTRY_FIGURES = "e.course_id, e.day, e.avg_nrs, e.worst_nrs, e.late"
SESSION_FIGURES = "s.course_id, s.number, s.date, s.nrs_before"


def entries_by_course(
    db: sqlite_utils.Database, clinic_id: int, active_only: bool = False, *, full: bool = False
) -> dict[int, list[dict[str, Any]]]:
    """Every diary entry of the clinic's courses, grouped by course, by day (every column
    with ``full``, else only what the outcome calculations read)."""
    return _by_course(
        db,
        f"SELECT {'e.*' if full else ENTRY_FIGURES} FROM diary_entries e"  # noqa: S608
        " JOIN courses c ON c.id = e.course_id JOIN patients p ON p.id = c.patient_id"
        " WHERE p.clinic_id = :clinic {active} ORDER BY e.course_id, e.day",
        clinic_id,
        active_only,
        ENTRY,
    )


def sessions_by_course(
    db: sqlite_utils.Database, clinic_id: int, active_only: bool = False, *, full: bool = False
) -> dict[int, list[dict[str, Any]]]:
    """Every treatment session of the clinic's courses, grouped by course, in order (every
    column with ``full``, else only what the outcome calculations read)."""
    return _by_course(
        db,
        f"SELECT {'s.*' if full else SESSION_FIGURES} FROM treatment_sessions s"  # noqa: S608
        " JOIN courses c ON c.id = s.course_id JOIN patients p ON p.id = c.patient_id"
        " WHERE p.clinic_id = :clinic {active} ORDER BY s.course_id, s.number",
        clinic_id,
        active_only,
        SESSION,
    )


def for_patient(db: sqlite_utils.Database, patient_id: int) -> list[dict[str, Any]]:
    """A patient's courses, oldest first."""
    return decode_all(
        db.query("SELECT * FROM courses WHERE patient_id = ? ORDER BY id", [patient_id]), COURSE
    )


def clinic_counts(db: sqlite_utils.Database, clinic_id: int) -> dict[str, int]:
    """How many patients, courses, sessions and diary entries a clinic holds."""
    row = next(
        db.query(
            "SELECT (SELECT count(*) FROM patients WHERE clinic_id = :c) AS patients,"
            " (SELECT count(*) FROM courses JOIN patients p ON p.id = courses.patient_id"
            "   WHERE p.clinic_id = :c) AS courses,"
            " (SELECT count(*) FROM treatment_sessions s JOIN courses c ON c.id = s.course_id"
            "   JOIN patients p ON p.id = c.patient_id WHERE p.clinic_id = :c) AS sessions,"
            " (SELECT count(*) FROM diary_entries e JOIN courses c ON c.id = e.course_id"
            "   JOIN patients p ON p.id = c.patient_id WHERE p.clinic_id = :c) AS entries",
            {"c": clinic_id},
        )
    )
    return dict(row)


def set_end(
    db: sqlite_utils.Database,
    course: dict[str, Any],
    end_date: date | None,
    *,
    actor: str = "clinician",
    actor_id: int | None = None,
) -> None:
    """Close a course on ``end_date`` (or reopen it with None), audited. ``course`` is a
    row of :func:`diary.queries.patients.get_course` (it names the patient and clinic)."""
    with transaction(db):
        db.execute(
            "UPDATE courses SET end_date = ? WHERE id = ?", [encode_date(end_date), course["id"]]
        )
        audit.on_course(
            db,
            "course.closed" if end_date else "course.reopened",
            course,
            actor=actor,
            actor_id=actor_id,
        )


def clear_flag(db: sqlite_utils.Database, course: dict[str, Any], *, clinician_id: int) -> None:
    """Mark a reported possible allergic reaction as reviewed."""
    with transaction(db):
        db.execute("UPDATE courses SET flagged = 0 WHERE id = ?", [course["id"]])
        audit.on_course(
            db,
            "safety.reviewed",
            course,
            actor="clinician",
            actor_id=clinician_id,
            at=clock.iso(),
        )


def unreviewed_allergy_entries(
    db: sqlite_utils.Database, course: dict[str, Any]
) -> list[dict[str, Any]]:
    """The diary entries whose possible allergic reaction was reported after the last
    review (none when the course is not flagged), by day."""
    if not course["flagged"]:
        return []
    return decode_all(
        db.query(
            "SELECT * FROM diary_entries WHERE course_id = :course AND allergy_signs != '[]'"
            " AND day IN (SELECT json_extract(detail, '$.day') FROM audit_events"
            "  WHERE course_id = :course AND action = 'safety.allergy_reported'"
            "  AND id > coalesce((SELECT max(id) FROM audit_events WHERE course_id = :course"
            "   AND action = 'safety.reviewed'), 0))"
            " ORDER BY day",
            {"course": course["id"]},
        ),
        ENTRY,
    )


def seen_attention(db: sqlite_utils.Database, clinic_id: int) -> set[tuple[int, str, str]]:
    """The (course, reason, evidence) a clinician of the clinic marked as seen."""
    return {
        (row["course_id"], row["reason"], row["evidence"])
        for row in db.query(
            "SELECT a.course_id, a.reason, a.evidence FROM attention_seen a"
            " JOIN courses c ON c.id = a.course_id JOIN patients p ON p.id = c.patient_id"
            " WHERE p.clinic_id = ?",
            [clinic_id],
        )
    }


def mark_attention_seen(
    db: sqlite_utils.Database,
    course: dict[str, Any],
    reason: str,
    evidence: str,
    *,
    clinician_id: int,
) -> bool:
    """Record that a clinician saw a reason on the follow-up list (audited); False when it
    was marked already."""
    with transaction(db):
        if db.execute(
            "SELECT 1 FROM attention_seen WHERE course_id = ? AND reason = ? AND evidence = ?",
            [course["id"], reason, evidence],
        ).fetchone():
            return False
        db.execute(
            "INSERT INTO attention_seen (course_id, reason, evidence, clinician_id, seen_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [course["id"], reason, evidence, clinician_id, clock.iso()],
        )
        audit.on_course(
            db,
            "attention.seen",
            course,
            actor="clinician",
            actor_id=clinician_id,
            reason=reason,
        )
    return True
