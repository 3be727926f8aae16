"""Clinics, clinicians, sign-in sessions and failed-login counts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from .. import clock
from ..db import transaction
from ..security import new_token, token_hash
from . import audit
from .rows import AUTH_SESSION, CLINIC, CLINICIAN, decode_all, encode_json, first

# --- clinics --------------------------------------------------------------------------


def create_clinic(
    db: sqlite_utils.Database,
    name: str,
    *,
    timezone: str,
    phone: str = "",
    locale: str = "en",
    drugs: list[str] | None = None,
    needle: str = "",
) -> int:
    """Insert a clinic and return its id. The time zone has no default: it decides which
    day a diary entry belongs to."""
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO clinics (name, phone, locale, timezone, drugs, needle, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [name, phone, locale, timezone, encode_json(drugs or []), needle, clock.iso()],
        )
    return int(cursor.lastrowid)


def get_clinic(db: sqlite_utils.Database, clinic_id: int) -> dict[str, Any] | None:
    """One clinic by id (``drugs`` as a list)."""
    return first(db.query("SELECT * FROM clinics WHERE id = ?", [clinic_id]), CLINIC)


def find_clinic_by_name(db: sqlite_utils.Database, name: str) -> dict[str, Any] | None:
    """The first clinic with this exact name."""
    return first(db.query("SELECT * FROM clinics WHERE name = ? ORDER BY id", [name]), CLINIC)


# --- clinicians -----------------------------------------------------------------------


def create_clinician(
    db: sqlite_utils.Database,
    clinic_id: int,
    email: str,
    name: str,
    password_hash: str,
    *,
    is_admin: bool = False,
    locale: str | None = None,
    must_change_password: bool = False,
    actor: str = "system",
    actor_id: int | None = None,
) -> int:
    """Add a clinician and its audit event in one transaction; return the id (emails are
    unique, case-insensitively). The team page, the CLI and the demo all come here. Hash
    the password before: hashing is slow, and the write lock is held from the start. A
    one-time password (``must_change_password``) is replaced at the first sign-in."""
    now = clock.iso()
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO clinicians (clinic_id, email, name, password_hash, locale, is_admin,"
            " must_change_password, password_changed_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                clinic_id,
                email.strip(),
                name,
                password_hash,
                locale,
                is_admin,
                must_change_password,
                now,
                now,
            ],
        )
        audit.record(
            db,
            "clinician.added",
            actor=actor,
            actor_id=actor_id,
            clinic_id=clinic_id,
            clinician=cursor.lastrowid,
        )
    return int(cursor.lastrowid)


def get_clinician_by_email(db: sqlite_utils.Database, email: str) -> dict[str, Any] | None:
    """The clinician with this email (case-insensitive), active or not."""
    return first(db.query("SELECT * FROM clinicians WHERE email = ?", [email.strip()]), CLINICIAN)


def set_clinician_password(
    db: sqlite_utils.Database, clinician_id: int, password_hash: str, *, chosen: bool = True
) -> None:
    """Replace the password hash and end every session of this clinician. ``chosen``: a
    password the clinician chose (a one-time password no longer needs changing); False for
    a new hash of the same password."""
    now = clock.iso()
    with transaction(db):
        db.execute(
            "UPDATE clinicians SET password_hash = ?, password_changed_at = ?,"
            " must_change_password = must_change_password AND ? WHERE id = ?",
            [password_hash, now, int(not chosen), clinician_id],
        )
        end_sessions(db, clinician_id=clinician_id)


def change_own_password(
    db: sqlite_utils.Database, clinician_id: int, clinic_id: int, password_hash: str, **detail: Any
) -> None:
    """A password the clinician chose, and its audit event, or neither (every session of
    theirs ends). Hash it before calling: argon2 is slow and this holds the write lock."""
    with transaction(db):
        set_clinician_password(db, clinician_id, password_hash)
        audit.record(
            db,
            "clinician.password_changed",
            actor="clinician",
            actor_id=clinician_id,
            clinic_id=clinic_id,
            **detail,
        )


def set_clinician_locale(db: sqlite_utils.Database, clinician_id: int, locale: str) -> None:
    """Save the clinician's preferred language."""
    with transaction(db):
        db.execute("UPDATE clinicians SET locale = ? WHERE id = ?", [locale, clinician_id])


