"""PDF summary benchmarks (issue 6): render time, and its effect on diary entries.

1. Median render time of a 12-week summary (84 diary days, 12 sessions), warm (same
   process, after one render) and in a fresh process (first render after start-up).
2. p50/p95 latency of diary entry POSTs (JSON sync endpoint) against gunicorn, without
   and with two PDF summaries being rendered continuously at the same time.

Targets on the 2-core reference machine: warm render < 0.5 s; diary p95 with renders at
most twice the p95 without. Bounded: a fixed number of requests and a time cap.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from factories import consented_patient, give_consent  # noqa: E402
from live_server import NO_LIMITS, Phone, Session, app_env, free_port, start_gunicorn  # noqa: E402

from diary import clock, create_app, migrations  # noqa: E402
from diary.db import connect  # noqa: E402
from diary.queries import accounts, patients, seed, treatments  # noqa: E402
from diary.security import hash_password  # noqa: E402

PATIENTS = 16
POSTS = 1200
TIME_CAP = 60.0
CLIENTS = 8
PASSWORD = "bench password 123"


def build(tmp: Path) -> dict:
    """A clinic with one 12-week course to summarise and consented patients who post."""
    db = connect(tmp / "bench.sqlite")
    migrations.apply(db)
    clinic = accounts.create_clinic(
        db, "Bench Clinic", phone="+39 06 1", timezone="UTC", locale="en"
    )
    accounts.create_clinician(db, clinic, "bench@clinic.example", "Bench", hash_password(PASSWORD))
    today = clock.now().date()
    start = today - timedelta(days=84)
    summary_patient = patients.create_patient(db, clinic, "SUMMARY-1")
    course = patients.create_course(db, summary_patient, "low_back", start.isoformat())
    give_consent(db, course)
    for k in range(84):
        day = start + timedelta(days=k)
        if k % 7 == 0:
            treatments.add_session(
                db,
                course,
                day.isoformat(),
                nrs_before=max(0, 8 - k // 14),
                drugs=[{"name": "lidocaine", "dose": "20 mg", "volume_ml": 2}],
            )
        seed.insert_entry(
            db,
            course,
            day.isoformat(),
            f"bench-{k}",
            max(0, 8 - k // 12),
            max(0, 9 - k // 12),
            site_effects=["redness"] if k % 9 == 0 else [],
            note="ok" if k % 10 == 0 else "",
        )
    tokens = [consented_patient(db, clinic, f"POST-{n}")[2] for n in range(PATIENTS)]
    db.conn.close()
    return {"course": course, "tokens": tokens}


def render_times(tmp: Path, course: int) -> tuple[float, float]:
    """(warm median seconds, first render in a fresh process seconds)."""
    env = dict(
        os.environ,
        DIARY_DATABASE=str(tmp / "bench.sqlite"),
        DIARY_INSTANCE_PATH=str(tmp / "instance"),
        DIARY_SECRET_KEY="bench",
        **NO_LIMITS,
    )
    code = (
        f"import time, sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from diary import create_app, report\n"
        "from diary.db import connect\n"
        "app = create_app(); db = connect(app.config['DATABASE'])\n"
        "with app.test_request_context():\n"
        f"    t = time.perf_counter(); report.render_summary(db, {course}, 'en')\n"
        "    print(time.perf_counter() - t)\n"
    )
    fresh = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(3)
    ]
    app = create_app(
        {
            "DATABASE": str(tmp / "bench.sqlite"),
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": str(tmp / "instance"),
        }
    )
    from diary import report

    app.logger.setLevel("WARNING")  # the figures, not the request log
    db = connect(app.config["DATABASE"])
    with app.test_request_context():
        report.render_summary(db, course, "en")
        warm = []
        for _ in range(9):
            t = time.perf_counter()
            pdf = report.render_summary(db, course, "en")
            warm.append(time.perf_counter() - t)
    (ROOT / "test-output").mkdir(exist_ok=True)
    (ROOT / "test-output" / "bench-summary.pdf").write_bytes(pdf)
    return statistics.median(warm), statistics.median(fresh)


def clinician_session(port: int) -> Session:
    s = Session(port, timeout=30)
    s.form("/login", {"email": "bench@clinic.example", "password": PASSWORD})
    return s


def post_load(port: int, tokens: list[str]) -> list[float]:
    """POST diary entries from CLIENTS threads; return every latency (seconds)."""
    latencies: list[float] = []
    lock = threading.Lock()
    budget = {"left": POSTS}
    deadline = time.monotonic() + TIME_CAP
    errors = []

    def client(index: int) -> None:
        s = Phone(port, tokens[index % len(tokens)], timeout=30)
        while time.monotonic() < deadline:
            with lock:
                if budget["left"] <= 0:
                    return
                budget["left"] -= 1
            t = time.perf_counter()
            _client_id, status = s.send_entry(None, avg=4, worst=6)
            elapsed = time.perf_counter() - t
            if status >= 300:
                errors.append(status)
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"diary POSTs failed: {errors[:5]}")
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    tmp = Path(tempfile.mkdtemp())
    built = build(tmp)
    warm, fresh = render_times(tmp, built["course"])
    print(
        f"12-week summary render: warm median {warm * 1000:.0f} ms "
        f"(target < 500 ms: {'OK' if warm < 0.5 else 'MISSED'}); "
        f"first render in a fresh process {fresh * 1000:.0f} ms"
    )

    port = free_port()
    env = app_env(tmp, "bench.sqlite")
    env.update(NO_LIMITS)
    server = start_gunicorn(
        "diary:create_app()", port, env, ROOT, workers=max(2, (os.cpu_count() or 2) * 2), threads=2
    )
    try:
        quiet = post_load(port, built["tokens"])
        stop = threading.Event()
        rendered = []

        def renderer() -> None:
            s = clinician_session(port)
            while not stop.is_set():
                status, body = s.request("GET", f"/clinic/courses/{built['course']}/summary.pdf")
                rendered.append(status)

        renderers = [threading.Thread(target=renderer) for _ in range(2)]
        for t in renderers:
            t.start()
        time.sleep(1.0)
        busy = post_load(port, built["tokens"])
        stop.set()
        for t in renderers:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=10)
    p95_quiet, p95_busy = pct(quiet, 0.95), pct(busy, 0.95)
    print(
        f"diary POST without renders: n={len(quiet)} p50 {pct(quiet, 0.5) * 1000:.1f} ms "
        f"p95 {p95_quiet * 1000:.1f} ms"
    )
    print(
        f"diary POST with 2 renders:  n={len(busy)} p50 {pct(busy, 0.5) * 1000:.1f} ms "
        f"p95 {p95_busy * 1000:.1f} ms; PDFs served during the run: "
        f"{sum(1 for s in rendered if s == 200)} (503 busy: "
        f"{sum(1 for s in rendered if s == 503)})"
    )
    ratio = p95_busy / p95_quiet
    print(f"p95 ratio {ratio:.2f} (target <= 2: {'OK' if ratio <= 2 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
