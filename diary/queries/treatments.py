"""Treatment sessions recorded by clinicians (table ``treatment_sessions``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlite_utils

from .. import clock
from ..db import transaction
from . import audit
from .rows import SESSION, decode_all, encode_date, encode_json, first

FIELDS = (
    "date",
    "nrs_before",
    "nrs_not_measured",
    "area",
    "drugs",
    "no_drug",
    "needle",
    "ultrasound",
    "adverse_events",
    "notes",
)


def add_session(
    db: sqlite_utils.Database,
    course_id: int,
    day: date,
    *,
    nrs_before: int | None = None,
    nrs_not_measured: bool = False,
    area: str = "",
    drugs: list[dict[str, Any]] | None = None,
    no_drug: bool = False,
    needle: str = "",
    ultrasound: bool = False,
    adverse_events: str = "",
    notes: str = "",
    paper_consent_note: str = "",
    created_by: int | None = None,
    clinic_id: int | None = None,
    patient_id: int | None = None,
) -> int:
    """Record a session; the course's sessions are then numbered by date (a visit
    recorded late takes its place in time). Returns the id.

    With ``clinic_id`` (a clinician recording it), the recording is audited, and so is a
    ``paper_consent_note`` (consent given on paper, the note kept on the session only).
    """
    now = clock.iso()
    with transaction(db):
        number = db.execute(
            "SELECT coalesce(max(number), 0) + 1 FROM treatment_sessions WHERE course_id = ?",
            [course_id],
        ).fetchone()[0]
        cursor = db.execute(
            "INSERT INTO treatment_sessions (course_id, number, date, nrs_before,"
            " nrs_not_measured, area, drugs, no_drug, needle, ultrasound, adverse_events,"
            " notes, paper_consent_note, created_by, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                course_id,
                number,
                encode_date(day),
                nrs_before,
                int(nrs_not_measured),
                area,
                encode_json(drugs or []),
                int(no_drug),
                needle,
                int(ultrasound),
                adverse_events,
                notes,
                paper_consent_note,
                created_by,
                now,
                now,
            ],
        )
        number = _renumber(db, course_id)[cursor.lastrowid]
        if clinic_id is not None:
            who = {
                "actor": "clinician",
                "actor_id": created_by,
                "clinic_id": clinic_id,
                "patient_id": patient_id,
                "course_id": course_id,
                "session_id": cursor.lastrowid,
            }
            audit.record(db, "session.recorded", **who, number=number)
            if paper_consent_note:
                audit.record(db, "consent.paper", **who)
    return int(cursor.lastrowid)


def _renumber(db: sqlite_utils.Database, course_id: int) -> dict[int, int]:
    """Number the course's sessions 1, 2, ... by date (same day: as recorded), inside the
    caller's transaction; return {session id: number}."""
    ids = [
        row[0]
        for row in db.execute(
            "SELECT id FROM treatment_sessions WHERE course_id = ? ORDER BY date, number, id",
            [course_id],
        ).fetchall()
    ]
    # out of the way first: (course_id, number) is unique
    db.execute(
        "UPDATE treatment_sessions SET number = number + 100000 WHERE course_id = ?", [course_id]
    )
    numbers = {session_id: k for k, session_id in enumerate(ids, start=1)}
    db.conn.executemany(
        "UPDATE treatment_sessions SET number = ? WHERE id = ?",
        [(k, session_id) for session_id, k in numbers.items()],
    )
    return numbers


def get_session(db: sqlite_utils.Database, session_id: int) -> dict[str, Any] | None:
    """One session with its course's patient and clinic (for scoping)."""
    return first(
        db.query(
            "SELECT s.*, c.patient_id, p.clinic_id, p.code AS patient_code"
            " FROM treatment_sessions s JOIN courses c ON c.id = s.course_id"
            " JOIN patients p ON p.id = c.patient_id WHERE s.id = ?",
            [session_id],
        ),
        SESSION,
    )


def update_session(
    db: sqlite_utils.Database, session: dict[str, Any], values: dict[str, Any], *, clinician_id: int
) -> list[str]:
    """Change a session; the audit event names the fields that changed. Returns them.

    ``values`` holds every field of :data:`FIELDS` as a decoded row does.
    """
    changed = [f for f in FIELDS if session[f] != values[f]]
    if not changed:
        return []
    stored = dict(
        values,
        date=encode_date(values["date"]),
        drugs=encode_json(values["drugs"]),
        nrs_not_measured=int(values["nrs_not_measured"]),
        no_drug=int(values["no_drug"]),
        ultrasound=int(values["ultrasound"]),
    )
    with transaction(db):
        db.execute(
            # column names come from the constant FIELDS, values are parameters
            "UPDATE treatment_sessions SET "  # noqa: S608
            + ", ".join(f"{f} = ?" for f in FIELDS)
            + ", updated_at = ? WHERE id = ?",
            [stored[f] for f in FIELDS] + [clock.iso(), session["id"]],
        )
        if "date" in changed:
            _renumber(db, session["course_id"])
        audit.record(
            db,
            "session.edited",
            actor="clinician",
            actor_id=clinician_id,
            clinic_id=session["clinic_id"],
            patient_id=session["patient_id"],
            course_id=session["course_id"],
            session_id=session["id"],
            changed=changed,
        )
    return changed


def for_course(db: sqlite_utils.Database, course_id: int) -> list[dict[str, Any]]:
    """A course's sessions in order."""
    return decode_all(
        db.query(
            "SELECT * FROM treatment_sessions WHERE course_id = ? ORDER BY number", [course_id]
        ),
        SESSION,
    )
