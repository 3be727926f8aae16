"""Crash safety: gunicorn is killed with SIGKILL while phones are sending entries; after a
restart every entry whose request was answered with success is there exactly once, and
the database passes its integrity check."""

import os
import signal
import sqlite3
import subprocess
import threading
import time
from datetime import timedelta
from http.client import HTTPException
from pathlib import Path

import pytest

from diary import clock, migrations
from diary.db import connect
from diary.queries import accounts
from tests.factories import consented_patient
from tests.live_server import NO_LIMITS, Phone, Session, app_env, free_port, start_gunicorn

ROOT = Path(__file__).resolve().parent.parent
PHONES = 24


def start(tmp: Path, port: int) -> subprocess.Popen:
    # 24 phones sign in from one address at once: a load test, not a test of the limit
    env = dict(app_env(tmp, "crash.sqlite"), **NO_LIMITS)
    return start_gunicorn("diary:create_app()", port, env, ROOT, threads=2)


@pytest.fixture
def crash_db(tmp_path):
    db = connect(tmp_path / "crash.sqlite")
    migrations.apply(db)
    clinic = accounts.create_clinic(db, "Crash Clinic", timezone="UTC")
    tokens = [consented_patient(db, clinic, f"C-{n}")[2] for n in range(PHONES)]
    db.conn.close()
    return tmp_path, tokens


def test_entries_answered_with_success_survive_sigkill(crash_db):
    tmp, tokens = crash_db
    port = free_port()
    server = start(tmp, port)
    acknowledged: list[tuple[str, int, str]] = []  # (client_id, phone, day)
    lock = threading.Lock()
    stop = threading.Event()
    today = clock.now().date()

    failures: list[str] = []

    def phone(n: int) -> None:
        try:
            send_entries(n)
        except Exception as error:  # noqa: BLE001 - a phone that never got going fails the test
            failures.append(f"phone {n}: {error!r}")

    def send_entries(n: int) -> None:
        s = Phone(port, tokens[n], timeout=5)
        k = 0
        while not stop.is_set() and k < 400:
            day = today - timedelta(days=k % 2)
            try:
                client_id, status = s.send_entry(day, avg=k % 11)
            except (OSError, HTTPException):  # the server was killed mid-request
                s.close()
                return
            if status in (200, 201):
                with lock:
                    acknowledged.append((client_id, n, day.isoformat()))
            k += 1
        s.close()

    threads = [threading.Thread(target=phone, args=(n,)) for n in range(PHONES)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    os.killpg(server.pid, signal.SIGKILL)  # master and workers, mid-flight
    server.wait()
    stop.set()
    for t in threads:
        t.join()
    assert failures == []  # every phone signed in and sent until the kill
    assert len({n for _c, n, _d in acknowledged}) == PHONES
    assert len(acknowledged) > 50, "the load did not get going before the kill"

    restarted = start(tmp, port)  # the app opens the database after the crash
    try:
        conn = sqlite3.connect(tmp / "crash.sqlite")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        submitted = dict(conn.execute("SELECT client_id, entry_id FROM entry_submissions"))
        for client_id, _phone, _day in acknowledged:
            assert client_id in submitted, f"acknowledged entry {client_id} was lost"
        rows = conn.execute(
            "SELECT course_id, day, count(*) FROM diary_entries"
            " GROUP BY course_id, day HAVING count(*) > 1"
        ).fetchall()
        assert rows == []  # exactly once per course and day
        per_client = conn.execute(
            "SELECT client_id, count(*) FROM entry_submissions"
            " GROUP BY client_id HAVING count(*) > 1"
        ).fetchall()
        assert per_client == []
        check = Session(port)
        assert check.request("GET", "/healthz")[0] == 200
        check.close()
        conn.close()
    finally:
        os.killpg(restarted.pid, signal.SIGTERM)
        restarted.wait(timeout=10)
