"""One shape for the data, one place for each rule: rows leave diary/queries finished, each
rule is written once and the web, the CLI and the exports share the same write paths."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from diary import clock, entry_rules, exports, outcomes, session_rules, sheet
from diary.queries import (
    accounts,
    audit,
    consents,
    courses,
    entries,
    patients,
    retention,
    seed,
    treatments,
)
from tests.factories import give_consent
from tests.helpers import csrf_from, login, open_link, queue_id_in

ROOT = Path(__file__).resolve().parent.parent
DAY_COLUMNS = ("day", "date", "start_date", "end_date")
FLAG_COLUMNS = ("late", "ultrasound", "flagged", "is_admin", "active", "signed", "passed")
JSON_COLUMNS = {
    "site_effects": list,
    "allergy_signs": list,
    "drugs": list,
    "wrong": list,
    "agreements": dict,
    "answers": dict,
    "detail": dict,
}


def assert_finished(row: dict) -> None:
    """Day columns are dates, flags are bools, JSON columns are decoded."""
    for key in DAY_COLUMNS:
        if key in row and row[key] is not None:
            assert type(row[key]) is date, (key, row[key])
    for key in FLAG_COLUMNS:
        if key in row:
            assert type(row[key]) is bool, (key, row[key])
    for key, kind in JSON_COLUMNS.items():
        if key in row:
            assert isinstance(row[key], kind), (key, row[key])
    if "medication_taken" in row:
        assert row["medication_taken"] in (True, False, None)
        assert type(row["medication_taken"]) in (bool, type(None))


@pytest.fixture
def full_course(db, world):
    """World's patient A with a consent, a quiz attempt, a session, entries and a closed end."""
    course = patients.current_course(db, world.patient_a)["id"]
    accounts.update_clinic(
        db,
        world.clinic_a,
        {
            **{k: accounts.get_clinic(db, world.clinic_a)[k] for k in accounts.CLINIC_SETTINGS},
            "drugs": ["ketorolac", "lidocaine"],
        },
        clinician_id=1,
    )
    give_consent(db, course)
    consents.record_quiz(db, course, 1, {"works": "a"}, ["works"])
    treatments.add_session(
        db,
        course,
        date(2026, 11, 2),
        nrs_before=8,
        drugs=[{"name": "ketorolac", "dose": "30 mg", "volume_ml": 1.0}],
        ultrasound=True,
        clinic_id=world.clinic_a,
        patient_id=world.patient_a,
    )
    seed.insert_entry(db, course, date(2026, 11, 3), "shape-1", 6, 8, late=True,
                      site_effects=["bruising"], medication_taken=False)  # fmt: skip
    seed.insert_entry(db, course, date(2026, 11, 4), "shape-2", 5, 7)
    courses.set_end(db, patients.get_course(db, course), date(2026, 11, 20), actor_id=1)
    return course


