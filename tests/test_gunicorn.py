"""Behaviour that only shows with several gunicorn worker processes."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from diary import migrations
from diary.db import connect
from diary.queries import accounts
from diary.security import hash_password
from tests.http_session import Session

ROOT = Path(__file__).resolve().parent.parent


def test_failed_sign_in_throttling_holds_across_two_workers(tmp_path):
    db = connect(tmp_path / "g.sqlite")
    migrations.apply(db)
    clinic = accounts.create_clinic(db, "G")
    accounts.create_clinician(db, clinic, "g@clinic.example", "G", hash_password("right pass 123"))
    db.conn.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        DIARY_DATABASE=str(tmp_path / "g.sqlite"),
        DIARY_INSTANCE_PATH=str(tmp_path / "i"),
        DIARY_SECRET_KEY="g",
        DIARY_SECURE_COOKIES="0",
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "diary:create_app()",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                probe = Session(port, timeout=1)
                probe.request("GET", "/healthz")
                probe.close()
                break
            except OSError:
                time.sleep(0.05)
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
