"""The daily email digest's rows: who asked for it, and which day each one got.

``digests_sent`` holds one row per clinician and clinic-local day. A run *claims* the day
(``INSERT OR IGNORE`` in a write transaction: of two runs at once, one wins) before it
sends, marks it ``sent`` after, and deletes the claim when the mail could not be sent so
that a later run tries again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlite_utils

from .. import clock
from ..db import transaction
from . import audit
from .rows import CLINICIAN, decode_all


def set_choice(db: sqlite_utils.Database, clinician_id: int, clinic_id: int, on: bool) -> bool:
    """Turn a clinician's daily digest on or off, with its audit event (emails that leave
    the server are worth a trace), or neither; False when it already was so."""
    with transaction(db):
        changed = db.execute(
            "UPDATE clinicians SET digest = ? WHERE id = ? AND digest != ?",
            [int(on), clinician_id, int(on)],
        ).rowcount
        if changed:
            audit.record(
                db,
                "clinician.digest_on" if on else "clinician.digest_off",
                actor="clinician",
                actor_id=clinician_id,
                clinic_id=clinic_id,
            )
    return bool(changed)


def subscribers(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Active clinicians who asked for the digest, with their clinic's id, name, language
    and time zone (``clinic_name``, ``clinic_locale``, ``timezone``), by clinic."""
    return decode_all(
        db.query(
            "SELECT c.id, c.clinic_id, c.email, c.name, c.locale, c.active, c.digest,"
            " k.name AS clinic_name, k.locale AS clinic_locale, k.timezone"
            " FROM clinicians c JOIN clinics k ON k.id = c.clinic_id"
            " WHERE c.active = 1 AND c.digest = 1 ORDER BY c.clinic_id, c.id"
        ),
        CLINICIAN,
    )


def has_day(db: sqlite_utils.Database, clinician_id: int, day: date) -> bool:
    """Whether the clinician's digest for ``day`` is claimed, sent or found empty already."""
    return (
        db.execute(
            "SELECT 1 FROM digests_sent WHERE clinician_id = ? AND day = ?",
            [clinician_id, day.isoformat()],
        ).fetchone()
        is not None
    )


def claim(
    db: sqlite_utils.Database, clinician_id: int, day: date, status: str, now: datetime
) -> bool:
    """Take the clinician's day (``sending``, or ``empty`` when there is nothing to send);
    False when another run has it already."""
    with transaction(db):
        cursor = db.execute(
            "INSERT OR IGNORE INTO digests_sent (clinician_id, day, status, claimed_at)"
            " VALUES (?, ?, ?, ?)",
            [clinician_id, day.isoformat(), status, clock.iso(now)],
        )
    return cursor.rowcount == 1


def mark_sent(db: sqlite_utils.Database, clinician_id: int, day: date, now: datetime) -> None:
    """The claimed digest went out."""
    with transaction(db):
        db.execute(
            "UPDATE digests_sent SET status = 'sent', sent_at = ?"
            " WHERE clinician_id = ? AND day = ? AND status = 'sending'",
            [clock.iso(now), clinician_id, day.isoformat()],
        )


def release(db: sqlite_utils.Database, clinician_id: int, day: date) -> None:
    """The claimed digest could not be sent: give the day back for a later run."""
    with transaction(db):
        db.execute(
            "DELETE FROM digests_sent WHERE clinician_id = ? AND day = ? AND status = 'sending'",
            [clinician_id, day.isoformat()],
        )