# --- sign-in sessions (server side, so logout really ends them) ------------------------


def start_session(
    db: sqlite_utils.Database,
    lifetime: timedelta,
    *,
    clinician_id: int | None = None,
    patient_id: int | None = None,
    token_id: int | None = None,
    device: str = "",
    mfa_at: str | None = None,
) -> str:
    """Create a sign-in session and return its id for the cookie (stored only hashed);
    ``device`` is a short description such as "Chrome · Android"; ``mfa_at``: when this
    sign-in passed its second step (None: not yet, or not needed)."""
    sid = new_token()
    now = clock.now()
    with transaction(db):
        db.execute(
            "INSERT INTO auth_sessions (sid_hash, clinician_id, patient_id, token_id,"
            " created_at, last_seen_at, expires_at, device, mfa_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                token_hash(sid),
                clinician_id,
                patient_id,
                token_id,
                clock.iso(now),
                clock.iso(now),
                clock.iso(now + lifetime),
                device[:80],
                mfa_at,
            ],
        )
    return sid


def open_patient_sessions(db: sqlite_utils.Database, patient_id: int) -> list[dict[str, Any]]:
    """The devices signed in to a patient's diary now (not ended, not expired, their link
    not revoked), most recently used first."""
    return decode_all(
        db.query(
            "SELECT s.id, s.device, s.created_at, s.last_seen_at FROM auth_sessions s"
            " LEFT JOIN access_tokens t ON t.id = s.token_id"
            " WHERE s.patient_id = ? AND s.ended_at IS NULL AND s.expires_at > ?"
            " AND t.revoked_at IS NULL ORDER BY s.last_seen_at DESC, s.id DESC",
            [patient_id, clock.iso()],
        ),
        AUTH_SESSION,
    )


def end_patient_sessions(
    db: sqlite_utils.Database, patient_id: int, *, only: int | None = None, keep: int | None = None
) -> int:
    """End a patient's sessions: ``only`` that one, or all but ``keep``; never another
    patient's. Returns how many were ended."""
    sql = "UPDATE auth_sessions SET ended_at = ? WHERE patient_id = ? AND ended_at IS NULL"
    args: list[Any] = [clock.iso(), patient_id]
    if only is not None:
        sql, args = sql + " AND id = ?", [*args, only]
    if keep is not None:
        sql, args = sql + " AND id != ?", [*args, keep]
    with transaction(db):
        return db.execute(sql, args).rowcount


SESSION_USER_SQL = """
SELECT s.id AS session_id, s.clinician_id, s.patient_id, s.token_id, s.created_at,
       s.last_seen_at, s.expires_at, s.ended_at, s.mfa_at,
       c.clinic_id AS c_clinic_id, c.locale AS c_locale, c.is_admin, c.active, c.name AS c_name,
       c.must_change_password, tk.clinician_id IS NOT NULL AS has_totp,
       p.clinic_id AS p_clinic_id, p.locale AS p_locale,
       t.revoked_at AS token_revoked_at, k.timezone
FROM auth_sessions s
LEFT JOIN clinicians c ON c.id = s.clinician_id
LEFT JOIN totp_keys tk ON tk.clinician_id = s.clinician_id
LEFT JOIN patients p ON p.id = s.patient_id
LEFT JOIN access_tokens t ON t.id = s.token_id
LEFT JOIN clinics k ON k.id = coalesce(c.clinic_id, p.clinic_id)
WHERE s.sid_hash = ?
"""


