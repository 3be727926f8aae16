import re
import sqlite3
import statistics
import threading
from datetime import date, timedelta

from diary import demo
from diary.queries import accounts, entries, patients, seed, treatments
from tests.helpers import csrf_from, enrol_totp, login, open_link, second_step

TODAY = date(2026, 11, 22)


def test_clinic_clinician_patient_and_link_from_the_cli(app, runner, db):
    out = runner.invoke(
        args=[
            "clinic",
            "create",
            "--name",
            "Studio Rossi",
            "--phone",
            "+39 02 1",
            "--locale",
            "it",
            "--timezone",
            "Europe/Rome",
        ]
    )
    assert out.exit_code == 0, out.output
    clinic_id = int(re.search(r"clinic (\d+) created", out.output).group(1))
    out = runner.invoke(
        args=[
            "clinician",
            "create",
            "--clinic",
            str(clinic_id),
            "--email",
            "rossi@studio.example",
            "--name",
            "Dr Rossi",
            "--admin",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert out.exit_code == 0, out.output
    out = runner.invoke(
        args=["patient", "enroll", "--clinic", str(clinic_id), "--code", "R-7", "--area", "knee"]
    )
    assert out.exit_code == 0, out.output
    link = out.output.strip()
    assert link.startswith("http://localhost/p/")
    client = app.test_client()
    assert open_link(client, link.rsplit("/", 1)[1]).headers["Location"] == "/home"
    staff = app.test_client()
    first = login(staff, "rossi@studio.example", "a long enough password")
    assert first.headers["Location"] == "/clinic/account/authenticator"  # admins need it
    enrol_totp(app, db, "rossi@studio.example")
    staff = app.test_client()
    assert login(staff, "rossi@studio.example", "a long enough password").status_code == 302
    assert "R-7" in staff.get("/clinic/").get_data(as_text=True)
    patient = patients.find_patient(db, clinic_id, "R-7")
    assert patient["locale"] == "it"  # the clinic's language by default


def test_cli_refuses_bad_input_without_storing(runner, db):
    clinic = accounts.create_clinic(db, "C", timezone="UTC")
    short = runner.invoke(
        args=[
            "clinician",
            "create",
            "--clinic",
            str(clinic),
            "--email",
            "a@b.example",
            "--name",
            "A",
            "--password-stdin",
        ],
        input="short\n",
    )
    assert short.exit_code != 0 and "at least" in short.output
    assert accounts.get_clinician_by_email(db, "a@b.example") is None
    no_clinic = runner.invoke(
        args=["patient", "enroll", "--clinic", "999", "--code", "X", "--area", "knee"]
    )
    assert no_clinic.exit_code != 0
    bad_tz = runner.invoke(args=["clinic", "create", "--name", "Z", "--timezone", "Mars/Base"])
    assert bad_tz.exit_code != 0
    assert db.execute("SELECT count(*) FROM clinics").fetchone()[0] == 1


def test_token_revoke_and_reissue(app, runner, db, world):
    phone = app.test_client()
    open_link(phone, world.token_a)
    out = runner.invoke(
        args=["token", "revoke", "--clinic", str(world.clinic_a), "--code", "A-001"]
    )
    assert out.exit_code == 0 and "revoked 1" in out.output
    assert phone.get("/home").status_code == 403
    assert app.test_client().get(f"/p/{world.token_a}").status_code == 404
    out = runner.invoke(
        args=["token", "revoke", "--clinic", str(world.clinic_a), "--code", "A-001", "--reissue"]
    )
    new_token = out.output.strip().rsplit("/", 1)[1]
    assert open_link(app.test_client(), new_token).status_code == 302


def test_token_revoke_is_scoped_to_the_clinic(runner, world):
    out = runner.invoke(
        args=["token", "revoke", "--clinic", str(world.clinic_b), "--code", "A-001"]
    )
    assert out.exit_code != 0


def test_demo_prints_working_credentials_and_is_idempotent(app, runner, db):
    first = runner.invoke(args=["demo", "--today", TODAY.isoformat()])
    assert first.exit_code == 0, first.output
    counts = demo.summary(db, 1)
    second = runner.invoke(args=["demo", "--today", TODAY.isoformat()])
    assert second.exit_code == 0
    assert demo.summary(db, 1) == counts
    assert counts["patients"] == 63 and counts["courses"] == 63
    password = re.search(r"password: (\S+)", second.output).group(1)
    email = re.search(r"email: +(\S+)", second.output).group(1)
    links = re.findall(r"http://localhost/p/(\S+)", second.output)
    assert len(links) == 2
    key = re.search(r"key: +(\S+)", second.output).group(1)
    signed_in = login(app.test_client(), email, password, totp_secret=key)
    assert signed_in.headers["Location"] == "/clinic/"
    old_password = re.search(r"password: (\S+)", first.output).group(1)
    assert login(app.test_client(), email, old_password).status_code == 200  # replaced
    # the printed recovery codes work once; the first run's were replaced
    new_code = re.search(r"recovery: (\S+)", second.output).group(1)
    old_code = re.search(r"recovery: (\S+)", first.output).group(1)
    for code, works in ((old_code, False), (new_code, True), (new_code, False)):
        browser = app.test_client()
        token = csrf_from(browser.get("/login").get_data(as_text=True))
        browser.post("/login", data={"email": email, "password": password, "csrf_token": token})
        assert (second_step(browser, code).status_code == 302) is works, code
    for token in links:
        assert open_link(app.test_client(), token).status_code == 302


def _interval_means(db, course_id):
    sessions = treatments.for_course(db, course_id)
    days = entries.for_course(db, course_id)
    bounds = [s["date"] for s in sessions] + [date.max]
    return [
        statistics.mean(e["avg_nrs"] for e in days if bounds[k] <= e["day"] < bounds[k + 1])
        for k in range(len(sessions))
    ], sessions


def test_demo_courses_match_table_1_of_paper_001(db):
    result = demo.build(db, TODAY)
    reached = {"A": [], "B": []}
    for group, rows in demo.TABLE_1.items():
        for number, (basal, final, n) in enumerate(rows, start=1):
            patient = patients.find_patient(db, result.clinic_id, f"{group}{number:02d}")
            course = patients.current_course(db, patient["id"])
            means, sessions = _interval_means(db, course["id"])
            assert len(sessions) == n
            assert sessions[0]["nrs_before"] == basal
            assert means[-1] == final
            goal = [k + 1 for k, m in enumerate(means) if m <= basal / 2]
            if final <= basal / 2:
                assert goal[0] == n  # first met after the row's last session
                reached[group].append(n)
            else:
                assert goal == []
    assert len(reached["A"]) == 30 and len(reached["B"]) == 28  # as the paper reports
    all_rows = demo.TABLE_1["A"] + demo.TABLE_1["B"]
    assert round(statistics.mean(r[2] for r in all_rows), 1) == 3.5
    assert round(statistics.mean(r[0] for r in demo.TABLE_1["A"]), 1) == 8.1


def test_demo_entries_are_deterministic(db, tmp_path):
    from diary import migrations
    from diary.db import connect

    demo.build(db, TODAY)
    other = connect(tmp_path / "other.sqlite")
    migrations.apply(other)
    demo.build(other, TODAY)
    query = "SELECT day, avg_nrs, worst_nrs, late FROM diary_entries ORDER BY course_id, day"
    assert list(db.query(query)) == list(other.query(query))


def test_backup_while_writing_is_consistent(app, runner, db, world, tmp_path):
    course = patients.current_course(db, world.patient_a)["id"]
    stop = threading.Event()

    def writer():
        from diary.db import connect

        conn = connect(app.config["DATABASE"])
        i = 0
        while not stop.is_set() and i < 5000:
            seed.insert_entry(
                conn, course, date(2000, 1, 1) + timedelta(days=i), f"bk-{i}", i % 11, 10
            )
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        out = runner.invoke(args=["backup", str(tmp_path / "copy.sqlite")])
    finally:
        stop.set()
        thread.join()
    assert out.exit_code == 0, out.output
    copy = sqlite3.connect(tmp_path / "copy.sqlite")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = copy.execute("SELECT count(*) FROM diary_entries").fetchone()[0]
    ids = [r[0] for r in copy.execute("SELECT client_id FROM diary_entries ORDER BY id")]
    assert ids == [f"bk-{i}" for i in range(n)]  # a prefix of the writes: nothing torn
    assert copy.execute("SELECT count(*) FROM clinics").fetchone()[0] == 2
    again = runner.invoke(args=["backup", str(tmp_path / "copy.sqlite")])
    assert again.exit_code != 0  # never overwrites


def test_restore_drill_from_a_backup_taken_under_load(app, runner, db, world, tmp_path):
    """Back up while entries are written, restore the copy as the live database of a new
    app, and find every row the copy holds, readable through the app."""
    from diary import create_app
    from tests.factories import give_consent

    course = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course)
    stop, writing = threading.Event(), threading.Event()

    def writer():
        from diary.db import connect as open_db

        conn = open_db(app.config["DATABASE"])
        i = 0
        while not stop.is_set() and i < 3000:
            seed.insert_entry(
                conn, course, date(1980, 1, 1) + timedelta(days=i), f"rd-{i}", i % 11, 10
            )
            i += 1
            if i == 50:
                writing.set()
        writing.set()

    thread = threading.Thread(target=writer)
    thread.start()
    writing.wait(timeout=10)
    try:
        out = runner.invoke(args=["backup", str(tmp_path / "drill.sqlite")])
    finally:
        stop.set()
        thread.join()
    assert out.exit_code == 0, out.output
    copied = sqlite3.connect(tmp_path / "drill.sqlite")
    expected = {
        t: copied.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
        for t in ("clinics", "patients", "courses", "consents", "diary_entries", "audit_events")
    }
    copied.close()
    restored = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "drill",
            "DATABASE": str(tmp_path / "drill.sqlite"),
            "INSTANCE_PATH": str(tmp_path / "drill-instance"),
        }
    )
    client = restored.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    from diary.db import connect as open_db

    live = open_db(tmp_path / "drill.sqlite")
    assert {
        t: live.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
        for t in expected
    } == expected
    assert expected["diary_entries"] > 0 and expected["consents"] == 1
    assert live.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert login(client, world.clinician_a).status_code == 302
    assert "A-001" in client.get("/clinic/patients").get_data(as_text=True)
