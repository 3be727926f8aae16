"""Treatment sessions recorded by clinicians (table ``treatment_sessions``)."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from .. import clock
from ..db import transaction
from . import audit

FIELDS = ("date", "nrs_before", "area", "drugs", "needle", "ultrasound", "adverse_events",
          "notes")


def add_session(
    db: sqlite_utils.Database,
    course_id: int,
    date: str,
    *,
    nrs_before: int | None = None,
    area: str = "",
    drugs: list[dict[str, Any]] | None = None,
    needle: str = "",
    ultrasound: bool = False,
    adverse_events: str = "",
    notes: str = "",
    created_by: int | None = None,
    clinic_id: int | None = None,
    patient_id: int | None = None,
) -> int:
    """Record a session; its number is the next one in the course. Returns the id.

    With ``clinic_id`` (a clinician recording it), the recording is audited.
    """
    now = clock.iso()
    with transaction(db):
        number = db.execute(
            "SELECT coalesce(max(number), 0) + 1 FROM treatment_sessions WHERE course_id = ?",
            [course_id],
        ).fetchone()[0]
        cursor = db.execute(
            "INSERT INTO treatment_sessions (course_id, number, date, nrs_before, area, drugs,"
            " needle, ultrasound, adverse_events, notes, created_by, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                course_id,
                number,
                date,
                nrs_before,
                area,
                json.dumps(drugs or []),
                needle,
                int(ultrasound),
                adverse_events,
                notes,
                created_by,
                now,
                now,
            ],
        )
    return int(cursor.lastrowid)


def for_course(db: sqlite_utils.Database, course_id: int) -> list[dict[str, Any]]:
    """A course's sessions in order."""
    return list(
        db.query(
            "SELECT * FROM treatment_sessions WHERE course_id = ? ORDER BY number", [course_id]
        )
    )
