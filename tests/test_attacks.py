"""Attacks from the security review (issue 16), each reproduced: expensive requests without
limits, open redirects, the personal link in Referer, host-header reflection, control
characters in staff fields, a language GET that writes to the account, security events
without a client address, links that never expire, phones that cannot be signed out."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import limits
import pytest

from diary import migrations, pdf
from diary.db import connect
from diary.queries import patients
from tests.factories import give_consent
from tests.helpers import csrf_from, login, open_link, visible

ROOT = Path(__file__).resolve().parent.parent


def _limit(app, name: str) -> int:
    return limits.parse(app.config[f"RATE_LIMIT_{name}"]).amount


# --- expensive requests: the render limit and per-user rate limits -------------------------


def _pdf_routes(app, db, world) -> list[tuple[object, str]]:
    """Every PDF route, each with a client allowed to open it."""
    course = patients.current_course(db, world.patient_a)["id"]
    consent_id = give_consent(db, course)
    staff = app.test_client()
    login(staff, world.clinician_a)
    phone = app.test_client()
    open_link(phone, world.token_a)
    return [
        (staff, f"/clinic/courses/{course}/summary.pdf"),
        (staff, f"/clinic/consents/{consent_id}.pdf"),
        (phone, f"/consent/copy/{consent_id}.pdf"),
    ]


def test_every_pdf_route_waits_for_the_render_limit(app, db, world):
    """With the only render slot taken (a patient looping on their PDF), every PDF route
    answers 503 with Retry-After instead of rendering beside it."""
    routes = _pdf_routes(app, db, world)
    for client, path in routes:  # each renders when a slot is free
        assert client.get(path).data[:5] == b"%PDF-", path
    app.config["PDF_CONCURRENCY"] = 1
    with app.app_context(), pdf.render_slot():
        for client, path in routes:
            response = client.get(path + "?lang=en")
            assert response.status_code == 503, path
            assert response.headers["Retry-After"] == "5"
            assert "Many documents are being prepared" in visible(response.get_data(as_text=True))


@pytest.mark.parametrize("route", [0, 1, 2], ids=["summary", "clinic-copy", "patient-copy"])
def test_pdfs_are_rate_limited_per_user(app, db, world, route):
    app.config["RATE_LIMIT_PDF"] = "3 per minute"
    client, path = _pdf_routes(app, db, world)[route]
    for _ in range(3):
        assert client.get(path).status_code == 200
    refused = client.get(path + "?lang=en")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many attempts" in visible(refused.get_data(as_text=True))
    # per user: someone else in the same clinic (or another patient) is not held up
    if route < 2:
        other = app.test_client()
        login(other, world.admin_a)
        assert other.get(path).status_code == 200


def test_exports_are_rate_limited_per_user(app, db, world):
    app.config["RATE_LIMIT_EXPORT"] = "3 per minute"
    course = patients.current_course(db, world.patient_a)["id"]
    staff = app.test_client()
    login(staff, world.clinician_a)
    for path in (f"/clinic/courses/{course}/export.csv", f"/clinic/courses/{course}/fhir.json",
                 "/clinic/cohort.csv"):  # fmt: skip
        assert staff.get(path).status_code == 200
    # one budget across the export routes of one user
    assert staff.get("/clinic/cohort.csv").status_code == 429
    phone = app.test_client()
    open_link(phone, world.token_a)
    assert [phone.get(p).status_code for p in ("/me/export.json", "/me/export.csv",
            "/me/export.json", "/me/export.csv")] == [200, 200, 200, 429]  # fmt: skip


def test_sign_in_and_patient_links_are_rate_limited_per_address(app, db, world):
    app.config["RATE_LIMIT_SIGNIN"] = "4 per minute"
    guesser = app.test_client()
    for k in range(4):
        assert guesser.get(f"/p/not-a-token-{k}").status_code == 404
    assert guesser.get("/p/not-a-token-x").status_code == 429
    # the limit is the address's: a fresh cookie does not reset it
    assert app.test_client().get(f"/p/{world.token_a}").status_code == 429
    # another address is not held up
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert other.get(f"/p/{world.token_a}").status_code == 200
    # the login form is counted on POST only (reading it costs nothing)
    app.config["RATE_LIMIT_SIGNIN"] = "2 per minute"
    desk = app.test_client()
    desk.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    for _ in range(5):
        assert desk.get("/login").status_code == 200
    token = csrf_from(desk.get("/login").get_data(as_text=True))
    wrong = {"csrf_token": token, "email": "x@example.org", "password": "wrong password"}
    posts = [desk.post("/login", data=wrong).status_code for _ in range(3)]
    assert posts[-1] == 429 and 429 not in posts[:2], posts


def test_limits_hold_across_gunicorn_workers(tmp_path):
    """Ten checks at once, over ten connections to two workers of two threads, against a
    limit of four: exactly four are answered, six refused (counts live in the database)."""
    from tests.live_server import Session, app_env, free_port, start_gunicorn

    db = connect(tmp_path / "l.sqlite")
    migrations.apply(db)
    db.conn.close()
    port = free_port()
    env = dict(app_env(tmp_path, "l.sqlite"), DIARY_RATE_LIMIT_VERIFY="4 per 15 minutes")
    server = start_gunicorn("diary:create_app()", port, env, ROOT, workers=2, threads=2)
    results: list[int] = []
    barrier = threading.Barrier(10)

    def check() -> None:
        session = Session(port)
        barrier.wait()
        status, _ = session.request("GET", "/verify?code=AAAA-BBBB-CCCC")
        results.append(status)
        session.close()

    try:
        threads = [threading.Thread(target=check) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    assert sorted(results) == [200] * 4 + [429] * 6, results
