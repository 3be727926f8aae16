"""The app behind the real reverse proxy: Debian's nginx runs ``deploy/nginx/diary.conf``
(adapted to loopback ports and plain HTTP, nothing else changed) in front of gunicorn.

nginx runs as the current user, in the foreground, with its pid file, temp folders and
logs in a temporary folder (``nginx -p DIR -c FILE -e stderr``): never as a system service.
"""

from __future__ import annotations

import contextlib
import getpass
import gzip
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

import pytest

from diary import clock, migrations
from diary.db import connect
from diary.queries import accounts, patients
from diary.security import hash_password
from tests.factories import consented_patient
from tests.helpers import queue_id_in
from tests.live_server import Session, app_env, free_port, start_gunicorn

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "deploy" / "nginx" / "diary.conf"
BROTLI = ROOT / "deploy" / "nginx" / "diary-brotli.conf"
NGINX = "/usr/sbin/nginx"  # Debian's (make nginx installs it)
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so")
#: a client address other than nginx's own 127.0.0.1 (all of 127.0.0.0/8 is loopback)
CLIENT = "127.0.0.2"
#: gunicorn's size in this test: one worker, two threads (the slow-header attack needs
#: as many slow clients as threads)
THREADS = 2


def adapt(site: str, *, port: int, http_port: int, app_port: int, logs: Path) -> str:
    """The site config on loopback ports without TLS. Each change must match exactly as
    often as expected, so an edit of the site that the test would miss fails here."""
    replacements = [
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{port};", 1),
        ("listen 443 ssl default_server;", f"listen 127.0.0.1:{port} default_server;", 1),
        ("listen 80 default_server;", f"listen 127.0.0.1:{http_port} default_server;", 1),
        ("listen 80;", f"listen 127.0.0.1:{http_port};", 1),
        ("server_name diary.example.org;", "server_name 127.0.0.1;", 2),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};", 1),
        ("/var/log/nginx/", f"{logs}/", 5),
    ]
    for old, new, count in replacements:
        assert site.count(old) == count, f"{old!r} is in the site config {site.count(old)}x"
        site = site.replace(old, new)
    kept = [line for line in site.splitlines() if "# test: removed" not in line]
    assert len(site.splitlines()) - len(kept) == 10  # IPv6 listens and the TLS lines
    assert "ssl" not in "\n".join(line.split("#")[0] for line in kept)
    return "\n".join(kept) + "\n"


def main_config(folder: Path, site: Path) -> str:
    """nginx.conf for a foreground nginx of the current user, everything in ``folder``."""
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {folder}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
{user}
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
load_module {BROTLI_MODULE};
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder}/other-access.log;
{temp}
    include {BROTLI};
    include {site};
}}
"""


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10) -> None:
    """Return once something accepts connections on ``port``; fail if ``process`` ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("nginx did not start")


@dataclass
class Stack:
    tmp: Path
    port: int  # nginx (the site's HTTPS server, here plain HTTP)
    http_port: int  # nginx (the site's redirect to HTTPS)
    app_port: int  # gunicorn, directly
    app_log: Path
    access_log: Path
    error_log: Path
    token: str  # the patient's personal link
    feed: str  # the patient's calendar feed
    database: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    db = connect(tmp / "proxy.sqlite")
    migrations.apply(db)
    clinic = accounts.create_clinic(db, "Proxy Clinic", timezone="UTC")
    accounts.create_clinician(
        db, clinic, "proxy@clinic.example", "P", hash_password("right pass 123")
    )
    patient_id, _course, token = consented_patient(db, clinic, "N-1")
    feed = patients.set_reminder(db, patient_id, "20:00")
    db.conn.close()

    app_port, port, http_port = free_port(), free_port(), free_port()
    env = dict(app_env(tmp, "proxy.sqlite"), DIARY_PROXY_COUNT="1")
    app_log = tmp / "app.log"
    with app_log.open("wb") as log:
        app = start_gunicorn(
            "diary:create_app()", app_port, env, ROOT, workers=1, threads=THREADS, stderr=log
        )
    logs = tmp / "logs"
    logs.mkdir()
    site = tmp / "diary.conf"
    site.write_text(
        adapt(SITE.read_text(), port=port, http_port=http_port, app_port=app_port, logs=logs)
    )
    conf = tmp / "nginx.conf"
    conf.write_text(main_config(tmp, site))
    nginx = subprocess.Popen(
        [NGINX, "-p", str(tmp), "-c", str(conf), "-e", "stderr"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "nginx.stderr").open("wb"),
    )
    try:
        wait_for_port(port, nginx)
        yield Stack(
            tmp=tmp,
            port=port,
            http_port=http_port,
            app_port=app_port,
            app_log=app_log,
            access_log=logs / "diary.access.log",
            error_log=logs / "diary.error.log",
            token=token,
            feed=feed,
            database=tmp / "proxy.sqlite",
        )
    finally:
        for process in (nginx, app):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)