def test_every_read_returns_finished_rows(db, world, full_course):
    course = full_course
    reads = {
        "patients.get_course": [patients.get_course(db, course)],
        "patients.current_course": [patients.current_course(db, world.patient_a)],
        "patients.list_patients": patients.list_patients(db, world.clinic_a),
        "courses.list_courses": courses.list_courses(db, world.clinic_a),
        "courses.for_patient": courses.for_patient(db, world.patient_a),
        "courses.entries_by_course": courses.entries_by_course(db, world.clinic_a)[course],
        "courses.entries_by_course full": courses.entries_by_course(db, world.clinic_a, full=True)[
            course
        ],
        "courses.sessions_by_course": courses.sessions_by_course(db, world.clinic_a)[course],
        "courses.sessions_by_course full": courses.sessions_by_course(
            db, world.clinic_a, full=True
        )[course],
        "entries.for_course": entries.for_course(db, course),
        "entries.get_for_day": [entries.get_for_day(db, course, date(2026, 11, 3))],
        "treatments.for_course": treatments.for_course(db, course),
        "treatments.get_session": [treatments.get_session(db, 1)],
        "accounts.get_clinic": [accounts.get_clinic(db, world.clinic_a)],
        "accounts.find_clinic_by_name": [accounts.find_clinic_by_name(db, "Clinic A")],
        "accounts.get_clinician": [accounts.get_clinician(db, 1)],
        "accounts.get_clinician_by_email": [accounts.get_clinician_by_email(db, world.admin_a)],
        "accounts.list_clinicians": accounts.list_clinicians(db, world.clinic_a),
        "consents.history": consents.history(db, course),
        "consents.latest": [consents.latest(db, course)],
        "consents.get": [consents.get(db, consents.latest(db, course)["id"])],
        "consents.quiz_attempts": consents.quiz_attempts(db, course),
        "audit.for_course": audit.for_course(db, course),
    }
    for name, rows in reads.items():
        assert rows and all(rows), name
        for row in rows:
            assert_finished(row)
    # spot-check values, not only types
    entry = entries.get_for_day(db, course, date(2026, 11, 3))
    assert (entry["day"], entry["late"], entry["site_effects"]) == (
        date(2026, 11, 3),
        True,
        ["bruising"],
    )
    assert entry["medication_taken"] is False and entry["allergy_signs"] == []
    session = treatments.for_course(db, course)[0]
    assert session["drugs"] == [{"name": "ketorolac", "dose": "30 mg", "volume_ml": 1.0}]
    assert session["ultrasound"] is True and session["date"] == date(2026, 11, 2)
    assert patients.get_course(db, course)["end_date"] == date(2026, 11, 20)
    assert accounts.get_clinic(db, world.clinic_a)["drugs"] == ["ketorolac", "lidocaine"]
    assert consents.latest(db, course)["agreements"]["treatment"] is True
    closed = [e for e in audit.for_course(db, course) if e["action"] == "course.closed"]
    assert len(closed) == 1 and closed[0]["actor"] == "clinician"


def test_writes_refuse_text_that_is_not_a_date(db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    with pytest.raises(ValueError):
        seed.insert_entry(db, course, "2026-11-02 and more", "bad-day", 5, 5)
    with pytest.raises(ValueError):
        treatments.add_session(db, course, "yesterday")
    assert entries.for_course(db, course) == [] and treatments.for_course(db, course) == []


def _calls(path: Path, module: str, attr: str) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == attr
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == module
    ]


def test_no_stored_value_is_decoded_outside_the_queries(app):
    offenders = []
    for path in sorted((ROOT / "diary").rglob("*.py")):
        if "queries" in path.relative_to(ROOT).parts:
            continue
        offenders += [f"{path.name}:{n}" for n in _calls(path, "json", "loads")]
    assert offenders == []
    assert "fromjson" not in app.jinja_env.filters
    templates = [p for p in (ROOT / "templates").rglob("*.html") if "fromjson" in p.read_text()]
    assert templates == []


def test_queries_make_no_translated_messages():
    for path in (ROOT / "diary" / "queries").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "flask_babel" not in text and "gettext" not in text, path.name


# --- one place for each rule ------------------------------------------------------------------

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("day", "existing", "allowed"),
    [
        (TODAY, None, True),
        (TODAY, {"late": False}, True),  # today's entry: corrected as often as wanted
        (TODAY - timedelta(days=1), None, True),  # yesterday, not filled in: late
        (TODAY - timedelta(days=1), {"late": True}, True),  # made late, i.e. today
        (TODAY - timedelta(days=1), {"late": False}, False),  # made yesterday: closed
        (TODAY - timedelta(days=2), None, False),
        (TODAY + timedelta(days=1), None, False),
    ],
)
def test_which_diary_day_can_still_change(day, existing, allowed):
    assert entry_rules.can_change(day, TODAY, existing) is allowed


def test_diary_open_until_the_course_end():
    assert entry_rules.diary_open(TODAY, None)
    assert entry_rules.diary_open(TODAY, TODAY)
    assert not entry_rules.diary_open(TODAY, TODAY - timedelta(days=1))


