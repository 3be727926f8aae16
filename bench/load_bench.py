"""Load benchmark (issue 8): gunicorn on loopback, a bounded asyncio load generator.

Prints throughput and p50/p95/p99 latency for: diary entry POSTs by signed-in patients
to the sync endpoint the PWA sends every entry through (session, same-origin check in
place of a CSRF token, validation, write, audit), the same entry as the no-JavaScript
form POST (CSRF token, WTForms), the patient home page and the entry form (compressed,
as a phone asks for them once it keeps the stylesheet, i.e. after its first page), the
clinician dashboard with 500 courses (first page of 50), ``/healthz`` (the app's own
floor: a request through every hook and one query) and a bare Flask endpoint on the same
gunicorn set-up as the floor.
Targets on the 2-core reference machine: diary POST >= 1,000/s with p95 < 50 ms at 16
concurrent clients; issue 17: the patient home and the entry form at >= 0.5x the
throughput of /healthz, the diary POST at >= 0.5x the bare endpoint's.

Bounded: a fixed number of requests per scenario and round, and a time cap. Three rounds
interleave the scenarios; the median round of each is reported.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from factories import consented_patient  # noqa: E402
from helpers import queue_id_in  # noqa: E402
from live_server import NO_LIMITS, Session, app_env, free_port, start_gunicorn  # noqa: E402

from diary import assets, clock, migrations  # noqa: E402
from diary.db import connect  # noqa: E402
from diary.queries import accounts, seed, treatments  # noqa: E402
from diary.security import hash_password  # noqa: E402

CLIENTS = 16
REQUESTS = {
    "diary POST": 6000,
    "diary form POST (no JS)": 3000,
    "patient home": 2000,
    "entry form": 2000,
    "dashboard (500 courses)": 300,
    "/healthz": 6000,
    "bare Flask": 6000,
}
#: a phone's request for a page: compressed
PHONE_HEADERS = "Accept-Encoding: br, gzip\r\n"
TIME_CAP = 30.0
ROUNDS = 3
PASSWORD = "load bench password"
BARE_APP = (
    "import flask\napp = flask.Flask(__name__)\n\n@app.get('/')\ndef bare():\n    return 'ok'\n"
)


def build(tmp: Path) -> list[str]:
    db = connect(tmp / "load.sqlite")
    migrations.apply(db)
    clinic = accounts.create_clinic(db, "Load Clinic", timezone="UTC")
    accounts.create_clinician(db, clinic, "load@clinic.example", "Load", hash_password(PASSWORD))
    today = clock.now().date()
    tokens = []
    for n in range(500):
        pid, cid, token = consented_patient(
            db, clinic, f"L-{n:03d}", area="neck", start=(today - timedelta(days=28)).isoformat()
        )
        treatments.add_session(db, cid, (today - timedelta(days=21)).isoformat(), nrs_before=8)
        for k in range(2, 22):
            seed.insert_entry(
                db,
                cid,
                (today - timedelta(days=k)).isoformat(),
                f"l-{n}-{k}",
                8 - k // 5,
                9 - k // 5,
            )
        if n < CLIENTS:
            tokens.append(token)
    db.conn.close()
    return tokens


async def client(port: int, make_request, count: dict, latencies: list, deadline: float):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while count["left"] > 0 and time.monotonic() < deadline:
        count["left"] -= 1
        t = time.perf_counter()
        writer.write(make_request())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - t)
        if status >= 400:
            count["errors"] += 1
        if re.search(rb"(?i)connection: close", head):
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()


def run(port: int, makers: list, total: int) -> dict:
    latencies: list[float] = []
    count = {"left": total, "errors": 0}

    async def main():
        deadline = time.monotonic() + TIME_CAP
        await asyncio.gather(
            *(
                client(port, makers[i % len(makers)], count, latencies, deadline)
                for i in range(CLIENTS)
            )
        )

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "n": len(ordered),
        "rps": len(ordered) / elapsed,
        "p50": pct(0.5),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "errors": count["errors"],
    }


def raw_post(path: str, cookie: str, content_type: str, body: str, extra: str = "") -> bytes:
    """One HTTP/1.1 POST as bytes; ``extra`` holds further header lines, each ending CRLF."""
    data = body.encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n{extra}"
        f"Content-Type: {content_type}\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def patient_cookie(port: int, token: str) -> str:
    s = Session(port)
    s.form(f"/p/{token}", {})
    s.close()
    return s.cookie


def queue_of(port: int, cookie: str) -> str:
    """The patient's queue id, which the phone's queue stamps on every entry."""
    page = Session(port)
    page.cookie = cookie
    _status, html = page.request("GET", "/home")
    page.close()
    return queue_id_in(html.decode())


def main() -> int:
    tmp = Path(tempfile.mkdtemp())
    tokens = build(tmp)
    port, bare_port = free_port(), free_port()
    env = app_env(tmp, "load.sqlite")
    env.update(NO_LIMITS)
    (tmp / "bare_app.py").write_text(BARE_APP)
    workers = (os.cpu_count() or 2) * 2
    server = start_gunicorn("diary:create_app()", port, env, ROOT, workers=workers, threads=2)
    bare = start_gunicorn(
        "bare_app:app", bare_port, dict(os.environ), tmp, workers=workers, threads=2, health="/"
    )
    try:
        cookies = [patient_cookie(port, t) for t in tokens]
        staff = Session(port)
        staff.form("/login", {"email": "load@clinic.example", "password": PASSWORD})
        staff.close()

        def post_maker(cookie):
            queue = queue_of(port, cookie)

            def make():
                body = json.dumps(
                    {
                        "client_id": uuid.uuid4().hex,
                        "queue_id": queue,
                        "avg": 4,
                        "worst": 6,
                        "device_time": clock.iso(),
                    }
                )
                return raw_post(
                    "/api/entries",
                    cookie,
                    "application/json",
                    body,
                    extra="Sec-Fetch-Site: same-origin\r\n",
                )

            return make

        def form_maker(cookie):
            # The form page puts a CSRF token in the session; the POST then carries both.
            page = Session(port)
            page.cookie = cookie
            _status, html = page.request("GET", "/diary/entry")
            page.close()
            token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html)
            body = urlencode({"csrf_token": token.group(1).decode(), "avg": 4, "worst": 6})
            request = raw_post(
                "/diary/entry", page.cookie, "application/x-www-form-urlencoded", body
            )
            return lambda: request

        def get_maker(path, cookie="", extra=""):
            request = (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n{extra}\r\n"
            ).encode()
            return lambda: request

        # a phone past its first page keeps the stylesheet and says so (diary.js)
        kept = f"; {assets.KEPT_COOKIE}={assets.kept_version(assets.build(ROOT / 'static'))}"
        scenarios = [
            ("bare Flask", bare_port, [get_maker("/")]),
            ("/healthz", port, [get_maker("/healthz")]),
            ("diary POST", port, [post_maker(c) for c in cookies]),
            ("diary form POST (no JS)", port, [form_maker(c) for c in cookies]),
            ("patient home", port, [get_maker("/home", c + kept, PHONE_HEADERS) for c in cookies]),
            (
                "entry form",
                port,
                [get_maker("/diary/entry", c + kept, PHONE_HEADERS) for c in cookies],
            ),
            ("dashboard (500 courses)", port, [get_maker("/clinic/", staff.cookie)]),
        ]
        for _name, p, makers in scenarios:
            run(p, makers, 200)  # warm-up
        # Rounds interleave the scenarios, so a busy spell of the host hits all of them;
        # each scenario's median round is reported, with the spread of the rounds.
        rounds: dict[str, list[dict]] = {name: [] for name, _p, _m in scenarios}
        for _round in range(ROUNDS):
            for name, p, makers in scenarios:
                rounds[name].append(run(p, makers, REQUESTS[name]))
        results = {
            name: sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
            for name, runs in rounds.items()
        }
    finally:
        for process in (server, bare):
            process.terminate()
            process.wait(timeout=10)
    print(
        f"{'scenario':<28}{'n':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}   ({CLIENTS} clients, {(os.cpu_count() or 2) * 2} workers)"
    )
    for name, r in results.items():
        spread = "/".join(f"{x['rps']:.0f}" for x in rounds[name])
        print(
            f"{name:<28}{r['n']:>6}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p95']:>9.1f}"
            f"{r['p99']:>9.1f}{r['errors']:>8}   rounds: {spread} req/s"
        )
    post, floor = results["diary POST"], results["bare Flask"]
    ok = post["rps"] >= 1000 and post["p95"] < 50 and post["rps"] >= floor["rps"] / 4
    print(
        f"diary POST: {post['rps']:.0f}/s, p95 {post['p95']:.1f} ms, "
        f"{post['rps'] / floor['rps']:.0%} of the bare endpoint "
        f"(target >= 1000/s, p95 < 50 ms, >= 25 %: {'OK' if ok else 'MISSED'})"
    )
    # issue 17: each against its floor, as the median of the per-round ratios (the rounds
    # interleave the scenarios, so a busy spell of the host weighs on both sides)
    print("server cost against the floor (median of the rounds' ratios; target >= 0.50x):")
    for name, against in (
        ("patient home", "/healthz"),
        ("entry form", "/healthz"),
        ("diary POST", "bare Flask"),
    ):
        ratios = sorted(
            run["rps"] / base["rps"]
            for run, base in zip(rounds[name], rounds[against], strict=True)
        )
        ratio = ratios[len(ratios) // 2]
        spread = "/".join(f"{r:.2f}" for r in ratios)
        print(
            f"  {name:<14} {ratio:.2f}x {against:<10} (rounds {spread}):"
            f" {'OK' if ratio >= 0.5 else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
