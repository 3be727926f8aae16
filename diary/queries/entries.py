"""Daily diary entries (one per course and day, idempotent on the client's id)."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils
from flask_babel import gettext as _

from .. import clock
from ..db import transaction
from ..entry_rules import EntryError, EntryInput
from . import audit


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


def get_for_day(db: sqlite_utils.Database, course_id: int, day: str) -> dict[str, Any] | None:
    """The course's entry for one day."""
    return next(
        db.query("SELECT * FROM diary_entries WHERE course_id = ? AND day = ?", [course_id, day]),
        None,
    )


def save(
    db: sqlite_utils.Database,
    course_id: int,
    entry: EntryInput,
    timing: str,
    *,
    patient_id: int,
    clinic_id: int,
) -> tuple[str, dict[str, Any]]:
    """Store an entry idempotently; return (outcome, the day's entry as stored).

    * a client id seen before: ``duplicate``, nothing changes (a retried send);
    * no entry for the day: ``created`` (``late`` when filled in the next day);
    * an entry for the day: ``updated`` when it may still be corrected (today's, or a
      late entry on the day it was made), audited; ``stale`` when this save is older
      than the stored one (sent out of order), nothing changes;
    * a possible allergic reaction flags the course for the clinician.

    Raises EntryError when the day's entry can no longer be corrected.
    """
    now = clock.iso()
    device_time = clock.iso(entry.device_time) if entry.device_time else now
    with transaction(db):
        seen = db.execute(
            "SELECT entry_id FROM entry_submissions WHERE client_id = ?", [entry.client_id]
        ).fetchone()
        if seen:
            return "duplicate", _get(db, seen[0])
        existing = get_for_day(db, course_id, entry.day.isoformat())
        values = {
            "avg_nrs": entry.avg,
            "worst_nrs": entry.worst,
            "site_effects": json.dumps(entry.site_effects),
            "allergy_signs": json.dumps(entry.allergy_signs),
            "medication_taken": None
            if entry.medication_taken is None
            else int(entry.medication_taken),
            "medication": entry.medication,
            "note": entry.note,
        }
        who = {
            "actor": "patient",
            "actor_id": patient_id,
            "clinic_id": clinic_id,
            "patient_id": patient_id,
            "course_id": course_id,
        }
        if existing is None:
            created = {
                "course_id": course_id,
                "day": entry.day.isoformat(),
                "client_id": entry.client_id,
                **values,
                "late": int(timing == "late"),
                "device_time": device_time,
                "created_at": now,
                "updated_at": now,
            }
            cursor = db.execute(
                f"INSERT INTO diary_entries ({', '.join(created)})"  # noqa: S608 - fixed names
                f" VALUES ({', '.join(':' + k for k in created)}) RETURNING *",
                created,
            )
            keys = [d[0] for d in cursor.description]
            row = dict(zip(keys, cursor.fetchall()[0], strict=True))
            entry_id, outcome = row["id"], "created"
            audit.record(
                db, "entry.created", **who, day=entry.day.isoformat(), late=timing == "late"
            )
        else:
            entry_id, row = existing["id"], existing
            correctable = timing == "on_time" or bool(existing["late"])
            if not correctable:
                raise EntryError(
                    _("This day's entry was already sent and can no longer be changed."), "day"
                )
            if existing["device_time"] and device_time < existing["device_time"]:
                outcome = "stale"
            else:
                changed = sorted(k for k, v in values.items() if existing[k] != v)
                corrected = {**values, "device_time": device_time, "updated_at": now}
                db.execute(
                    "UPDATE diary_entries SET"  # noqa: S608 - fixed column names
                    f" {', '.join(f'{k} = :{k}' for k in corrected)} WHERE id = :id",
                    {**corrected, "id": entry_id},
                )
                outcome = "updated"
                row = {**existing, **corrected}
                audit.record(
                    db, "entry.corrected", **who, day=entry.day.isoformat(), changed=changed
                )
        db.execute(
            "INSERT INTO entry_submissions (client_id, entry_id, outcome, device_time,"
            " received_at) VALUES (?, ?, ?, ?, ?)",
            [entry.client_id, entry_id, outcome, device_time, now],
        )
        if entry.allergy_signs and outcome != "stale":
            db.execute("UPDATE courses SET flagged = 1 WHERE id = ?", [course_id])
            audit.record(
                db,
                "safety.allergy_reported",
                **who,
                day=entry.day.isoformat(),
                signs=entry.allergy_signs,
            )
        return outcome, row


def _get(db: sqlite_utils.Database, entry_id: int) -> dict[str, Any]:
    return next(db.query("SELECT * FROM diary_entries WHERE id = ?", [entry_id]))


def corrections(db: sqlite_utils.Database, course_id: int) -> dict[int, int]:
    """How many times each entry of a course was corrected: {entry_id: count}."""
    rows = db.query(
        "SELECT s.entry_id, count(*) AS n FROM entry_submissions s JOIN diary_entries e"
        " ON e.id = s.entry_id WHERE e.course_id = ? AND s.outcome = 'updated'"
        " GROUP BY s.entry_id",
        [course_id],
    )
    return {row["entry_id"]: row["n"] for row in rows}