def test_home_and_server_agree_on_yesterday_after_the_course_ended(app, db, world):
    """The course ended yesterday: today is closed, yesterday can still be filled in late,
    on the home page and on the server alike."""
    course = patients.current_course(db, world.patient_a)
    give_consent(db, course["id"])
    today = clock.today("Europe/Rome")
    yesterday = today - timedelta(days=1)
    courses.set_end(db, patients.get_course(db, course["id"]), yesterday, actor_id=1)
    phone = app.test_client()
    open_link(phone, world.token_a)
    home = phone.get("/home?lang=en").get_data(as_text=True)
    assert "so the diary is closed" in home
    assert f"/diary/entry?day={yesterday.isoformat()}" in home
    page = phone.get(f"/diary/entry?day={yesterday.isoformat()}")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    refused = phone.post(
        "/diary/entry", data={"csrf_token": token, "day": today.isoformat(), "avg": 3, "worst": 4}
    )
    assert refused.status_code == 400 and "has ended" in refused.get_data(as_text=True)
    saved = phone.post(
        "/diary/entry",
        data={"csrf_token": token, "day": yesterday.isoformat(), "avg": 3, "worst": 4},
    )
    assert saved.status_code == 302
    [row] = entries.for_course(db, course["id"])
    assert (row["day"], row["late"]) == (yesterday, True)
    # made late today, so it may still be corrected today: the same rule on the entry page
    assert phone.get(f"/diary/entry?day={yesterday.isoformat()}").status_code == 200


