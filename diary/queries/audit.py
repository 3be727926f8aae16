"""Audit events: an append-only trail of who did what (never names, notes or tokens).

Tamper evidence: each event stores ``prev_hash``, the ``hash`` of the event before it
(:data:`GENESIS` for the first), and its own ``hash``: SHA-256 of the previous hash and
the event's content (:func:`event_hash`). Editing, deleting or inserting an event in the
middle breaks every link after it; :func:`verify` finds the first broken one
(``flask --app diary audit verify``). Triggers refuse UPDATE, DELETE and REPLACE.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

import sqlite_utils

from .. import clock
from ..db import transaction
from .rows import AUDIT, decode_all

GENESIS = "0" * 64
#: the columns an event's hash covers, in this order
CONTENT = (
    "id",
    "at",
    "actor",
    "actor_id",
    "clinic_id",
    "patient_id",
    "course_id",
    "action",
    "detail",
)


def event_hash(previous: str, event: dict[str, Any]) -> str:
    """SHA-256 (hex) of the previous event's hash and this event's content, as stored
    (``detail`` as its JSON text)."""
    content = json.dumps([previous, *(event[k] for k in CONTENT)], ensure_ascii=False)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


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
        # inside a write transaction: no other event can come between the read and the insert
        last = db.execute("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1").fetchone()
        previous = last[1] if last else GENESIS
        event = {
            "id": (last[0] if last else 0) + 1,
            "at": clock.iso(),
            "actor": actor,
            "actor_id": actor_id,
            "clinic_id": clinic_id,
            "patient_id": patient_id,
            "course_id": course_id,
            "action": action,
            "detail": json.dumps(detail, sort_keys=True),
        }
        db.execute(
            "INSERT INTO audit_events (id, at, actor, actor_id, clinic_id, patient_id,"
            " course_id, action, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [*(event[k] for k in CONTENT), previous, event_hash(previous, event)],
        )
    return int(event["id"])


def on_course(
    db: sqlite_utils.Database,
    action: str,
    course: Mapping[str, Any],
    *,
    actor: str,
    actor_id: int | None = None,
    **detail: Any,
) -> int:
    """:func:`record` an event about a course, from a row that names its clinic and
    patient (``id``, ``clinic_id``, ``patient_id``, as :func:`patients.get_course` returns)."""
    return record(
        db, action, actor=actor, actor_id=actor_id, clinic_id=course["clinic_id"],
        patient_id=course["patient_id"], course_id=course["id"], **detail,
    )  # fmt: skip


def verify(db: sqlite_utils.Database) -> tuple[int, int | None]:
    """Walk the chain in id order: (events checked, id of the first broken event or None).
    An event is broken when its ``prev_hash`` is not the hash of the event before it, or
    its ``hash`` is not that of its content (edited, removed or inserted events)."""
    previous = GENESIS
    checked = 0
    for row in db.query("SELECT * FROM audit_events ORDER BY id"):
        if row["prev_hash"] != previous or row["hash"] != event_hash(previous, row):
            return checked, row["id"]
        previous = row["hash"]
        checked += 1
    return checked, None


def for_course(db: sqlite_utils.Database, course_id: int) -> list[dict[str, Any]]:
    """Audit events of one course, oldest first (``detail`` decoded)."""
    return decode_all(
        db.query("SELECT * FROM audit_events WHERE course_id = ? ORDER BY id", [course_id]), AUDIT
    )
