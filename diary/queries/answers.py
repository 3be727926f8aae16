"""PEG-3 and PGIC answers (one of each per course and diary day at most).

They are written only with the day's diary entry, inside its transaction
(:func:`diary.queries.entries.save`), so they share its client id and its exactly-once
sync: a retried send is a duplicate before anything here runs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlite_utils

from .rows import ANSWER, decode, decode_all, encode_date, first

PEG = "peg_answers"
PGIC = "pgic_answers"
VALUES = {PEG: ("pain", "enjoyment", "activity"), PGIC: ("value",)}


def for_course(db: sqlite_utils.Database, table: str, course_id: int) -> list[dict[str, Any]]:
    """A course's PEG (``table`` = :data:`PEG`) or PGIC (:data:`PGIC`) answers, by day."""
    return decode_all(
        db.query(
            f"SELECT * FROM {table} WHERE course_id = ? ORDER BY day",  # noqa: S608 - constant
            [course_id],
        ),
        ANSWER,
    )


def get_for_day(
    db: sqlite_utils.Database, table: str, course_id: int, day: date
) -> dict[str, Any] | None:
    """The course's PEG or PGIC answer of one diary day."""
    return first(
        db.query(
            f"SELECT * FROM {table} WHERE course_id = ? AND day = ?",  # noqa: S608 - constant
            [course_id, encode_date(day)],
        ),
        ANSWER,
    )


def differs(existing: dict[str, Any] | None, table: str, values: tuple[int, ...]) -> bool:
    """True when ``values`` are not the stored answer of the day."""
    return existing is None or tuple(existing[k] for k in VALUES[table]) != values


def put(
    db: sqlite_utils.Database,
    table: str,
    course_id: int,
    day: date,
    values: tuple[int, ...],
    *,
    locale: str,
    client_id: str,
    device_time: str,
    now: str,
) -> None:
    """Store the day's answer, or correct it (the caller holds the transaction and has
    applied the entry's rules: day open, save not stale)."""
    columns = dict(zip(VALUES[table], values, strict=True))
    row = {
        **columns,
        "locale": locale,
        "client_id": client_id,
        "device_time": device_time,
        "updated_at": now,
    }
    updates = ", ".join(f"{k} = excluded.{k}" for k in row)
    names = ["course_id", "day", *row, "created_at"]
    db.execute(
        f"INSERT INTO {table} ({', '.join(names)})"  # noqa: S608 - constant names
        f" VALUES ({', '.join(':' + k for k in names)})"
        f" ON CONFLICT (course_id, day) DO UPDATE SET {updates}",
        {**row, "course_id": course_id, "day": encode_date(day), "created_at": now},
    )


def by_course(
    db: sqlite_utils.Database, table: str, clinic_id: int, active_only: bool = False
) -> dict[int, list[dict[str, Any]]]:
    """Every PEG or PGIC answer of a clinic's courses, grouped by course, by day."""
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    active = "AND c.end_date IS NULL" if active_only else ""
    for row in db.query(
        f"SELECT a.* FROM {table} a JOIN courses c ON c.id = a.course_id"  # noqa: S608
        f" JOIN patients p ON p.id = c.patient_id WHERE p.clinic_id = ? {active}"
        " ORDER BY a.course_id, a.day",
        [clinic_id],
    ):
        grouped[row["course_id"]].append(decode(row, ANSWER))
    return grouped
