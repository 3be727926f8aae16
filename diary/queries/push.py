"""Web Push subscriptions (one per signed-in phone) and the reminders sent (one per
patient and day). Endpoints and keys stay on the server: no page shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlite_utils

from .. import clock
from ..db import transaction
from .rows import decode_all, first

# A subscription is sent to only while its phone's sign-in is open (not ended, not
# expired, its link not revoked); triggers also delete it when the sign-in ends.


def save(
    db: sqlite_utils.Database,
    patient_id: int,
    session_id: int,
    endpoint: str,
    p256dh: str,
    auth: str,
    *,
    cap: int,
) -> bool:
    """Store this phone's subscription in place of the one it had (a phone holds one);
    keep at most ``cap`` per patient, the most recent. Returns True when it is new or
    changed, False when the same subscription was stored already."""
    with transaction(db):
        same = db.execute(
            "SELECT 1 FROM push_subscriptions WHERE patient_id = ? AND session_id = ?"
            " AND endpoint = ? AND p256dh = ? AND auth = ?",
            [patient_id, session_id, endpoint, p256dh, auth],
        ).fetchone()
        if same:
            return False
        db.execute(
            "DELETE FROM push_subscriptions WHERE session_id = ? OR endpoint = ?",
            [session_id, endpoint],
        )
        db.execute(
            "INSERT INTO push_subscriptions (patient_id, session_id, endpoint, p256dh, auth,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [patient_id, session_id, endpoint, p256dh, auth, clock.iso()],
        )
        db.execute(
            "DELETE FROM push_subscriptions WHERE patient_id = ? AND id NOT IN"
            " (SELECT id FROM push_subscriptions WHERE patient_id = ?"
            " ORDER BY id DESC LIMIT ?)",
            [patient_id, patient_id, cap],
        )
    return True


def remove_for_session(db: sqlite_utils.Database, patient_id: int, session_id: int) -> int:
    """Remove this phone's subscription (the patient turned notifications off here)."""
    with transaction(db):
        return db.execute(
            "DELETE FROM push_subscriptions WHERE patient_id = ? AND session_id = ?",
            [patient_id, session_id],
        ).rowcount


def remove(db: sqlite_utils.Database, subscription_id: int) -> None:
    """Remove one subscription (the push service said it is gone: 404 or 410)."""
    with transaction(db):
        db.execute("DELETE FROM push_subscriptions WHERE id = ?", [subscription_id])


def for_session(db: sqlite_utils.Database, session_id: int) -> dict[str, Any] | None:
    """This phone's subscription, if it has one."""
    return first(
        db.query(
            "SELECT id, endpoint, created_at FROM push_subscriptions WHERE session_id = ?",
            [session_id],
        ),
        {},
    )


def count_for_patient(db: sqlite_utils.Database, patient_id: int) -> int:
    """How many subscriptions a patient has (every phone)."""
    return db.execute(
        "SELECT count(*) FROM push_subscriptions WHERE patient_id = ?", [patient_id]
    ).fetchone()[0]


def candidates(db: sqlite_utils.Database, now: datetime) -> list[dict[str, Any]]:
    """Patients with a reminder time and at least one phone subscribed and signed in,
    with their clinic's time zone and their language."""
    return decode_all(
        db.query(
            "SELECT DISTINCT p.id AS patient_id, p.reminder_time, p.locale, k.timezone"
            " FROM push_subscriptions u JOIN patients p ON p.id = u.patient_id"
            " JOIN clinics k ON k.id = p.clinic_id"
            " JOIN auth_sessions s ON s.id = u.session_id"
            " LEFT JOIN access_tokens t ON t.id = s.token_id"
            " WHERE s.ended_at IS NULL AND s.expires_at > ? AND t.revoked_at IS NULL"
            " AND p.reminder_time IS NOT NULL AND p.erased_at IS NULL ORDER BY p.id",
            [clock.iso(now)],
        ),
        {},
    )


def open_subscriptions(
    db: sqlite_utils.Database, patient_id: int, now: datetime
) -> list[dict[str, Any]]:
    """A patient's subscriptions on phones still signed in."""
    return decode_all(
        db.query(
            "SELECT u.id, u.endpoint, u.p256dh, u.auth FROM push_subscriptions u"
            " JOIN auth_sessions s ON s.id = u.session_id"
            " LEFT JOIN access_tokens t ON t.id = s.token_id"
            " WHERE s.ended_at IS NULL AND s.expires_at > ? AND t.revoked_at IS NULL"
            " AND u.patient_id = ? ORDER BY u.id",
            [clock.iso(now), patient_id],
        ),
        {},
    )


def claim_day(db: sqlite_utils.Database, patient_id: int, day: date, now: datetime) -> bool:
    """Record that today's reminder is being sent; False when a run (this one or one
    running beside it) already did: the UNIQUE (patient_id, day) decides."""
    with transaction(db):
        return (
            db.execute(
                "INSERT OR IGNORE INTO reminders_sent (patient_id, day, sent_at) VALUES (?, ?, ?)",
                [patient_id, day.isoformat(), clock.iso(now)],
            ).rowcount
            == 1
        )


def finish_day(db: sqlite_utils.Database, patient_id: int, day: date, delivered: int) -> None:
    """Record to how many phones the day's reminder went."""
    with transaction(db):
        db.execute(
            "UPDATE reminders_sent SET delivered = ? WHERE patient_id = ? AND day = ?",
            [delivered, patient_id, day.isoformat()],
        )


def release_day(db: sqlite_utils.Database, patient_id: int, day: date) -> None:
    """Forget a claim that reached no phone (every push service failed for a while), so
    the next run tries again."""
    with transaction(db):
        db.execute(
            "DELETE FROM reminders_sent WHERE patient_id = ? AND day = ? AND delivered = 0",
            [patient_id, day.isoformat()],
        )
