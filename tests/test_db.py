import sqlite3

import pytest

from diary import clock, migrations
from diary.db import connect, transaction
from diary.queries import accounts, audit, entries, patients, seed


def test_migrations_create_every_table_and_rerun_is_harmless(db):
    expected = {
        "clinics",
        "clinicians",
        "patients",
        "courses",
        "access_tokens",
        "auth_sessions",
        "login_failures",
        "consents",
        "screening_answers",
        "treatment_sessions",
        "diary_entries",
        "audit_events",
    }
    assert expected <= set(db.table_names())
    assert migrations.apply(db) == []
    applied = [m.name for m in migrations.migrations.applied(db)]
    assert applied[0] == "m001_initial" and len(applied) == len(migrations.migrations._migrations)


def test_every_connection_sets_the_pragmas(app):
    db = connect(app.config["DATABASE"])
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    # PASSIVE automatic checkpoints only (Litestream tolerates them), and a bounded WAL file
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    assert db.execute("PRAGMA journal_size_limit").fetchone()[0] == 4 * 1024 * 1024


def test_foreign_keys_are_enforced(db):
    with pytest.raises(sqlite3.IntegrityError):
        patients.create_patient(db, 999, "X")


def _course(db):
    clinic = accounts.create_clinic(db, "C", timezone="UTC")
    patient = patients.create_patient(db, clinic, "P1")
    return clinic, patient, patients.create_course(db, patient, "knee", "2026-01-05")


def _consent(db, course_id):
    db.execute(
        "INSERT INTO consents (course_id, kind, sheet_version, locale, text_sha256, created_at)"
        " VALUES (?, 'consent', 1, 'en', 'abc', '2026-01-05T10:00:00+00:00')",
        [course_id],
    )


@pytest.mark.parametrize("table", ["consents", "audit_events"])
def test_append_only_tables_refuse_update_and_delete(db, table):
    clinic, patient, course = _course(db)
    _consent(db, course)
    audit.record(db, "test.event", actor="system", clinic_id=clinic, course_id=course)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(f"UPDATE {table} SET course_id = course_id")  # noqa: S608
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(f"DELETE FROM {table}")  # noqa: S608
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1  # noqa: S608


def test_diary_entries_unique_per_course_and_day_and_client_id(db):
    _, _, course = _course(db)
    seed.insert_entry(db, course, "2026-01-06", "client-1", 5, 6)
    with pytest.raises(sqlite3.IntegrityError):
        seed.insert_entry(db, course, "2026-01-06", "client-2", 4, 6)
    with pytest.raises(sqlite3.IntegrityError):
        seed.insert_entry(db, course, "2026-01-07", "client-1", 4, 6)
    assert len(entries.for_course(db, course)) == 1


def test_out_of_range_ratings_are_refused_by_the_schema(db):
    _, _, course = _course(db)
    with pytest.raises(sqlite3.IntegrityError):
        seed.insert_entry(db, course, "2026-01-06", "c", 11, 5)


def test_transaction_stores_all_or_nothing(db):
    clinic = accounts.create_clinic(db, "C", timezone="UTC")
    with pytest.raises(patients.CodeTaken), transaction(db):
        patients.create_patient(db, clinic, "first")
        patients.create_patient(db, clinic, "first")  # duplicate code: the whole block fails
    assert patients.find_patient(db, clinic, "first") is None
    with transaction(db):
        pid = patients.create_patient(db, clinic, "second")
        patients.create_course(db, pid, "hip", clock.today("UTC"))  # clinic C: UTC
    assert patients.current_course(db, pid)["area"] == "hip"


