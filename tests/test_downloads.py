"""Every file download: a Content-Disposition that survives any patient code (ASCII
``filename=`` plus RFC 5987 ``filename*``), under the test client and under real
gunicorn, and an audit event only for a download whose response was built."""

from __future__ import annotations

import csv
import io
import os
import signal
from datetime import timedelta
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

import pytest
from werkzeug.http import parse_options_header

from diary import clock, migrations
from diary.db import connect
from diary.queries import accounts, patients
from diary.security import hash_password
from tests.factories import give_consent
from tests.helpers import login, open_link
from tests.live_server import Session, app_env, free_port, start_gunicorn

ROOT = Path(__file__).resolve().parent.parent
CODES = ["李-1", "مريض-1"]
DOWNLOAD_ACTIONS = ("report.generated", "export.course_csv", "consent.pdf_opened")


def disposition(header: str) -> tuple[str, str]:
    """(``inline``/``attachment``, file name) of a Content-Disposition, checked to be
    sendable: ASCII only, and the RFC 5987 ``filename*`` when the name is not ASCII."""
    header.encode("latin-1")  # what gunicorn requires of every header
    assert header.isascii(), header
    kind, options = parse_options_header(header)
    name = options["filename"]  # werkzeug decodes filename* into filename
    if not name.isascii():
        raw = header.split("filename*=UTF-8''", 1)[1].split(";", 1)[0]
        assert unquote(raw, encoding="utf-8", errors="strict") == name
    return kind, name


def today_names(timezone: str, pattern: str, **fields: object) -> set[str]:
    """The names ``pattern`` (with ``{d}`` for the day) gives a download made now: today in
    ``timezone`` or in UTC (either side of midnight while the test runs)."""
    now = clock.now()
    days = {now.astimezone(ZoneInfo(timezone)).date(), now.date()}
    return {pattern.format(d=day.isoformat(), **fields) for day in days}


@pytest.fixture
def coded(db, world):
    """Patients coded in Chinese and Arabic at clinic A: {code: (patient, course, consent,
    link token)}, each with a consent and a daily reminder."""
    made = {}
    for code in CODES:
        patient = patients.create_patient(db, world.clinic_a, code, locale="en")
        start = clock.today("Europe/Rome") - timedelta(days=3)
        course = patients.create_course(db, patient, "knee", start)
        consent = give_consent(db, course)
        patients.set_reminder(db, patient, "19:30")
        made[code] = (patient, course, consent, patients.issue_link(db, patient))
    return made


def audit_count(db, action: str, course_id: int | None = None) -> int:
    sql = "SELECT COUNT(*) FROM audit_events WHERE action = ?"
    args: list = [action]
    if course_id is not None:
        sql += " AND course_id = ?"
        args.append(course_id)
    return db.execute(sql, args).fetchone()[0]


# --- the test client ----------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_clinician_downloads_name_the_file_after_any_patient_code(app, db, world, coded, code):
    _patient, course, consent, _token = coded[code]
    staff = app.test_client()
    login(staff, world.clinician_a)
    rome = "Europe/Rome"
    expected = {
        f"/clinic/courses/{course}/summary.pdf": (
            "inline",
            today_names(rome, "summary-{c}-{d}.pdf", c=code),
            "application/pdf",
        ),
        f"/clinic/courses/{course}/summary.pdf?download=1": (
            "attachment",
            today_names(rome, "summary-{c}-{d}.pdf", c=code),
            "application/pdf",
        ),
        f"/clinic/courses/{course}/export.csv": (
            "attachment",
            {f"course-{code}-{course}.csv"},
            "text/csv; charset=utf-8",
        ),
        f"/clinic/consents/{consent}.pdf": (
            "attachment",
            today_names(rome, "consent-{c}-{d}.pdf", c=code),
            "application/pdf",
        ),
        f"/clinic/courses/{course}/fhir.json": (
            "attachment",
            {f"course-{course}-fhir.json"},
            "application/fhir+json",
        ),
        "/clinic/cohort.csv": ("attachment", {"cohort.csv"}, "text/csv; charset=utf-8"),
    }
    for path, (kind, names, content_type) in expected.items():
        response = staff.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == content_type, path
        assert response.headers["Cache-Control"] == "no-store", path
        got_kind, name = disposition(response.headers["Content-Disposition"])
        assert (got_kind, name) in {(kind, n) for n in names}, path
        if code in name:
            assert f"filename*=UTF-8''{quote(name)}" in response.headers["Content-Disposition"]
            assert quote(code) in response.headers["Content-Disposition"]
        if "pdf" in path:
            assert response.data.startswith(b"%PDF"), path
        if "csv" in path:
            assert code in response.data.decode("utf-8-sig"), path


