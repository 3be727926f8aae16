"""Behaviour that only shows with several gunicorn worker processes."""

import os
import signal
import subprocess
from pathlib import Path

from diary import migrations
from diary.db import connect
from diary.queries import accounts
from diary.security import hash_password
from tests.live_server import Session, app_env, free_port, start_gunicorn

ROOT = Path(__file__).resolve().parent.parent


def test_failed_sign_in_throttling_holds_across_two_workers(tmp_path):
    db = connect(tmp_path / "g.sqlite")
    migrations.apply(db)
    clinic = accounts.create_clinic(db, "G", timezone="UTC")
    accounts.create_clinician(db, clinic, "g@clinic.example", "G", hash_password("right pass 123"))
    db.conn.close()
    port = free_port()
    server = start_gunicorn("diary:create_app()", port, app_env(tmp_path, "g.sqlite"), ROOT)
    try:
        pids = set()
        statuses = []
        for attempt in range(6):
            s = Session(port)  # a new connection each time
            status, _ = s.form(
                "/login",
                {
                    "email": "g@clinic.example",
                    "password": "right pass 123" if attempt == 5 else f"wrong {attempt}",
                },
            )
            statuses.append(status)
            s.close()
        worker_pids = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        pids.update(worker_pids)
        assert len(pids) == 2, "two worker processes answer, whichever gets each connection"
        assert statuses[:5] == [200] * 5  # wrong password: the form again
        assert statuses[5] == 429  # the right password waits: the count is shared
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