def load_session(db: sqlite_utils.Database, sid: str) -> dict[str, Any] | None:
    """The session row for a cookie's session id, joined with its clinician or patient."""
    return first(db.query(SESSION_USER_SQL, [token_hash(sid)]), CLINICIAN)


def end_session_by_sid(db: sqlite_utils.Database, sid: str) -> None:
    """End the session a cookie holds (an earlier sign-in in the same browser)."""
    with transaction(db):
        db.execute(
            "UPDATE auth_sessions SET ended_at = ? WHERE sid_hash = ? AND ended_at IS NULL",
            [clock.iso(), token_hash(sid)],
        )


def touch_session(db: sqlite_utils.Database, session_id: int, moment: datetime) -> None:
    """Record activity (used for the idle timeout)."""
    with transaction(db):
        db.execute(
            "UPDATE auth_sessions SET last_seen_at = ? WHERE id = ?",
            [clock.iso(moment), session_id],
        )


def end_session(db: sqlite_utils.Database, session_id: int) -> None:
    """End one session: its cookie is refused from now on."""
    with transaction(db):
        db.execute(
            "UPDATE auth_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            [clock.iso(), session_id],
        )


def end_sessions(
    db: sqlite_utils.Database,
    *,
    clinician_id: int | None = None,
    patient_id: int | None = None,
) -> int:
    """End every open session of a clinician or of a patient; return how many."""
    column, value = ("clinician_id", clinician_id) if clinician_id else ("patient_id", patient_id)
    with transaction(db):
        cursor = db.execute(
            f"UPDATE auth_sessions SET ended_at = ? WHERE {column} = ? AND ended_at IS NULL",  # noqa: S608
            [clock.iso(), value],
        )
    return cursor.rowcount


# --- failed sign-in attempts ------------------------------------------------------------


def count_failures(
    db: sqlite_utils.Database, scope: str, key: str, since: datetime
) -> tuple[int, str | None]:
    """Failures for ``key`` since ``since``: (count, time of the oldest counted)."""
    row = next(
        db.query(
            "SELECT count(*) AS n, min(at) AS oldest FROM login_failures"
            " WHERE scope = ? AND key = ? AND at >= ?",
            [scope, key, clock.iso(since)],
        )
    )
    return int(row["n"]), row["oldest"]


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt counted before its password is checked (:func:`reserve_attempt`):
    ``wait`` seconds until one is allowed again (0: allowed), the scopes whose limit is
    reached, and the ids of the rows that count it (kept as the failure, or released)."""

    wait: int
    blocked: frozenset[str]
    rows: tuple[int, ...]


def reserve_attempt(
    db: sqlite_utils.Database,
    limits: dict[str, tuple[str, int]],
    record: dict[str, str],
    window: timedelta,
) -> Attempt:
    """Check the limits and count this attempt as a failure, in one write transaction.

    ``limits``: scope -> (key, failures allowed in ``window``); ``record``: scope -> key of
    the rows to add. Parallel attempts queue for the write lock, so at most the limit get
    through: the rest see the rows of those before them. When a limit is reached nothing is
    added. A successful attempt releases its rows (:func:`release_attempt`)."""
    now = clock.now()
    since = clock.iso(now - window)
    with transaction(db):
        wait = 0.0
        blocked = set()
        for scope, (key, limit) in limits.items():
            count, oldest = db.execute(
                "SELECT count(*), min(at) FROM login_failures"
                " WHERE scope = ? AND key = ? AND at >= ?",
                [scope, key, since],
            ).fetchone()
            if count >= limit and oldest:
                blocked.add(scope)
                wait = max(wait, (clock.parse(oldest) + window - now).total_seconds())
        if blocked:
            return Attempt(max(1, math.ceil(wait)), frozenset(blocked), ())
        rows = []
        for scope, key in record.items():
            cursor = db.execute(
                "INSERT INTO login_failures (scope, key, at) VALUES (?, ?, ?)",
                [scope, key, clock.iso(now)],
            )
            rows.append(int(cursor.lastrowid))
        db.execute("DELETE FROM login_failures WHERE at < ?", [since])
    return Attempt(0, frozenset(), tuple(rows))


def release_attempt(db: sqlite_utils.Database, attempt: Attempt) -> None:
    """Un-count an attempt that succeeded."""
    if attempt.rows:
        with transaction(db):
            db.execute(
                "DELETE FROM login_failures WHERE id IN ("  # noqa: S608 - placeholders only
                + ", ".join("?" * len(attempt.rows))
                + ")",
                list(attempt.rows),
            )


def clear_failures(db: sqlite_utils.Database, account_key: str) -> None:
    """Forget an account's failures after a successful sign-in."""
    with transaction(db):
        db.execute("DELETE FROM login_failures WHERE scope = 'account' AND key = ?", [account_key])


