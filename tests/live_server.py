"""Talking to the app served by a real gunicorn: a keep-alive HTTP client with a cookie,
and helpers to start gunicorn on a free port (tests and benchmarks)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from http.client import HTTPConnection, HTTPException
from urllib.parse import urlencode

from diary import clock
from tests.helpers import queue_id_in


class Session:
    """One browser-like user: a connection and the session cookie."""

    def __init__(self, port: int, timeout: float = 10, source: str | None = None) -> None:
        self.port = port
        self.timeout = timeout
        #: the loopback address to connect from (the client address a proxy sees)
        self.source = (source, 0) if source else None
        self.conn = self._connect()
        self.cookie = ""
        self.headers = None  # the last response's headers

    def _connect(self) -> HTTPConnection:
        return HTTPConnection(
            "127.0.0.1", self.port, timeout=self.timeout, source_address=self.source
        )

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        h = {"Cookie": self.cookie, **(headers or {})}
        try:
            self.conn.request(method, path, body=body, headers=h)
            res = self.conn.getresponse()
            data = res.read()
        except (OSError, HTTPException):
            self.conn.close()
            self.conn = self._connect()
            raise
        self.headers = res.headers
        for value in res.headers.get_all("Set-Cookie") or []:
            self.cookie = value.split(";", 1)[0]
        return res.status, data

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def form(self, path: str, fields: dict) -> tuple[int, bytes]:
        """GET a form page, then POST it with its CSRF token."""
        _status, page = self.request("GET", path)
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        body = urlencode({**fields, "csrf_token": token.decode()}).encode()
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
        )


class Phone(Session):
    """A patient's phone: signed in through the personal link, it sends diary entries to the
    sync endpoint as the offline queue does (a new client id each, stamped with the queue id)."""

    def __init__(self, port: int, token: str, timeout: float = 10) -> None:
        super().__init__(port, timeout)
        self.form(f"/p/{token}", {})
        self.queue = queue_id_in(self.request("GET", "/home")[1].decode())

    def send_entry(self, day: date | None, avg: int, worst: int = 10) -> tuple[str, int]:
        """POST one entry for ``day`` (today when None); return its client id and the status.
        Raises ``OSError``/``HTTPException`` when the server dies mid-request."""
        client_id = uuid.uuid4().hex
        entry = {"client_id": client_id, "queue_id": self.queue, "avg": avg, "worst": worst}
        if day is not None:
            entry["day"] = day.isoformat()
        entry["device_time"] = clock.iso()
        status, _ = self.request(
            "POST",
            "/api/entries",
            json.dumps(entry).encode(),
            {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"},
        )
        return client_id, status


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    app: str,
    port: int,
    env: dict,
    cwd,
    *,
    workers: int = 2,
    threads: int = 1,
    health: str = "/healthz",
    timeout: float = 20,
    stderr=None,
):
    """Start gunicorn in its own process group and wait until ``health`` answers.

    ``stderr``: a file for gunicorn's and the app's log lines (default: discarded).
    """
    import subprocess
    import sys

    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    if threads > 1:
        command += ["--threads", str(threads)]
    process = subprocess.Popen(
        [*command, app],
        cwd=cwd,
        env=env,
        start_new_session=True,
        stderr=stderr if stderr is not None else subprocess.DEVNULL,
    )
    return wait_until_serving(process, port, health, timeout, "gunicorn")


def wait_until_serving(process, port: int, path: str, timeout: float, name: str):
    """Return ``process`` once ``GET path`` on ``port`` is answered; kill it and raise when
    nothing answers within ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = Session(port, timeout=1)
        try:
            probe.request("GET", path)
            return process
        except OSError:
            time.sleep(0.05)
        finally:
            probe.close()
    process.kill()
    raise RuntimeError(f"{name} did not start")


def app_env(tmp, name: str) -> dict:
    """Environment for a gunicorn-served app on the database ``<tmp>/<name>``."""
    import os

    return dict(
        os.environ,
        DIARY_DATABASE=str(tmp / name),
        DIARY_INSTANCE_PATH=str(tmp / "instance"),
        DIARY_SECRET_KEY="test-server",
        DIARY_SECURE_COOKIES="0",
    )


#: settings that lift the per-user rate limits, for load runs that sign in or render from
#: one address far more often than a person would
NO_LIMITS = {
    f"DIARY_RATE_LIMIT_{name}": "1000000 per minute"
    for name in ("PDF", "EXPORT", "SIGNIN", "VERIFY")
}