def test_a_day_closed_for_corrections_is_refused_with_the_rules_message(app, db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course)
    yesterday = clock.today("Europe/Rome") - timedelta(days=1)
    seed.insert_entry(db, course, yesterday, "made-on-time", 5, 6, late=False)
    phone = app.test_client()
    open_link(phone, world.token_a)
    home = phone.get("/home?lang=en").get_data(as_text=True)
    assert f"day={yesterday.isoformat()}" not in home
    assert phone.get(f"/diary/entry?day={yesterday.isoformat()}").status_code == 302
    sent = phone.post(
        "/api/entries",
        json={
            "client_id": "late-fix-0001",
            "queue_id": queue_id_in(home),
            "day": yesterday.isoformat(),
            "avg": 1,
            "worst": 2,
        },
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert sent.status_code == 422
    assert sent.json == {"error": str(entry_rules.day_closed_error()), "field": "day"}
    assert entries.get_for_day(db, course, yesterday)["avg_nrs"] == 5


def test_one_drug_per_syringe_rule():
    ketorolac = {"name": "ketorolac", "dose": "30 mg", "volume_ml": 1.0}
    lidocaine = {"name": "lidocaine", "dose": "", "volume_ml": None}
    assert not session_rules.is_mixture([])
    assert not session_rules.is_mixture([ketorolac])
    assert session_rules.is_mixture([ketorolac, lidocaine])
    assert session_rules.drugs_text([ketorolac, lidocaine]) == "ketorolac 30 mg; lidocaine"
    assert session_rules.drugs_text([ketorolac], volume=str) == "ketorolac 30 mg 1.0 ml"
    sessions = [
        {"number": 1, "drugs": [ketorolac]},
        {"number": 2, "drugs": [lidocaine]},
        {"number": 3, "drugs": [ketorolac]},
        {"number": 4, "drugs": []},
    ]
    assert session_rules.regimens(sessions) == [("ketorolac 30 mg", [1, 3]), ("lidocaine", [2])]


def test_the_mixture_warning_is_one_message_everywhere(app, client, db, world):
    course = patients.create_course(db, world.patient_a, "neck", date(2026, 11, 1))
    give_consent(db, course)
    login(client, world.clinician_a)
    client.get("/clinic/?lang=en")
    with app.test_request_context():
        warning = session_rules.mixture_warning()
    form = client.get(f"/clinic/courses/{course}/sessions/new").get_data(as_text=True)
    assert f'data-mixture-from="{session_rules.MIXTURE_FROM}"' in form
    assert warning in form
    token = csrf_from(form)
    one = {"csrf_token": token, "date": "2026-11-02", "nrs_before": "7", "area": "neck",
           "drugs-0-name": "ketorolac"}  # fmt: skip
    saved = client.post(f"/clinic/courses/{course}/sessions/new", data=one, follow_redirects=True)
    assert warning not in saved.get_data(as_text=True)
    two = {**one, "date": "2026-11-09", "drugs-1-name": "lidocaine"}
    saved = client.post(f"/clinic/courses/{course}/sessions/new", data=two, follow_redirects=True)
    page = saved.get_data(as_text=True)
    assert page.count(warning) == 2  # the flash after saving, and the second session's row


# --- dashboard flags and scoring (outcomes.course_status) ------------------------------------


def _entry(day: date, avg: int) -> dict:
    return {"day": day, "avg_nrs": avg, "worst_nrs": avg, "late": False}


def _status(entries_, *, today=date(2026, 3, 20), diary_from=date(2026, 3, 2), **kw):
    return outcomes.course_status(
        [{"number": 1, "date": date(2026, 3, 2), "nrs_before": 8}],
        entries_,
        start=date(2026, 3, 1),
        today=today,
        diary_from=diary_from,
        consent_active=kw.get("consent_active", True),
        allergy_reported=kw.get("allergy", False),
        screening_flags=kw.get("screening", 0),
    )


def test_dashboard_flags_at_their_thresholds():
    last = date(2026, 3, 17)  # three days before today: silent for exactly NO_ENTRY_DAYS
    high = [_entry(last - timedelta(days=k), 10) for k in range(4)]  # 7-day mean 10 = 8 + 2
    status = _status(high)
    assert status.since == 3 and status.recent == 10
    assert status.flags == ["no_entry", "worse"]
    assert _status(high, consent_active=False).flags == ["worse"]  # no consent: no diary due
    recent = [_entry(date(2026, 3, 18), 10), _entry(date(2026, 3, 19), 9)]  # mean 9.5 < 10
    assert _status(recent).flags == []
    assert _status(recent, allergy=True, screening=2).flags == ["allergy", "screening"]
    # never an entry: silence counts from the diary start (consent)
    assert _status([], diary_from=date(2026, 3, 17)).flags == ["no_entry"]
    assert _status([], diary_from=date(2026, 3, 18)).flags == []
    assert _status([], diary_from=None).flags == [] and _status([], diary_from=None).done is None
    done = _status(recent, diary_from=date(2026, 3, 14)).done
    # 14-19 March: 6 days, entries on the 18th and 19th; today (20th) is not over yet
    assert (done.on_time, done.late, done.missing) == (2, 0, 4)


def test_flag_labels_state_the_thresholds(app, client, world):
    login(client, world.clinician_a)
    legend = (ROOT / "templates" / "clinic" / "_figures.html").read_text()
    assert f"no entry for {outcomes.NO_ENTRY_DAYS} days" in legend
    assert f"pain {outcomes.RISE_POINTS} points or more above baseline" in legend


def test_the_diary_starts_on_the_clinics_day_of_the_first_consent(app, client, db, world,
                                                                 monkeypatch):  # fmt: skip
    """Consent at 23:30 UTC is 00:30 the next day in Rome: the silent days count from there."""
    patient = patients.create_patient(db, world.clinic_a, "TZ-1")
    course = patients.create_course(db, patient, "neck", date(2026, 3, 1))
    consents.give(
        db,
        course,
        sheet_version=sheet.SHEET_VERSION,
        locale="it",
        text="## t",
        agreements={"treatment": True, "data": True},
        full_name="T",
        signature_png=None,
        user_agent="pytest",
        created_at="2026-03-09T23:30:00.000000+00:00",
    )
    now = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: now)
    login(client, world.clinician_a)

    def flags() -> str:
        html = client.get("/clinic/?sort=code").get_data(as_text=True)
        row = re.search(r"TZ-1</bdi></a>.*?</tr>", html, re.S)
        assert row, html[:3000]
        row = row.group(0)
        return row

    assert "flag-no_entry" not in flags()  # 10 to 12 March: two silent days
    now = datetime(2026, 3, 13, 10, 0, tzinfo=UTC)
    login(client, world.clinician_a)  # a day later: a new sign-in
    assert "flag-no_entry" in flags()