def list_clinicians(db: sqlite_utils.Database, clinic_id: int) -> list[dict[str, Any]]:
    """A clinic's clinicians (no password hashes), by name."""
    return decode_all(
        db.query(
            "SELECT id, email, name, is_admin, active, created_at FROM clinicians"
            " WHERE clinic_id = ? ORDER BY name COLLATE NOCASE",
            [clinic_id],
        ),
        CLINICIAN,
    )


#: the clinic settings a clinic admin can change (``drugs`` is a JSON list, ``drug_names``
#: a JSON mapping: drug as typed -> {locale: name})
CLINIC_SETTINGS = (
    "name",
    "phone",
    "locale",
    "timezone",
    "session_interval_days",
    "paper_size",
    "drugs",
    "drug_names",
    "needle",
    "retention_days",
    "no_entry_days",
)


def update_clinic(
    db: sqlite_utils.Database, clinic_id: int, values: dict[str, Any], *, clinician_id: int
) -> list[str]:
    """Change the clinic's settings; the audit event names what changed."""
    fields = CLINIC_SETTINGS
    current = get_clinic(db, clinic_id)
    changed = [f for f in fields if current[f] != values[f]]
    stored = dict(
        values, drugs=encode_json(values["drugs"]), drug_names=encode_json(values["drug_names"])
    )
    if changed:
        with transaction(db):
            db.execute(
                # column names come from the constant tuple above, values are parameters
                "UPDATE clinics SET "  # noqa: S608
                + ", ".join(f"{f} = ?" for f in fields)
                + " WHERE id = ?",
                [stored[f] for f in fields] + [clinic_id],
            )
            audit.record(
                db,
                "clinic.settings_changed",
                actor="clinician",
                actor_id=clinician_id,
                clinic_id=clinic_id,
                changed=changed,
            )
    return changed


def get_clinician(db: sqlite_utils.Database, clinician_id: int) -> dict[str, Any] | None:
    """One clinician by id."""
    return first(db.query("SELECT * FROM clinicians WHERE id = ?", [clinician_id]), CLINICIAN)


def set_clinician_active(
    db: sqlite_utils.Database, clinician: dict[str, Any], active: bool, *, by: int
) -> None:
    """Deactivate (sessions end at once) or reactivate a clinician, audited."""
    with transaction(db):
        db.execute("UPDATE clinicians SET active = ? WHERE id = ?", [int(active), clinician["id"]])
        if not active:
            end_sessions(db, clinician_id=clinician["id"])
        audit.record(
            db,
            "clinician.activated" if active else "clinician.deactivated",
            actor="clinician",
            actor_id=by,
            clinic_id=clinician["clinic_id"],
            clinician=clinician["id"],
        )


def count_active_admins(db: sqlite_utils.Database, clinic_id: int) -> int:
    """How many active clinic admins the clinic has."""
    return db.execute(
        "SELECT count(*) FROM clinicians WHERE clinic_id = ? AND is_admin = 1 AND active = 1",
        [clinic_id],
    ).fetchone()[0]
