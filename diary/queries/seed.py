"""Writers for demo data and tests only: entries stored as given, with chosen times.

They bypass the diary's rules (which day may be filled in, corrections, idempotent sync)
on purpose, to build histories; the application itself never calls them. Production
writes are in the other modules of this package.
"""

from __future__ import annotations

from datetime import date

import sqlite_utils

from .. import clock
from ..db import transaction
from . import entries
from .rows import encode_date, encode_json


def insert_entry(
    db: sqlite_utils.Database,
    course_id: int,
    day: date | str,
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
    """Store a new entry as given (``day`` a date or ISO text); return its id."""
    created = created_at or clock.iso()
    with transaction(db):
        row = entries.insert(
            db,
            {
                "course_id": course_id,
                "day": encode_date(day),
                "client_id": client_id,
                "avg_nrs": avg_nrs,
                "worst_nrs": worst_nrs,
                "site_effects": encode_json(site_effects or []),
                "medication_taken": medication_taken,
                "medication": medication,
                "note": note,
                "late": late,
                "device_time": device_time or created,
                "created_at": created,
                "updated_at": created,
            },
        )
    return int(row["id"])