# --- clock.today in the clinic's time zone -------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "zone", "day"),
    [
        (datetime(2026, 11, 23, 23, 30, tzinfo=UTC), "UTC", date(2026, 11, 23)),
        (datetime(2026, 11, 23, 23, 30, tzinfo=UTC), "Europe/Rome", date(2026, 11, 24)),
        (datetime(2026, 11, 23, 23, 30, tzinfo=UTC), "America/Los_Angeles", date(2026, 11, 23)),
        (datetime(2026, 11, 23, 10, 30, tzinfo=UTC), "Pacific/Kiritimati", date(2026, 11, 24)),
        (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "Pacific/Pago_Pago", date(2026, 11, 22)),
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "Europe/Rome", date(2026, 3, 29)),
    ],
)
def test_today_in_the_clinics_time_zone(monkeypatch, moment, zone, day):
    monkeypatch.setattr(clock, "now", lambda: moment)
    assert clock.today(zone) == day
    assert clock.local_day(clock.iso(moment), zone) == day


# --- one path for each write ---------------------------------------------------------------


def _patient_events(db, code: str, clinic: int) -> list[tuple[str, str]]:
    patient = patients.find_patient(db, clinic, code)
    return [
        (row["action"], row["actor"])
        for row in db.query(
            "SELECT action, actor FROM audit_events WHERE patient_id = ? ORDER BY id",
            [patient["id"]],
        )
    ]


def _enroll(runner, clinic: int, code: str, *extra: str):
    """``flask patient enroll`` for a knee course."""
    args = ["patient", "enroll", "--clinic", str(clinic), "--code", code, "--area", "knee"]
    return runner.invoke(args=[*args, *extra])


def _web_enrol(app, world, code: str, locale: str):
    """Clinician A enrols ``code`` through the enrol page; the response."""
    staff = app.test_client()
    login(staff, world.clinician_a)
    form = staff.get("/clinic/patients/new").get_data(as_text=True)
    data = {"csrf_token": csrf_from(form), "code": code, "locale": locale, "area": "knee"}
    return staff.post("/clinic/patients/new", data={**data, "start_date": "2026-11-02"})


@pytest.mark.parametrize("code", ["李-1", "مريض-1", "R.7/b x"])
def test_cli_enrol_is_the_web_enrol(runner, db, world, code):
    out = _enroll(runner, world.clinic_a, code, "--start", "2026-11-02")
    assert out.exit_code == 0, out.output
    token = out.output.strip().rsplit("/", 1)[1]
    assert patients.find_link(db, token, 30) is not None
    assert _patient_events(db, code, world.clinic_a) == [
        ("patient.enrolled", "system"),
        ("link.issued", "system"),
    ]
    course = patients.current_course(db, patients.find_patient(db, world.clinic_a, code)["id"])
    assert course["start_date"] == date(2026, 11, 2)


@pytest.mark.parametrize("code", ["x" * 41, "<b>", "   ", "A-001", "tab\there"])
def test_cli_and_web_refuse_the_same_codes(app, runner, db, world, code):
    before = db.execute("SELECT count(*) FROM patients").fetchone()[0]
    out = _enroll(runner, world.clinic_a, code)
    assert out.exit_code != 0 and "--code" in out.output
    page = _web_enrol(app, world, code, "it")
    assert page.status_code == 200 and 'class="error"' in page.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM patients").fetchone()[0] == before
    assert db.execute("SELECT count(*) FROM access_tokens").fetchone()[0] == 2  # world's two