@pytest.mark.parametrize("code", CODES)
def test_patient_downloads_are_named_without_the_code(app, world, coded, code):
    _patient, _course, consent, token = coded[code]
    phone = app.test_client()
    open_link(phone, token)
    expected = {
        f"/consent/copy/{consent}.pdf": (
            today_names("Europe/Rome", "consent-{d}.pdf"),
            "application/pdf",
        ),
        "/me/export.json": ({"my-pain-diary.json"}, "application/json"),
        "/me/export.csv": ({"my-pain-diary.csv"}, "text/csv; charset=utf-8"),
        "/diary/reminder.ics": ({"pain-diary.ics"}, "text/calendar; charset=utf-8"),
    }
    for path, (names, content_type) in expected.items():
        response = phone.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == content_type, path
        kind, name = disposition(response.headers["Content-Disposition"])
        assert kind == "attachment" and name in names, path
    assert code in phone.get("/me/export.json").get_data(as_text=True)


# --- audit only once the response exists ------------------------------------------------------


def _raise(*_args, **_kwargs):
    raise RuntimeError("building the download failed")


@pytest.mark.parametrize(
    ("target", "path", "action"),
    [
        (
            "diary.views.clinic.send_download",
            "/clinic/courses/{course}/summary.pdf",
            "report.generated",
        ),
        ("diary.exports.course_csv", "/clinic/courses/{course}/export.csv", "export.course_csv"),
        (
            "diary.views.clinic.send_download",
            "/clinic/courses/{course}/export.csv",
            "export.course_csv",
        ),
        ("diary.exports.fhir_bundle", "/clinic/courses/{course}/fhir.json", "export.fhir"),
        ("diary.exports.cohort_csv", "/clinic/cohort.csv", "export.cohort_csv"),
        ("diary.pdf.consent_pdf", "/clinic/consents/{consent}.pdf", "consent.pdf_opened"),
        ("diary.pdf.consent_pdf", "/consent/copy/{consent}.pdf", "consent.pdf_downloaded"),
    ],
)
def test_a_failed_download_leaves_no_audit_event(
    app, db, world, coded, monkeypatch, target, path, action
):
    _patient, course, consent, token = coded[CODES[0]]
    client = app.test_client()
    if path.startswith("/consent/"):
        open_link(client, token)
    else:
        login(client, world.clinician_a)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the 500 page, as in production
    monkeypatch.setattr(target, _raise)
    url = path.format(course=course, consent=consent)
    assert client.get(url).status_code == 500
    assert audit_count(db, action) == 0
    monkeypatch.undo()  # the same download, now built: one event
    assert client.get(url).status_code == 200
    assert audit_count(db, action) == 1


# --- real gunicorn ----------------------------------------------------------------------------


def _get(session: Session, path: str, timeout: float = 60) -> tuple[int, dict, bytes]:
    """GET with the session's cookie; (status, headers, body)."""
    conn = HTTPConnection("127.0.0.1", session.port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Cookie": session.cookie})
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


def test_downloads_for_non_latin_codes_under_gunicorn(tmp_path):
    db = connect(tmp_path / "d.sqlite")
    migrations.apply(db)
    clinic = accounts.create_clinic(db, "D", locale="en", timezone="UTC")
    accounts.create_clinician(db, clinic, "d@clinic.example", "D", hash_password("right pass 123"))
    courses = {}
    for code in CODES:
        patient = patients.create_patient(db, clinic, code)
        course = patients.create_course(db, patient, "knee", clock.today("UTC"))
        give_consent(db, course)
        [(consent,)] = db.execute("SELECT id FROM consents WHERE course_id = ?", [course])
        courses[code] = (course, consent)
    db.conn.close()
    port = free_port()
    server = start_gunicorn("diary:create_app()", port, app_env(tmp_path, "d.sqlite"), ROOT)
    try:
        staff = Session(port, timeout=30)
        status, _ = staff.form(
            "/login", {"email": "d@clinic.example", "password": "right pass 123"}
        )
        assert status == 302 and staff.cookie
        for code, (course, consent) in courses.items():
            for path, prefix, pattern in (
                (f"/clinic/courses/{course}/export.csv", b"\xef\xbb\xbf", "course-{c}-{k}.csv"),
                (
                    f"/clinic/courses/{course}/summary.pdf?download=1",
                    b"%PDF",
                    "summary-{c}-{d}.pdf",
                ),
                (f"/clinic/consents/{consent}.pdf", b"%PDF", "consent-{c}-{d}.pdf"),
            ):
                status, headers, body = _get(staff, path)
                assert status == 200, (path, status)
                assert body.startswith(prefix), path
                if path.endswith(".csv"):
                    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
                    assert rows and {r["patient_code"] for r in rows} == {code}
                kind, name = disposition(headers["content-disposition"])
                names = today_names("UTC", pattern, c=code, k=course)
                assert kind == "attachment" and name in names, (path, name)
                assert f"filename*=UTF-8''{quote(name)}" in headers["content-disposition"]
        staff.close()
        db = connect(tmp_path / "d.sqlite")
        try:
            for code, (course, _consent) in courses.items():
                for action in DOWNLOAD_ACTIONS:
                    assert audit_count(db, action, course) == 1, (code, action)
            assert sum(audit_count(db, action) for action in DOWNLOAD_ACTIONS) == 6
        finally:
            db.conn.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
