"""Daily diary entries (one per course and day, idempotent on the client's id)."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from .. import clock
from ..db import transaction


def insert_entry(
    db: sqlite_utils.Database,
    course_id: int,
    day: str,
    client_id: str,
    avg_nrs: int,
    worst_nrs: int,
    *,
    late: bool = False,
    site_effects: list[str] | None = None,
    medication_taken: bool | None = None,
    medication: str = "",
    note: str = "",
    device_time: str | None = None,
    created_at: str | None = None,
) -> int:
    """Store a new entry as given (validation and date rules are the caller's). Returns id."""
    created = created_at or clock.iso()
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO diary_entries (course_id, day, client_id, avg_nrs, worst_nrs,"
            " site_effects, medication_taken, medication, note, late, device_time,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                course_id,
                day,
                client_id,
                avg_nrs,
                worst_nrs,
                json.dumps(site_effects or []),
                None if medication_taken is None else int(medication_taken),
                medication,
                note,
                int(late),
                device_time or created,
                created,
                created,
            ],
        )
    return int(cursor.lastrowid)


def for_course(db: sqlite_utils.Database, course_id: int) -> list[dict[str, Any]]:
    """A course's entries by day."""
    return list(
        db.query("SELECT * FROM diary_entries WHERE course_id = ? ORDER BY day", [course_id])
    )