def get(port: int, path: str, headers: dict | None = None, source: str | None = None):
    """One GET on a new connection: (status, headers, body)."""
    conn = HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0) if source else None
    )
    try:
        conn.request("GET", path, headers=headers or {})
        res = conn.getresponse()
        return res.status, res.headers, res.read()
    finally:
        conn.close()


def sign_in_phone(port: int, token: str, source: str | None = None) -> tuple[Session, str]:
    """A phone that opened the personal link and tapped Continue: (session, queue id)."""
    phone = Session(port, source=source)
    status, _ = phone.form(f"/p/{token}", {})
    assert status == 302, status
    status, page = phone.request("GET", "/home")
    assert status == 200
    return phone, queue_id_in(page.decode())


def entry(queue: str, **extra) -> bytes:
    return json.dumps(
        {
            "client_id": uuid.uuid4().hex,
            "queue_id": queue,
            "avg": 4,
            "worst": 6,
            "day": clock.now().date().isoformat(),
            "device_time": clock.iso(),
            **extra,
        }
    ).encode()


def test_pages_static_files_and_the_sync_endpoint_work_through_nginx(stack):
    status, headers, body = get(stack.port, "/login", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert "<form" in gzip.decompress(body).decode()
    assert headers["X-Request-Id"]  # answered by the app
    assert headers["Cache-Control"] == "no-store"
    status, headers, _ = get(stack.port, "/login", {"Accept-Encoding": "br, gzip"})
    assert status == 200 and headers["Content-Encoding"] == "br"

    # static files pass through to the app: a content-hashed name is immutable and comes
    # precompressed (nginx does not compress it again), a plain name is revalidated
    from diary.assets import hashed_name

    plain = (ROOT / "static/css/clinic.css").read_bytes()
    css = "/static/" + hashed_name("css/clinic.css", hashlib.sha256(plain).hexdigest())
    status, headers, body = get(stack.port, css, {"Accept-Encoding": "br, gzip"})
    assert status == 200 and headers["Content-Encoding"] == "br"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = get(stack.port, "/static/js/queue.js")
    assert status == 200 and headers["Cache-Control"] == "no-cache"

    # the patient's phone: personal link, Continue, home, an entry through the sync endpoint
    phone, queue = sign_in_phone(stack.port, stack.token)
    status, body = phone.request(
        "POST",
        "/api/entries",
        entry(queue),
        {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"},
    )
    assert status == 201, body
    assert json.loads(body)["status"] == "created"
    phone.close()

    # plain HTTP only redirects; another host name gets no answer at all
    status, headers, _ = get(stack.http_port, "/login")
    assert status == 301 and headers["Location"] == "https://127.0.0.1/login"
    conn = HTTPConnection("127.0.0.1", stack.port, timeout=5)
    conn.request("GET", "/login", headers={"Host": "elsewhere.example"})
    with pytest.raises(ConnectionError):
        conn.getresponse()
    conn.close()


def app_events(stack: Stack, name: str) -> list[dict]:
    lines = stack.app_log.read_text().splitlines()
    return [e for e in map(json.loads, filter(None, lines)) if e.get("event") == name]


def failed_sign_in(port: int, source: str, headers: dict) -> None:
    s = Session(port, source=source)
    status, page = s.request("GET", "/login")
    csrf = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    body = f"email=proxy%40clinic.example&password=wrong&csrf_token={csrf.decode()}".encode()
    status, _ = s.request(
        "POST",
        "/login",
        body,
        {"Content-Type": "application/x-www-form-urlencoded", **headers},
    )
    assert status == 200  # the form again
    s.close()


def test_the_app_sees_the_client_address_and_scheme_that_nginx_sets(stack):
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    # Directly, the app believes the headers (DIARY_PROXY_COUNT=1): that is why gunicorn
    # listens on loopback only, and why nginx must replace them.
    # (An https request would also need a Referer for the sign-in form's CSRF check.)
    forged_address = {"X-Forwarded-For": forged["X-Forwarded-For"]}
    failed_sign_in(stack.app_port, CLIENT, forged_address)
    assert app_events(stack, "signin.failed")[-1]["address"] == "203.0.113.9"
    # Through nginx, the forged headers are replaced: the address is the client's own.
    failed_sign_in(stack.port, CLIENT, forged)
    assert app_events(stack, "signin.failed")[-1]["address"] == CLIENT

    # The scheme: the sync endpoint compares the browser's Origin with the request's own
    # scheme and host. A forged "https" makes the app refuse an http Origin directly ...
    phone, queue = sign_in_phone(stack.app_port, stack.token)
    own_origin = {
        "Content-Type": "application/json",
        "Origin": f"http://127.0.0.1:{stack.app_port}",
    }
    status, _ = phone.request("POST", "/api/entries", entry(queue), {**own_origin, **forged})
    assert status == 403  # the app took the scheme from X-Forwarded-Proto
    status, _ = phone.request(
        "POST", "/api/entries", entry(queue), {**own_origin, "X-Forwarded-Proto": "http"}
    )
    assert status in (200, 201)  # stored (a correction of the day's entry: 200)
    phone.close()
    # ... and through nginx the forged header is replaced by the real scheme (and host)
    phone, queue = sign_in_phone(stack.port, stack.token, source=CLIENT)
    through = {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{stack.port}"}
    status, body = phone.request(
        "POST",
        "/api/entries",
        entry(queue),
        {**through, **forged, "X-Forwarded-Host": "elsewhere.example"},
    )
    assert status in (200, 201), body
    phone.close()


class SlowClients:
    """``count`` clients that send a request's headers one byte at a time, for ``seconds``,
    then give up (a slowloris attack, bounded)."""

    def __init__(self, port: int, count: int, seconds: float) -> None:
        self.sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
        for s in self.sockets:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, args=(seconds,))
        self.thread.start()

    def _trickle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.stop.wait(0.2):
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.sendall(b"X")
        for s in self.sockets:
            s.close()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join()


def healthz_seconds(port: int) -> float:
    """How long ``/healthz`` takes to answer."""
    started = time.monotonic()
    status, _, _ = get(port, "/healthz")
    assert status == 200
    return time.monotonic() - started


def test_a_slow_header_client_holds_gunicorn_but_not_nginx(stack):
    attack = 3.0
    # directly: as many slow clients as gunicorn has threads, and /healthz waits for them
    slow = SlowClients(stack.app_port, THREADS, attack)
    try:
        direct = healthz_seconds(stack.app_port)
    finally:
        slow.finish()
    assert direct > attack - 1, f"/healthz answered in {direct:.2f} s under the direct attack"

    # through nginx: three times as many slow clients wait in nginx, not in gunicorn
    slow = SlowClients(stack.port, 3 * THREADS, attack)
    try:
        proxied = healthz_seconds(stack.port)
        app_direct = healthz_seconds(stack.app_port)  # gunicorn's threads are all free
    finally:
        slow.finish()
    assert proxied < 1.0 and app_direct < 1.0, (proxied, app_direct)


def test_no_token_reaches_nginx_logs(stack):
    phone, queue = sign_in_phone(stack.port, stack.token)
    status, _ = phone.request(
        "POST",
        "/api/entries",
        entry(queue, day=clock.now().date().isoformat()),
        {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"},
    )
    assert status in (200, 201)
    # a browser that ignores the Referrer-Policy still sends the link as Referer
    status, _ = phone.request("GET", "/home", headers={"Referer": f"/p/{stack.token}"})
    assert status == 200
    phone.close()
    status, headers, _ = get(stack.port, f"/p/{stack.token}")
    assert status == 200
    assert headers.get_all("Referrer-Policy") == ["no-referrer"]
    status, headers, body = get(stack.port, f"/cal/{stack.feed}.ics")
    assert status == 200 and body.startswith(b"BEGIN:VCALENDAR")
    assert headers.get_all("Referrer-Policy") == ["no-referrer"]
    get(stack.port, f"/cal/{stack.feed}x.ics", {"Referer": f"http://x/cal/{stack.feed}.ics"})

    logged = stack.access_log.read_text()
    assert '"GET /p/- HTTP/1.1" 200' in logged and '"POST /p/- HTTP/1.1" 302' in logged
    assert '"GET /cal/- HTTP/1.1" 200' in logged and '"GET /home HTTP/1.1" 200' in logged
    for log in (stack.access_log, stack.error_log, stack.tmp / "other-access.log"):
        text = log.read_text() if log.exists() else ""
        assert stack.token not in text and stack.feed not in text, log.name
