"""Schema, as ``sqlite_utils.Migrations``: one function per change, applied in order.

Later changes add new functions at the end; an applied function is never edited.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

migrations = Migrations("diary")


def _no_replace(table: str) -> str:
    """A trigger that refuses an INSERT reusing an existing id: ``INSERT OR REPLACE``
    deletes the old row without firing DELETE triggers (recursive triggers are off)."""
    guard = "WHEN EXISTS (SELECT 1 FROM {t} WHERE id = NEW.id)"  # table names: constants
    return (
        f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} {guard.format(t=table)}"
        f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    )


def _append_only(table: str) -> list[str]:
    """Triggers that make ``table`` append-only: UPDATE and DELETE are refused."""
    return [
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""",
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""",
    ]


INITIAL_SCHEMA = [
    """CREATE TABLE clinics (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        phone TEXT NOT NULL DEFAULT '',
        locale TEXT NOT NULL DEFAULT 'en',
        timezone TEXT NOT NULL DEFAULT 'UTC',
        session_interval_days INTEGER NOT NULL DEFAULT 7
            CHECK (session_interval_days BETWEEN 1 AND 60),
        paper_size TEXT NOT NULL DEFAULT 'A4' CHECK (paper_size IN ('A4', 'Letter')),
        drugs TEXT NOT NULL DEFAULT '[]',      -- JSON list of drug names the clinic uses
        needle TEXT NOT NULL DEFAULT '',
        retention_days INTEGER,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE clinicians (
        id INTEGER PRIMARY KEY,
        clinic_id INTEGER NOT NULL REFERENCES clinics(id),
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        locale TEXT,
        is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
        active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        password_changed_at TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX clinicians_clinic ON clinicians(clinic_id)",
    """CREATE TABLE patients (
        id INTEGER PRIMARY KEY,
        clinic_id INTEGER NOT NULL REFERENCES clinics(id),
        code TEXT NOT NULL,                     -- pseudonymous code, never a name
        locale TEXT NOT NULL DEFAULT 'en',
        birth_year INTEGER CHECK (birth_year IS NULL OR birth_year BETWEEN 1900 AND 2100),
        contact_note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        UNIQUE (clinic_id, code)
    )""",
    """CREATE TABLE courses (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        area TEXT NOT NULL CHECK (area IN
            ('neck', 'low_back', 'shoulder', 'knee', 'hip', 'tendon', 'other')),
        area_note TEXT NOT NULL DEFAULT '',
        start_date TEXT NOT NULL,               -- ISO date, clinic's calendar
        end_date TEXT,                          -- set when the course is closed
        flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX courses_patient ON courses(patient_id)",
    """CREATE TABLE access_tokens (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        purpose TEXT NOT NULL DEFAULT 'link' CHECK (purpose IN ('link', 'calendar')),
        token_hash TEXT NOT NULL UNIQUE,        -- SHA-256 hex; the token itself is never stored
        created_at TEXT NOT NULL,
        revoked_at TEXT
    )""",
    "CREATE INDEX access_tokens_patient ON access_tokens(patient_id)",
    """CREATE TABLE auth_sessions (
        id INTEGER PRIMARY KEY,
        sid_hash TEXT NOT NULL UNIQUE,          -- SHA-256 of the id held in the cookie
        clinician_id INTEGER REFERENCES clinicians(id),
        patient_id INTEGER REFERENCES patients(id),
        token_id INTEGER REFERENCES access_tokens(id),
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        ended_at TEXT,
        CHECK ((clinician_id IS NULL) != (patient_id IS NULL))
    )""",
    "CREATE INDEX auth_sessions_clinician ON auth_sessions(clinician_id)",
    "CREATE INDEX auth_sessions_patient ON auth_sessions(patient_id)",
    """CREATE TABLE login_failures (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL CHECK (scope IN ('account', 'address')),
        key TEXT NOT NULL,                      -- SHA-256 of the email, or the client address
        at TEXT NOT NULL
    )""",
    "CREATE INDEX login_failures_key ON login_failures(scope, key, at)",
    """CREATE TABLE consents (
        id INTEGER PRIMARY KEY,
        course_id INTEGER NOT NULL REFERENCES courses(id),
        kind TEXT NOT NULL CHECK (kind IN ('consent', 'withdrawal')),
        sheet_version INTEGER NOT NULL,
        locale TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        agreements TEXT NOT NULL DEFAULT '{}',  -- JSON: {"treatment": true, ...}
        full_name TEXT NOT NULL DEFAULT '',
        signature_png BLOB,
        user_agent TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX consents_course ON consents(course_id)",
    """CREATE TABLE screening_answers (
        id INTEGER PRIMARY KEY,
        course_id INTEGER NOT NULL REFERENCES courses(id),
        question TEXT NOT NULL,
        answer TEXT NOT NULL CHECK (answer IN ('yes', 'no', 'unsure')),
        detail TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX screening_answers_course ON screening_answers(course_id)",
    """CREATE TABLE treatment_sessions (
        id INTEGER PRIMARY KEY,
        course_id INTEGER NOT NULL REFERENCES courses(id),
        number INTEGER NOT NULL CHECK (number >= 1),
        date TEXT NOT NULL,
        nrs_before INTEGER CHECK (nrs_before IS NULL OR nrs_before BETWEEN 0 AND 10),
        area TEXT NOT NULL DEFAULT '',
        drugs TEXT NOT NULL DEFAULT '[]',       -- JSON list of {name, dose, volume_ml}
        needle TEXT NOT NULL DEFAULT '',
        ultrasound INTEGER NOT NULL DEFAULT 0 CHECK (ultrasound IN (0, 1)),
        adverse_events TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '',
        created_by INTEGER REFERENCES clinicians(id),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (course_id, number)
    )""",
    """CREATE TABLE diary_entries (
        id INTEGER PRIMARY KEY,
        course_id INTEGER NOT NULL REFERENCES courses(id),
        day TEXT NOT NULL,                      -- ISO date the rating is for, clinic's calendar
        client_id TEXT NOT NULL UNIQUE,         -- generated on the device: idempotent sync
        avg_nrs INTEGER NOT NULL CHECK (avg_nrs BETWEEN 0 AND 10),
        worst_nrs INTEGER NOT NULL CHECK (worst_nrs BETWEEN 0 AND 10),
        site_effects TEXT NOT NULL DEFAULT '[]',
        medication_taken INTEGER CHECK (medication_taken IS NULL OR medication_taken IN (0, 1)),
        medication TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 500),
        late INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
        device_time TEXT,                       -- when the patient saved it on the phone
        created_at TEXT NOT NULL,               -- server time of the first arrival
        updated_at TEXT NOT NULL,
        UNIQUE (course_id, day)
    )""",
    """CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL CHECK (actor IN ('clinician', 'patient', 'system')),
        actor_id INTEGER,
        clinic_id INTEGER REFERENCES clinics(id),
        patient_id INTEGER REFERENCES patients(id),
        course_id INTEGER REFERENCES courses(id),
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'       -- JSON; never names, notes or tokens
    )""",
    "CREATE INDEX audit_events_course ON audit_events(course_id)",
    "CREATE INDEX audit_events_clinic ON audit_events(clinic_id, at)",
    *_append_only("consents"),
    *_append_only("audit_events"),
]


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    """Every table of DESIGN.md's Data section, with append-only triggers."""
    for statement in INITIAL_SCHEMA:
        db.execute(statement)


def apply(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending


@migrations()
def m002_consent_text_and_quiz(db: sqlite_utils.Database) -> None:
    """Keep the exact text a patient consented to; record comprehension-check attempts."""
    db.execute("ALTER TABLE consents ADD COLUMN text TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE screening_answers ADD COLUMN sheet_version INTEGER NOT NULL DEFAULT 1")
    db.execute(
        """CREATE TABLE quiz_attempts (
            id INTEGER PRIMARY KEY,
            course_id INTEGER NOT NULL REFERENCES courses(id),
            sheet_version INTEGER NOT NULL,
            answers TEXT NOT NULL,              -- JSON {question: option}
            wrong TEXT NOT NULL,                -- JSON list of questions answered wrongly
            passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX quiz_attempts_course ON quiz_attempts(course_id)")


@migrations()
def m003_diary_sync_and_reminders(db: sqlite_utils.Database) -> None:
    """Every client id ever applied (idempotent offline sync), allergy signs, reminder time."""
    db.execute(
        """CREATE TABLE entry_submissions (
            client_id TEXT PRIMARY KEY,         -- generated on the device for each save
            entry_id INTEGER NOT NULL REFERENCES diary_entries(id),
            outcome TEXT NOT NULL CHECK (outcome IN ('created', 'updated', 'stale')),
            device_time TEXT,
            received_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX entry_submissions_entry ON entry_submissions(entry_id)")
    db.execute("ALTER TABLE diary_entries ADD COLUMN allergy_signs TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE patients ADD COLUMN reminder_time TEXT")


@migrations()
def m004_data_rights(db: sqlite_utils.Database) -> None:
    """When a patient's diary content was erased on request, and when a course was purged."""
    db.execute("ALTER TABLE patients ADD COLUMN erased_at TEXT")
    db.execute("ALTER TABLE courses ADD COLUMN purged_at TEXT")


@migrations()
def m005_session_records(db: sqlite_utils.Database) -> None:
    """A session records explicitly that the pain was not measured or that no drug was
    given, and the clinician's note when consent was given on paper."""
    db.execute(
        "ALTER TABLE treatment_sessions ADD COLUMN nrs_not_measured INTEGER NOT NULL DEFAULT 0"
        " CHECK (nrs_not_measured IN (0, 1))"
    )
    db.execute(
        "ALTER TABLE treatment_sessions ADD COLUMN no_drug INTEGER NOT NULL DEFAULT 0"
        " CHECK (no_drug IN (0, 1))"
    )
    db.execute(
        "ALTER TABLE treatment_sessions ADD COLUMN paper_consent_note TEXT NOT NULL DEFAULT ''"
    )


@migrations()
def m006_tamper_evidence(db: sqlite_utils.Database) -> None:
    """REPLACE can no longer overwrite a consent or an audit event, and each audit event
    carries the SHA-256 chain (:mod:`diary.queries.audit`): existing events are chained
    here, in id order, with the UPDATE trigger lifted for the one backfill."""
    from .queries import audit  # the chain's rule lives there

    for table in ("consents", "audit_events"):
        db.execute(_no_replace(table))
    db.execute("ALTER TABLE audit_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE audit_events ADD COLUMN hash TEXT NOT NULL DEFAULT ''")
    db.execute("DROP TRIGGER audit_events_no_update")
    previous = audit.GENESIS
    for row in db.query("SELECT * FROM audit_events ORDER BY id"):
        digest = audit.event_hash(previous, row)
        db.execute(
            "UPDATE audit_events SET prev_hash = ?, hash = ? WHERE id = ?",
            [previous, digest, row["id"]],
        )
        previous = digest
    db.execute(_append_only("audit_events")[0])


@migrations()
def m007_countersignatures(db: sqlite_utils.Database) -> None:
    """Who explained the consent: the clinician's countersignature, with the interpreter,
    witness and legal representative when there was one (append-only, one per consent)."""
    db.execute(
        """CREATE TABLE consent_countersignatures (
            id INTEGER PRIMARY KEY,
            consent_id INTEGER NOT NULL UNIQUE REFERENCES consents(id),
            clinician_id INTEGER NOT NULL REFERENCES clinicians(id),
            clinician_name TEXT NOT NULL,           -- as it was when signing
            statement TEXT NOT NULL,                -- the sentence agreed to, as shown
            interpreter_name TEXT NOT NULL DEFAULT '',
            interpreter_language TEXT NOT NULL DEFAULT '',
            witness_name TEXT NOT NULL DEFAULT '',
            representative_name TEXT NOT NULL DEFAULT '',
            representative_relationship TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        )"""
    )
    for statement in (*_append_only("consent_countersignatures"),
                      _no_replace("consent_countersignatures")):  # fmt: skip
        db.execute(statement)


@migrations()
def m008_consent_codes(db: sqlite_utils.Database) -> None:
    """The short code printed on a consent's PDF copy, to verify it at ``/verify``, and
    the requests counted for rate limits other than sign-in."""
    db.execute(
        """CREATE TABLE consent_codes (
            consent_id INTEGER PRIMARY KEY REFERENCES consents(id),
            code TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )"""
    )
    for statement in _append_only("consent_codes"):
        db.execute(statement)
    db.execute(
        """CREATE TABLE rate_events (
            scope TEXT NOT NULL,                -- the kind of request, e.g. 'verify'
            key TEXT NOT NULL,                  -- SHA-256 of the client address
            at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX rate_events_key ON rate_events(scope, key, at)")
    # the language the comprehension check was taken in (older rows: the patient's)
    db.execute("ALTER TABLE quiz_attempts ADD COLUMN locale TEXT NOT NULL DEFAULT ''")


def _no_reuse(table: str, *columns: str) -> str:
    """A trigger that refuses an INSERT reusing any of ``columns`` (the primary key or a
    UNIQUE column): ``INSERT OR REPLACE`` would otherwise delete the old row unseen."""
    clash = " OR ".join(f"{c} = NEW.{c}" for c in columns)
    guard = "WHEN EXISTS (SELECT 1 FROM {t} WHERE {clash})"  # table and columns: constants
    return (
        f"CREATE TRIGGER {table}_no_reuse BEFORE INSERT ON {table}"
        f" {guard.format(t=table, clash=clash)}"
        f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    )


@migrations()
def m009_consent_copies(db: sqlite_utils.Database) -> None:
    """The SHA-256 of every PDF copy of a consent handed out, so that an uploaded copy can
    be checked at ``/verify``; codes can no longer be swapped by ``INSERT OR REPLACE``;
    the clinic's own names for its drugs in each language."""
    db.execute(
        """CREATE TABLE consent_copies (
            id INTEGER PRIMARY KEY,
            consent_id INTEGER NOT NULL REFERENCES consents(id),
            sha256 TEXT NOT NULL UNIQUE,        -- of the PDF file as sent
            created_at TEXT NOT NULL
        )"""
    )
    for statement in (
        *_append_only("consent_copies"),
        _no_reuse("consent_copies", "id", "sha256"),
        _no_reuse("consent_codes", "consent_id", "code"),
    ):
        db.execute(statement)
    # JSON {drug as typed in the clinic's list: {locale: the clinic's name for it}}
    db.execute("ALTER TABLE clinics ADD COLUMN drug_names TEXT NOT NULL DEFAULT '{}'")


@migrations()
def m010_limits_links_devices(db: sqlite_utils.Database) -> None:
    """Rate-limit counters shared by every worker (Flask-Limiter's storage, replacing
    ``rate_events``); when a patient link was last used (unused links expire); a short
    description of the device each sign-in session is on."""
    db.execute(
        """CREATE TABLE rate_limits (
            key TEXT PRIMARY KEY,               -- the limit and whose it is
            count INTEGER NOT NULL,
            expires_at REAL NOT NULL            -- Unix time the window ends
        )"""
    )
    db.execute("CREATE INDEX rate_limits_expiry ON rate_limits(expires_at)")
    db.execute("DROP TABLE rate_events")
    db.execute("ALTER TABLE access_tokens ADD COLUMN last_used_at TEXT")
    db.execute(
        "UPDATE access_tokens SET last_used_at = (SELECT max(created_at) FROM auth_sessions"
        " WHERE token_id = access_tokens.id)"
    )
    # e.g. "Chrome on Android": the browser and system only, never the full User-Agent
    db.execute("ALTER TABLE auth_sessions ADD COLUMN device TEXT NOT NULL DEFAULT ''")


@migrations()
def m011_multi_factor(db: sqlite_utils.Database) -> None:
    """Two-step sign-in for clinicians: an authenticator app's key (TOTP, encrypted with a key
    derived from the app's secret key), single-use recovery codes (SHA-256 only), passkeys
    (WebAuthn public keys); per session, when the second step was passed, wrong codes and the
    pending WebAuthn challenge; a one-time password that must be changed at first sign-in."""
    db.execute(
        "ALTER TABLE clinicians ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0"
        " CHECK (must_change_password IN (0, 1))"
    )
    db.execute("ALTER TABLE auth_sessions ADD COLUMN mfa_at TEXT")
    db.execute("ALTER TABLE auth_sessions ADD COLUMN mfa_failures INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE auth_sessions ADD COLUMN challenge TEXT")  # base64url, single use
    db.execute(
        """CREATE TABLE totp_keys (
            clinician_id INTEGER PRIMARY KEY REFERENCES clinicians(id),
            secret TEXT NOT NULL,               -- AES-GCM ciphertext, never the key itself
            last_step INTEGER NOT NULL DEFAULT 0,  -- 30-second step of the last code used
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE recovery_codes (
            id INTEGER PRIMARY KEY,
            clinician_id INTEGER NOT NULL REFERENCES clinicians(id),
            code_hash TEXT NOT NULL UNIQUE,     -- SHA-256 of the clinician id and the code
            created_at TEXT NOT NULL,
            used_at TEXT
        )"""
    )
    db.execute("CREATE INDEX recovery_codes_clinician ON recovery_codes(clinician_id)")
    db.execute(
        """CREATE TABLE passkeys (
            id INTEGER PRIMARY KEY,
            clinician_id INTEGER NOT NULL REFERENCES clinicians(id),
            credential_id TEXT NOT NULL UNIQUE, -- base64url
            public_key BLOB NOT NULL,           -- COSE
            sign_count INTEGER NOT NULL DEFAULT 0,
            transports TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            last_used_at TEXT
        )"""
    )
    db.execute("CREATE INDEX passkeys_clinician ON passkeys(clinician_id)")


@migrations()
def m012_client_ids_per_patient(db: sqlite_utils.Database) -> None:
    """A client id is unique per patient, not across the whole database: one patient's id
    can neither suppress nor reveal another patient's entry. ``entry_submissions`` is
    keyed on (patient, client id) and ``diary_entries.client_id`` is unique per course;
    both tables are rebuilt (SQLite cannot drop a UNIQUE constraint), ids kept."""
    columns = (
        "id, course_id, day, client_id, avg_nrs, worst_nrs, site_effects, medication_taken,"
        " medication, note, late, device_time, created_at, updated_at, allergy_signs"
    )
    db.execute(
        """CREATE TABLE diary_entries_new (
            id INTEGER PRIMARY KEY,
            course_id INTEGER NOT NULL REFERENCES courses(id),
            day TEXT NOT NULL,                  -- ISO date the rating is for, clinic's calendar
            client_id TEXT NOT NULL,            -- of the first save, generated on the device
            avg_nrs INTEGER NOT NULL CHECK (avg_nrs BETWEEN 0 AND 10),
            worst_nrs INTEGER NOT NULL CHECK (worst_nrs BETWEEN 0 AND 10),
            site_effects TEXT NOT NULL DEFAULT '[]',
            medication_taken INTEGER CHECK (medication_taken IS NULL OR medication_taken IN (0, 1)),
            medication TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 500),
            late INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
            device_time TEXT,                   -- when the patient saved it on the phone
            created_at TEXT NOT NULL,           -- server time of the first arrival
            updated_at TEXT NOT NULL,
            allergy_signs TEXT NOT NULL DEFAULT '[]',
            UNIQUE (course_id, day),
            UNIQUE (course_id, client_id)
        )"""
    )
    db.execute(
        f"INSERT INTO diary_entries_new ({columns})"  # noqa: S608 - fixed column names
        f" SELECT {columns} FROM diary_entries ORDER BY id"
    )
    db.execute(
        """CREATE TABLE entry_submissions_new (
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            client_id TEXT NOT NULL,            -- generated on the device for each save
            entry_id INTEGER NOT NULL REFERENCES diary_entries_new(id),
            outcome TEXT NOT NULL CHECK (outcome IN ('created', 'updated', 'stale')),
            device_time TEXT,
            received_at TEXT NOT NULL,
            PRIMARY KEY (patient_id, client_id)
        )"""
    )
    db.execute(
        "INSERT INTO entry_submissions_new (patient_id, client_id, entry_id, outcome,"
        " device_time, received_at)"
        " SELECT c.patient_id, s.client_id, s.entry_id, s.outcome, s.device_time, s.received_at"
        " FROM entry_submissions s JOIN diary_entries e ON e.id = s.entry_id"
        " JOIN courses c ON c.id = e.course_id ORDER BY s.rowid"
    )
    # children first, so that no foreign key points at a dropped table; RENAME rewrites
    # the new submissions' reference to diary_entries
    db.execute("DROP TABLE entry_submissions")
    db.execute("DROP TABLE diary_entries")
    db.execute("ALTER TABLE diary_entries_new RENAME TO diary_entries")
    db.execute("ALTER TABLE entry_submissions_new RENAME TO entry_submissions")
    db.execute("CREATE INDEX entry_submissions_entry ON entry_submissions(entry_id)")


@migrations()
def m013_follow_up(db: sqlite_utils.Database) -> None:
    """The clinic's follow-up list: "seen" marks (who, when, for which reason and evidence;
    append-only) and the clinic's number of days without a diary entry that asks for a look."""
    db.execute(
        """CREATE TABLE attention_seen (
            id INTEGER PRIMARY KEY,
            course_id INTEGER NOT NULL REFERENCES courses(id),
            reason TEXT NOT NULL,               -- diary.attention.REASONS
            evidence TEXT NOT NULL,             -- what changes when the reason is new again
            clinician_id INTEGER NOT NULL REFERENCES clinicians(id),
            seen_at TEXT NOT NULL,
            UNIQUE (course_id, reason, evidence)
        )"""
    )
    for statement in (*_append_only("attention_seen"), _no_reuse("attention_seen", "id")):
        db.execute(statement)
    db.execute(
        "ALTER TABLE clinics ADD COLUMN no_entry_days INTEGER NOT NULL DEFAULT 3"
        " CHECK (no_entry_days BETWEEN 1 AND 30)"
    )


@migrations()
def m014_unchanged_resends(db: sqlite_utils.Database) -> None:
    """A save identical to the stored entry (a double tap on Save, a form sent twice) is
    recorded as ``unchanged``, not as a correction: ``entry_submissions`` is rebuilt for the
    wider CHECK (SQLite cannot alter one), rows kept in order."""
    db.execute(
        """CREATE TABLE entry_submissions_new (
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            client_id TEXT NOT NULL,            -- generated on the device for each save
            entry_id INTEGER NOT NULL REFERENCES diary_entries(id),
            outcome TEXT NOT NULL
                CHECK (outcome IN ('created', 'updated', 'unchanged', 'stale')),
            device_time TEXT,
            received_at TEXT NOT NULL,
            PRIMARY KEY (patient_id, client_id)
        )"""
    )
    db.execute(
        "INSERT INTO entry_submissions_new (patient_id, client_id, entry_id, outcome,"
        " device_time, received_at) SELECT patient_id, client_id, entry_id, outcome,"
        " device_time, received_at FROM entry_submissions ORDER BY rowid"
    )
    db.execute("DROP TABLE entry_submissions")
    db.execute("ALTER TABLE entry_submissions_new RENAME TO entry_submissions")
    db.execute("CREATE INDEX entry_submissions_entry ON entry_submissions(entry_id)")


@migrations()
def m015_web_push(db: sqlite_utils.Database) -> None:
    """Web Push reminders: each phone's subscription (bound to its sign-in, removed with it
    by trigger when the sign-in ends or its link is revoked) and one row per patient and
    day a reminder was sent, so two runs of ``reminders send`` never send it twice."""
    db.execute(
        """CREATE TABLE push_subscriptions (
            id INTEGER PRIMARY KEY,
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            session_id INTEGER NOT NULL REFERENCES auth_sessions(id),
            endpoint TEXT NOT NULL UNIQUE,      -- the push service's URL (https)
            p256dh TEXT NOT NULL,               -- the phone's public key, base64url
            auth TEXT NOT NULL,                 -- the phone's auth secret, base64url
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX push_subscriptions_patient ON push_subscriptions(patient_id)")
    db.execute("CREATE INDEX push_subscriptions_session ON push_subscriptions(session_id)")
    db.execute(
        """CREATE TRIGGER push_subscriptions_signed_out
        AFTER UPDATE OF ended_at ON auth_sessions WHEN NEW.ended_at IS NOT NULL
        BEGIN DELETE FROM push_subscriptions WHERE session_id = NEW.id; END"""
    )
    db.execute(
        """CREATE TRIGGER push_subscriptions_link_revoked
        AFTER UPDATE OF revoked_at ON access_tokens WHEN NEW.revoked_at IS NOT NULL
        BEGIN DELETE FROM push_subscriptions WHERE session_id IN
            (SELECT id FROM auth_sessions WHERE token_id = NEW.id); END"""
    )
    db.execute(
        """CREATE TABLE reminders_sent (
            id INTEGER PRIMARY KEY,
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            day TEXT NOT NULL,                  -- the clinic's day (YYYY-MM-DD)
            sent_at TEXT NOT NULL,
            delivered INTEGER NOT NULL DEFAULT 0,  -- phones the push service accepted it for
            UNIQUE (patient_id, day)
        )"""
    )


@migrations()
def m016_email_digest(db: sqlite_utils.Database) -> None:
    """The daily email digest: each clinician's choice (off by default) and one row per
    clinician and clinic-local day, claimed before the mail goes out (``sending``), then
    ``sent``; ``empty`` when nothing needed attention (no mail). A failed send deletes its
    claim so that a later run tries again."""
    db.execute(
        "ALTER TABLE clinicians ADD COLUMN digest INTEGER NOT NULL DEFAULT 0"
        " CHECK (digest IN (0, 1))"
    )
    db.execute(
        """CREATE TABLE digests_sent (
            id INTEGER PRIMARY KEY,
            clinician_id INTEGER NOT NULL REFERENCES clinicians(id),
            day TEXT NOT NULL,                  -- the clinic's local day (YYYY-MM-DD)
            status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'empty')),
            claimed_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (clinician_id, day)
        )"""
    )


@migrations()
def m017_peg_pgic(db: sqlite_utils.Database) -> None:
    """PEG-3 and PGIC answers (issue 20): one of each per course and diary day at most,
    saved with the day's entry (same client id, same exactly-once sync) and corrected as
    the entry is; ``locale`` is the language the patient answered in (validated or not)."""
    for table, columns in (
        (
            "peg_answers",
            """pain INTEGER NOT NULL CHECK (pain BETWEEN 0 AND 10),
            enjoyment INTEGER NOT NULL CHECK (enjoyment BETWEEN 0 AND 10),
            activity INTEGER NOT NULL CHECK (activity BETWEEN 0 AND 10),""",
        ),
        ("pgic_answers", "value INTEGER NOT NULL CHECK (value BETWEEN 1 AND 7),"),
    ):
        db.execute(
            f"""CREATE TABLE {table} (
                id INTEGER PRIMARY KEY,
                course_id INTEGER NOT NULL REFERENCES courses(id),
                day TEXT NOT NULL,                  -- the diary day it was answered with
                {columns}
                locale TEXT NOT NULL,
                client_id TEXT NOT NULL,            -- the entry save that last set it
                device_time TEXT NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                UNIQUE (course_id, day)
            )"""
        )
