"""Clinicians' second factors: authenticator keys, recovery codes, passkeys; and the second
step's state on a sign-in session. Every change is audited; secrets never enter the audit
trail or the logs (see :mod:`diary.mfa` for the rules)."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from .. import clock
from ..db import transaction
from . import audit
from .accounts import end_sessions
from .rows import PASSKEY, decode_all, encode_json, first

# --- authenticator keys -----------------------------------------------------------------


def totp_key(db: sqlite_utils.Database, clinician_id: int) -> dict[str, Any] | None:
    """The clinician's stored (encrypted) authenticator key and the last step used."""
    return first(db.query("SELECT * FROM totp_keys WHERE clinician_id = ?", [clinician_id]), {})


def enrol_totp(
    db: sqlite_utils.Database,
    clinician: dict[str, Any],
    sealed_secret: str,
    used_step: int,
    recovery_hashes: list[str],
    *,
    actor: str = "clinician",
) -> None:
    """Store a new authenticator key (replacing any earlier one) and a new set of recovery
    codes; the step of the code that confirmed it counts as used. Audited (``actor``:
    "system" when the demo sets it up)."""
    now = clock.iso()
    with transaction(db):
        db.execute(
            "INSERT INTO totp_keys (clinician_id, secret, last_step, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (clinician_id) DO UPDATE SET"
            " secret = excluded.secret, last_step = excluded.last_step,"
            " created_at = excluded.created_at",
            [clinician["id"], sealed_secret, used_step, now],
        )
        _store_recovery_codes(db, clinician["id"], recovery_hashes, now)
        audit.record(
            db,
            "mfa.enrolled",
            actor=actor,
            actor_id=clinician["id"] if actor == "clinician" else None,
            clinic_id=clinician["clinic_id"],
            method="totp",
        )


def use_totp_step(db: sqlite_utils.Database, clinician_id: int, step: int) -> bool:
    """Mark a code's step as used; False when it (or a later one) was used already."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE totp_keys SET last_step = ? WHERE clinician_id = ? AND last_step < ?",
            [step, clinician_id, step],
        )
    return cursor.rowcount == 1


# --- recovery codes ---------------------------------------------------------------------


def _store_recovery_codes(
    db: sqlite_utils.Database, clinician_id: int, hashes: list[str], now: str
) -> None:
    db.execute("DELETE FROM recovery_codes WHERE clinician_id = ?", [clinician_id])
    for code_hash in hashes:
        db.execute(
            "INSERT INTO recovery_codes (clinician_id, code_hash, created_at) VALUES (?, ?, ?)",
            [clinician_id, code_hash, now],
        )


def replace_recovery_codes(
    db: sqlite_utils.Database, clinician: dict[str, Any], hashes: list[str]
) -> None:
    """A new set of recovery codes; the old ones stop working. Audited."""
    with transaction(db):
        _store_recovery_codes(db, clinician["id"], hashes, clock.iso())
        audit.record(
            db,
            "mfa.recovery_codes_renewed",
            actor="clinician",
            actor_id=clinician["id"],
            clinic_id=clinician["clinic_id"],
        )


def has_recovery_code(db: sqlite_utils.Database, clinician_id: int, code_hash: str) -> bool:
    """Whether this unused recovery code belongs to the clinician (nothing is changed)."""
    row = db.execute(
        "SELECT 1 FROM recovery_codes WHERE clinician_id = ? AND code_hash = ? AND used_at IS NULL",
        [clinician_id, code_hash],
    ).fetchone()
    return row is not None


def use_recovery_code(db: sqlite_utils.Database, clinician_id: int, code_hash: str) -> bool:
    """Spend a recovery code; False when it is unknown or was used already."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE recovery_codes SET used_at = ? WHERE clinician_id = ? AND code_hash = ?"
            " AND used_at IS NULL",
            [clock.iso(), clinician_id, code_hash],
        )
    return cursor.rowcount == 1


def recovery_codes_left(db: sqlite_utils.Database, clinician_id: int) -> int:
    """How many of the clinician's recovery codes are still unused."""
    return db.execute(
        "SELECT count(*) FROM recovery_codes WHERE clinician_id = ? AND used_at IS NULL",
        [clinician_id],
    ).fetchone()[0]


# --- passkeys ---------------------------------------------------------------------------


def passkeys(db: sqlite_utils.Database, clinician_id: int) -> list[dict[str, Any]]:
    """The clinician's passkeys, oldest first (``transports`` decoded)."""
    return decode_all(
        db.query("SELECT * FROM passkeys WHERE clinician_id = ? ORDER BY id", [clinician_id]),
        PASSKEY,
    )


