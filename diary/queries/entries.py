"""Daily diary entries (one per course and day, idempotent on the client's id)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlite_utils

from .. import clock, entry_rules
from ..db import transaction
from ..entry_rules import EntryInput
from . import answers, audit
from .rows import ENTRY, decode, decode_all, encode_date, encode_json, first

EXTRA_NAMES = {answers.PEG: "peg", answers.PGIC: "pgic"}


class DayClosed(Exception):
    """The day's entry can no longer be changed (see :func:`diary.entry_rules.can_change`)."""


def for_course(db: sqlite_utils.Database, course_id: int) -> list[dict[str, Any]]:
    """A course's entries by day."""
    return decode_all(
        db.query("SELECT * FROM diary_entries WHERE course_id = ? ORDER BY day", [course_id]),
        ENTRY,
    )


def get_for_day(db: sqlite_utils.Database, course_id: int, day: date) -> dict[str, Any] | None:
    """The course's entry for one day."""
    return first(
        db.query(
            "SELECT * FROM diary_entries WHERE course_id = ? AND day = ?",
            [course_id, encode_date(day)],
        ),
        ENTRY,
    )


def save(
    db: sqlite_utils.Database,
    course_id: int,
    entry: EntryInput,
    today: date,
    *,
    patient_id: int,
    clinic_id: int,
    locale: str = "en",
) -> tuple[str, dict[str, Any]]:
    """Store an entry idempotently; return (outcome, the day's entry as stored).

    * a client id this patient sent before: ``duplicate``, nothing changes (a retried
      send); client ids are the patient's own, so another patient's never matches;
    * no entry for the day: ``created`` (``late`` when filled in the next day);
    * an entry for the day: ``updated`` when it may still be corrected
      (:func:`diary.entry_rules.can_change`), audited; ``unchanged`` when every answer is
      the stored one (a double tap on Save, a form sent twice: not a correction), nothing
      changes; ``stale`` when this save is older than the stored one (sent out of order),
      nothing changes;
    * a possible allergic reaction flags the course for the clinician;
    * the PEG and PGIC answers sent with it (optional) are stored or corrected with it,
      in ``locale`` (the language they were asked in): a new or different answer on an
      existing entry makes the save an update (``changed`` names ``peg``/``pgic``); an
      answer not sent leaves the stored one as it is.

    ``today`` is the patient's today by the rules (:func:`diary.entry_rules.patient_today`);
    the caller has checked that the day may be filled in at all. Raises DayClosed when the
    day's entry can no longer be corrected.
    """
    now = clock.iso()
    device_time = clock.iso(entry.device_time) if entry.device_time else now
    with transaction(db):
        seen = db.execute(
            "SELECT entry_id FROM entry_submissions WHERE patient_id = ? AND client_id = ?",
            [patient_id, entry.client_id],
        ).fetchone()
        if seen:
            return "duplicate", _get(db, seen[0])
        existing = get_for_day(db, course_id, entry.day)
        extras: dict[str, tuple[int, ...]] = {}  # PEG / PGIC answers new or different
        for table, value in ((answers.PEG, entry.peg), (answers.PGIC, entry.pgic)):
            given = (value,) if isinstance(value, int) else value
            kept = answers.get_for_day(db, table, course_id, entry.day)
            if given is not None and answers.differs(kept, table, given):
                extras[table] = given
        values = {
            "avg_nrs": entry.avg,
            "worst_nrs": entry.worst,
            "site_effects": entry.site_effects,
            "allergy_signs": entry.allergy_signs,
            "medication_taken": entry.medication_taken,
            "medication": entry.medication,
            "note": entry.note,
        }
        stored = {
            **values,
            "site_effects": encode_json(entry.site_effects),
            "allergy_signs": encode_json(entry.allergy_signs),
        }
        late = entry.day != today
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
                **stored,
                "late": late,
                "device_time": device_time,
                "created_at": now,
                "updated_at": now,
            }
            row = insert(db, created)
            entry_id, outcome = row["id"], "created"
            audit.record(db, "entry.created", **who, day=entry.day.isoformat(), late=late)
        else:
            entry_id, row = existing["id"], existing
            if not entry_rules.can_change(entry.day, today, existing):
                raise DayClosed(entry.day)
            fields = sorted(k for k, v in values.items() if existing[k] != v)
            changed = fields + [EXTRA_NAMES[table] for table in extras]
            if existing["device_time"] and device_time < existing["device_time"]:
                outcome = "stale"
            elif not changed:
                outcome = "unchanged"
            else:
                corrected = {**stored, "device_time": device_time, "updated_at": now}
                db.execute(
                    "UPDATE diary_entries SET"  # noqa: S608 - fixed column names
                    f" {', '.join(f'{k} = :{k}' for k in corrected)} WHERE id = :id",
                    {**corrected, "id": entry_id},
                )
                outcome = "updated"
                row = {**existing, **values, "device_time": device_time, "updated_at": now}
                audit.record(
                    db, "entry.corrected", **who, day=entry.day.isoformat(), changed=changed
                )
        if outcome in ("created", "updated"):
            for table, answer in extras.items():
                answers.put(
                    db,
                    table,
                    course_id,
                    entry.day,
                    answer,
                    locale=locale,
                    client_id=entry.client_id,
                    device_time=device_time,
                    now=now,
                )
        db.execute(
            "INSERT INTO entry_submissions (patient_id, client_id, entry_id, outcome,"
            " device_time, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            [patient_id, entry.client_id, entry_id, outcome, device_time, now],
        )
        if entry.allergy_signs and outcome not in ("stale", "unchanged"):
            db.execute("UPDATE courses SET flagged = 1 WHERE id = ?", [course_id])
            audit.record(
                db,
                "safety.allergy_reported",
                **who,
                day=entry.day.isoformat(),
                signs=entry.allergy_signs,
            )
        return outcome, row


def insert(db: sqlite_utils.Database, values: dict[str, Any]) -> dict[str, Any]:
    """Insert one entry row from stored values (column -> value) and return it decoded.
    The diary's one INSERT: :func:`save` and the demo and test data use it."""
    cursor = db.execute(
        f"INSERT INTO diary_entries ({', '.join(values)})"  # noqa: S608 - fixed names
        f" VALUES ({', '.join(':' + k for k in values)}) RETURNING *",
        values,
    )
    keys = [d[0] for d in cursor.description]
    return decode(dict(zip(keys, cursor.fetchall()[0], strict=True)), ENTRY)


def _get(db: sqlite_utils.Database, entry_id: int) -> dict[str, Any]:
    return first(db.query("SELECT * FROM diary_entries WHERE id = ?", [entry_id]), ENTRY)


def corrections(db: sqlite_utils.Database, course_id: int) -> dict[int, int]:
    """How many times each entry of a course was corrected: {entry_id: count}."""
    rows = db.query(
        "SELECT s.entry_id, count(*) AS n FROM entry_submissions s JOIN diary_entries e"
        " ON e.id = s.entry_id WHERE e.course_id = ? AND s.outcome = 'updated'"
        " GROUP BY s.entry_id",
        [course_id],
    )
    return {row["entry_id"]: row["n"] for row in rows}