def test_issuing_a_link_and_its_audit_event_are_one_transaction(db):
    clinic, patient, _ = _course(db)
    db.execute(
        "CREATE TEMP TRIGGER fail BEFORE INSERT ON audit_events"
        " BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="boom"):
        patients.issue_link(db, patient)
    assert db.execute("SELECT count(*) FROM access_tokens").fetchone()[0] == 0


def test_migrate_cli_twice(runner):
    first = runner.invoke(args=["migrate"])
    second = runner.invoke(args=["migrate"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "up to date" in second.output


# --- kept connections, the writers' turn, the lean SELECT path ---------------------------

HOLD_THE_TURN = """
import os, sys, time
sys.path.insert(0, {root!r})
from diary.db import connect, transaction
db = connect({path!r})
with transaction(db):
    db.execute("INSERT INTO clinics (name, created_at) VALUES ('held', 'x')")
    print("holding", flush=True)
    {then}
"""


def hold_turn(path, then):
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_TURN.format(root=root, path=str(path), then=then)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "holding"
    return process


def test_a_writer_holds_the_turn_across_processes_until_it_commits(app, db):
    import fcntl
    import os

    path = app.config["DATABASE"]
    other = hold_turn(path, "time.sleep(1.0)")
    fd = os.open(path + ".lock", os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):  # another process's writer has the turn
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with transaction(db):  # waits for the turn, then writes
            db.execute("INSERT INTO clinics (name, created_at) VALUES ('after', 'x')")
        assert other.wait(timeout=10) == 0
        names = [r[0] for r in db.execute("SELECT name FROM clinics ORDER BY id")]
        assert names[-2:] == ["held", "after"]
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
        fcntl.lockf(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def test_a_killed_writer_does_not_block_the_others(app, db):
    path = app.config["DATABASE"]
    other = hold_turn(path, "os.kill(os.getpid(), 9)")
    assert other.wait(timeout=10) == -9
    with transaction(db):
        db.execute("INSERT INTO clinics (name, created_at) VALUES ('next', 'x')")
    names = [r[0] for r in db.execute("SELECT name FROM clinics")]
    assert "next" in names and "held" not in names  # the killed one's write never landed


def test_a_thread_keeps_its_connection_and_nothing_uncommitted_survives_a_request(app):
    from diary.db import get_db

    with app.app_context():
        first = get_db()
        first.execute("BEGIN IMMEDIATE")
        first.execute("INSERT INTO clinics (name, created_at) VALUES ('half-way', 'x')")
    with app.app_context():
        second = get_db()
        assert second is first and not second.conn.in_transaction
        assert (
            second.execute("SELECT count(*) FROM clinics WHERE name = 'half-way'").fetchone()[0]
            == 0
        )


def test_select_rows_are_named_like_sqlite_utils_names_them(db):
    accounts.create_clinic(db, "Named", timezone="UTC")
    [row] = db.query("SELECT id, name, id FROM clinics WHERE name = 'Named'")
    assert list(row) == ["id", "name", "id_2"]
    with pytest.raises(ValueError):  # not a SELECT: sqlite-utils' guarded path
        list(db.query("UPDATE clinics SET name = 'x' WHERE 0"))


def test_m012_keeps_entries_and_keys_client_ids_per_patient(tmp_path):
    db = connect(tmp_path / "old.sqlite")
    migrations.migrations.apply(db, stop_before="m012_client_ids_per_patient")
    clinic, patient, course = _course(db)
    entry = seed.insert_entry(db, course, "2026-01-05", "phone-id-0001", 3, 5, note="kept")
    db.execute(
        "INSERT INTO entry_submissions (client_id, entry_id, outcome, device_time, received_at)"
        " VALUES ('phone-id-0001', ?, 'created', '2026-01-05T10:00:00+00:00',"
        " '2026-01-05T10:00:01+00:00')",
        [entry],
    )
    assert migrations.apply(db)[0] == "m012_client_ids_per_patient"  # then any later ones
    [row] = entries.for_course(db, course)
    assert (row["id"], row["client_id"], row["note"]) == (entry, "phone-id-0001", "kept")
    assert db.execute(
        "SELECT patient_id, client_id, entry_id FROM entry_submissions"
    ).fetchall() == [(patient, "phone-id-0001", entry)]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # another patient may now use the same client id; the same patient may not
    other = patients.create_patient(db, clinic, "P2")
    other_course = patients.create_course(db, other, "knee", "2026-01-05")
    seed.insert_entry(db, other_course, "2026-01-05", "phone-id-0001", 1, 1)
    db.execute(
        "INSERT INTO entry_submissions (patient_id, client_id, entry_id, outcome, received_at)"
        " VALUES (?, 'phone-id-0001', ?, 'created', '2026-01-05T10:00:02+00:00')",
        [other, entry],
    )
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO entry_submissions (patient_id, client_id, entry_id, outcome,"
            " received_at) VALUES (?, 'phone-id-0001', ?, 'updated', '2026-01-05')",
            [patient, entry],
        )
    db.conn.close()


def test_the_wal_file_is_cut_back_after_a_burst_of_writes(tmp_path):
    """A burst larger than the limit grows the WAL; once a checkpoint lets it start over,
    the next commit cuts the file back to ``JOURNAL_SIZE_LIMIT`` (without the pragma it kept
    the burst's size for good)."""
    import os

    from diary.db import JOURNAL_SIZE_LIMIT

    path = tmp_path / "burst.sqlite"
    db = connect(path)
    db.execute("CREATE TABLE scratch (b BLOB)")
    with transaction(db):
        for _ in range(3 * JOURNAL_SIZE_LIMIT // 40_000):
            db.execute("INSERT INTO scratch VALUES (randomblob(40000))")
    wal = f"{path}-wal"
    assert os.path.getsize(wal) > 2 * JOURNAL_SIZE_LIMIT
    # SQLite's automatic checkpoint (PASSIVE) ran after that commit; the next write starts
    # the WAL over and cuts the file back
    with transaction(db):
        db.execute("INSERT INTO scratch VALUES (x'00')")
    assert os.path.getsize(wal) <= JOURNAL_SIZE_LIMIT
    db.conn.close()


def test_m014_keeps_submissions_and_allows_unchanged_resends(tmp_path):
    db = connect(tmp_path / "old.sqlite")
    migrations.migrations.apply(db, stop_before="m014_unchanged_resends")
    _clinic, patient, course = _course(db)
    entry = seed.insert_entry(db, course, "2026-01-05", "phone-id-0001", 3, 5)
    insert = (
        "INSERT INTO entry_submissions (patient_id, client_id, entry_id, outcome, received_at)"
        " VALUES (?, ?, ?, ?, '2026-01-05T10:00:01+00:00')"
    )
    db.execute(insert, [patient, "phone-id-0001", entry, "created"])
    with pytest.raises(sqlite3.IntegrityError):  # not a value the old table knew
        db.execute(insert, [patient, "phone-id-0002", entry, "unchanged"])
    assert migrations.apply(db) == ["m014_unchanged_resends", "m017_peg_pgic"]
    assert db.execute(
        "SELECT patient_id, client_id, outcome FROM entry_submissions"
    ).fetchall() == [(patient, "phone-id-0001", "created")]
    db.execute(insert, [patient, "phone-id-0002", entry, "unchanged"])
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(insert, [patient, "phone-id-0003", entry, "whatever"])
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