def test_web_enrol_accepts_a_code_of_exactly_the_limit(app, db, world):
    code = "李" * patients.CODE_MAX
    page = _web_enrol(app, world, code, "zh_Hans")
    assert page.status_code == 200 and "/p/" in page.get_data(as_text=True)
    assert _patient_events(db, code, world.clinic_a) == [
        ("patient.enrolled", "clinician"),
        ("link.issued", "clinician"),
    ]


def test_cli_clinician_create_is_audited(runner, db, world):
    out = runner.invoke(
        args=[
            "clinician",
            "create",
            "--clinic",
            str(world.clinic_b),
            "--email",
            "new@b.example",
            "--name",
            "New",
            "--password-stdin",
        ],  # fmt: skip
        input="a long enough password\n",
    )
    assert out.exit_code == 0, out.output
    clinician = accounts.get_clinician_by_email(db, "new@b.example")
    events = list(
        db.query(
            "SELECT actor, clinic_id, detail FROM audit_events WHERE action = 'clinician.added'"
        )
    )
    assert [(e["actor"], e["clinic_id"]) for e in events][-1] == ("system", world.clinic_b)
    assert f'"clinician": {clinician["id"]}' in events[-1]["detail"]


def test_erasure_revokes_the_calendar_feed_too(db, world):
    feed = patients.set_reminder(db, world.patient_a, "19:30")
    assert patients.find_calendar(db, feed) is not None
    removed = retention.erase_patient(db, world.patient_a, clinician_id=1)
    assert removed["links_revoked"] == 2  # the personal link and the calendar feed
    assert patients.find_calendar(db, feed) is None
    assert patients.find_link(db, world.token_a, 30) is None


def test_cohort_csv_reads_in_a_fixed_number_of_queries(db, world):
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)

    def selects() -> int:
        statements.clear()
        exports.cohort_csv(db, world.clinic_a, date(2026, 11, 23))
        return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))

    one = selects()
    for k in range(6):
        p = patients.create_patient(db, world.clinic_a, f"Q-{k}")
        c = patients.create_course(db, p, "hip", date(2026, 11, 1))
        seed.insert_entry(db, c, date(2026, 11, 2), f"q-{k}", 4, 5)
        treatments.add_session(db, c, date(2026, 11, 2), nrs_before=6)
    assert selects() == one == 5  # courses, entries, sessions, PEG and PGIC answers
    db.conn.set_trace_callback(None)


def test_the_readme_names_every_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Project layout") : readme.index("## Security in brief")]
    views_row = next(line for line in table.splitlines() if line.startswith("| `diary/views/`"))
    missing = []
    for path in sorted((ROOT / "diary").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if path.parent.name == "views":
            named = path.stem == "__init__" or f"`{path.stem}`" in views_row
        elif path.name == "__init__.py" and path.parent.name == "queries":
            named = "`diary/queries/`" in table
        else:
            named = f"`{rel}`" in table
        if not named:
            missing.append(rel)
    assert missing == []


def test_every_audit_action_the_code_records_has_a_translated_label():
    """A course's audit trail shows each event by its label; an action without one showed
    its raw code ("attention.seen") to the clinician, in every language."""
    from diary.labels import ACTION_LABELS

    recorded = set()
    for path in (Path(__file__).resolve().parent.parent / "diary").rglob("*.py"):
        text = path.read_text()
        # the action, or both of ``"a" if on else "b"``
        calls = re.findall(
            r'audit\.(?:record|on_course)\(\s*\w+,\s*"([a-z_.]+)"'
            r'(?:\s+if [^,]+ else "([a-z_.]+)")?',
            text,
        )
        recorded |= {action for call in calls for action in call if action}
    assert len(recorded) > 30  # the scan finds the calls
    assert sorted(recorded - set(ACTION_LABELS)) == []
