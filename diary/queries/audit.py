"""Audit events: an append-only trail of who did what (never names, notes or tokens)."""

from __future__ import annotations

import json
from contextlib import nullcontext
from typing import Any

import sqlite_utils

from .. import clock
from ..db import transaction
from .rows import AUDIT, decode_all


def record(
    db: sqlite_utils.Database,
    action: str,
    *,
    actor: str,
    actor_id: int | None = None,
    clinic_id: int | None = None,
    patient_id: int | None = None,
    course_id: int | None = None,
    **detail: Any,
) -> int:
    """Append one audit event; joins the caller's transaction when there is one."""
    with transaction(db) if not db.conn.in_transaction else nullcontext():
        cursor = db.execute(
            "INSERT INTO audit_events (at, actor, actor_id, clinic_id, patient_id, course_id,"
            " action, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                clock.iso(),
                actor,
                actor_id,
                clinic_id,
                patient_id,
                course_id,
                action,
                json.dumps(detail, sort_keys=True),
            ],
        )
    return int(cursor.lastrowid)


def for_course(db: sqlite_utils.Database, course_id: int) -> list[dict[str, Any]]:
    """Audit events of one course, oldest first (``detail`` decoded)."""
    return decode_all(
        db.query("SELECT * FROM audit_events WHERE course_id = ? ORDER BY id", [course_id]), AUDIT
    )