def add_passkey(
    db: sqlite_utils.Database,
    clinician: dict[str, Any],
    credential_id: str,
    public_key: bytes,
    sign_count: int,
    transports: list[str],
) -> int:
    """Store a registered passkey; audited. Returns its id."""
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO passkeys (clinician_id, credential_id, public_key, sign_count,"
            " transports, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                clinician["id"],
                credential_id,
                public_key,
                sign_count,
                encode_json(transports),
                clock.iso(),
            ],
        )
        audit.record(
            db,
            "mfa.passkey_added",
            actor="clinician",
            actor_id=clinician["id"],
            clinic_id=clinician["clinic_id"],
            passkey=cursor.lastrowid,
        )
    return int(cursor.lastrowid)


def passkey_used(db: sqlite_utils.Database, passkey_id: int, sign_count: int) -> None:
    """Record a passkey's use and its authenticator's new signature counter."""
    with transaction(db):
        db.execute(
            "UPDATE passkeys SET sign_count = ?, last_used_at = ? WHERE id = ?",
            [sign_count, clock.iso(), passkey_id],
        )


def remove_passkey(db: sqlite_utils.Database, clinician: dict[str, Any], passkey_id: int) -> bool:
    """Remove one of the clinician's own passkeys; audited. False when it is not theirs."""
    with transaction(db):
        cursor = db.execute(
            "DELETE FROM passkeys WHERE id = ? AND clinician_id = ?", [passkey_id, clinician["id"]]
        )
        if cursor.rowcount:
            audit.record(
                db,
                "mfa.passkey_removed",
                actor="clinician",
                actor_id=clinician["id"],
                clinic_id=clinician["clinic_id"],
                passkey=passkey_id,
            )
    return cursor.rowcount == 1


# --- a team member's second factors, all at once ----------------------------------------


def summary(db: sqlite_utils.Database, clinician_id: int) -> dict[str, Any]:
    """What the clinician has set up: ``totp_since`` (time or None), ``recovery_left``,
    ``passkeys`` (count)."""
    key = totp_key(db, clinician_id)
    return {
        "totp_since": key["created_at"] if key else None,
        "recovery_left": recovery_codes_left(db, clinician_id),
        "passkeys": len(passkeys(db, clinician_id)),
    }


def enrolled_ids(db: sqlite_utils.Database, clinic_id: int) -> set[int]:
    """Ids of the clinic's clinicians who have an authenticator app set up."""
    return {
        row[0]
        for row in db.execute(
            "SELECT k.clinician_id FROM totp_keys k JOIN clinicians c ON c.id = k.clinician_id"
            " WHERE c.clinic_id = ?",
            [clinic_id],
        )
    }


def reset(
    db: sqlite_utils.Database,
    clinician: dict[str, Any],
    *,
    actor: str,
    actor_id: int | None,
) -> None:
    """Remove a clinician's authenticator key, recovery codes and passkeys and end their
    sessions (a lost phone); they set it up again at their next sign-in. Audited."""
    with transaction(db):
        for table in ("totp_keys", "recovery_codes", "passkeys"):
            db.execute(
                f"DELETE FROM {table} WHERE clinician_id = ?",  # noqa: S608 - constant names
                [clinician["id"]],
            )
        end_sessions(db, clinician_id=clinician["id"])
        audit.record(
            db,
            "mfa.reset",
            actor=actor,
            actor_id=actor_id,
            clinic_id=clinician["clinic_id"],
            clinician=clinician["id"],
        )


# --- the second step's state on a session -------------------------------------------------


def set_challenge(db: sqlite_utils.Database, session_id: int, challenge: str) -> None:
    """Keep a WebAuthn challenge on the session until it is answered (one at a time)."""
    with transaction(db):
        db.execute("UPDATE auth_sessions SET challenge = ? WHERE id = ?", [challenge, session_id])


def take_challenge(db: sqlite_utils.Database, session_id: int) -> str | None:
    """The session's pending WebAuthn challenge, removed so that it answers once only."""
    with transaction(db):
        row = db.execute(
            "SELECT challenge FROM auth_sessions WHERE id = ?", [session_id]
        ).fetchone()
        db.execute("UPDATE auth_sessions SET challenge = NULL WHERE id = ?", [session_id])
    return row[0] if row else None


def count_code_failure(db: sqlite_utils.Database, session_id: int) -> int:
    """One more wrong code on this session; returns how many so far."""
    with transaction(db):
        db.execute(
            "UPDATE auth_sessions SET mfa_failures = mfa_failures + 1 WHERE id = ?", [session_id]
        )
        return db.execute(
            "SELECT mfa_failures FROM auth_sessions WHERE id = ?", [session_id]
        ).fetchone()[0]


def audit_event(
    db: sqlite_utils.Database,
    action: str,
    clinician: dict[str, Any],
    **detail: Any,
) -> None:
    """Audit a second-factor event of a sign-in (``mfa.used``, ``mfa.failed``,
    ``mfa.recovery_used``); ``detail`` names the method, never a code or a key."""
    audit.record(
        db,
        action,
        actor="clinician",
        actor_id=clinician["id"],
        clinic_id=clinician["clinic_id"],
        **detail,
    )
