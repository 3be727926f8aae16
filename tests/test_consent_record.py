"""Consent that stands up (issue 15): versions that explain themselves, a tamper-evident
audit trail, a consent text no setting can forge, one consent per agreement, and names and
numbers that read right in right-to-left text."""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import sqlite3
import subprocess
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import limits
import pytest
from flask_babel import force_locale

from diary import clock, create_app, pdf, sheet
from diary.db import connect
from diary.queries import accounts, audit, consents, patients
from tests.factories import give_consent
from tests.helpers import csrf_from, login, open_link, visible

DATA = Path(__file__).parent / "data"


# --- versions: material and minor, and "what changed" --------------------------------------


def test_only_a_material_revision_asks_for_a_new_consent(monkeypatch):
    assert sheet.REVISIONS[sheet.SHEET_VERSION] == "material"  # version 2 is material
    assert sheet.needs_new_consent(1) and not sheet.needs_new_consent(2)
    monkeypatch.setitem(sheet.REVISIONS, 3, "minor")
    assert not sheet.needs_new_consent(2, 3)  # a typo fix keeps version 2 consents valid
    assert sheet.needs_new_consent(1, 3)  # version 2 in between was material
    record = {"kind": "consent", "sheet_version": 2}
    assert consents.state(record, 3) == "active"
    monkeypatch.setitem(sheet.REVISIONS, 3, "material")
    assert consents.state(record, 3) == "outdated"


def _consent_to_v1(db, course, locale="en"):
    """A consent to the real version 1 sheet (its text as patients saw it, kept in
    tests/data from the version 1 code)."""
    return consents.give(
        db, course, sheet_version=1, locale=locale,
        text=(DATA / f"sheet_v1_{locale}.txt").read_text(encoding="utf-8"),
        agreements={"treatment": True, "data": True, "evaluation": False},
        full_name="Maria Rossi", signature_png=None, user_agent="pytest",
    )  # fmt: skip


@pytest.fixture
def phone(app, world, db):
    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_a])
    client = app.test_client()
    open_link(client, world.token_a)
    return client


def test_a_patient_who_agreed_to_v1_first_sees_what_changed(phone, db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    _consent_to_v1(db, course)
    start = phone.get("/consent/?lang=en").get_data(as_text=True)
    assert "has been updated" in start and 'href="/consent/changes"' in start
    page = visible(phone.get("/consent/changes?lang=en").get_data(as_text=True))
    assert "What changed since you agreed" in page
    assert "You agreed to version 1" in page and "This is version 2" in page
    changes = page[page.index('class="changes"') :]
    # what version 1 played down, struck through, and what replaced it
    v1_effects = "These are common where the needle went in. They are mild and do not last:"
    assert f"<del>{v1_effects}</del>" in changes
    assert "<ins>These are common where the needle went in. They are usually mild" in changes
    assert "<del>An allergic reaction to the medicine is rare but can be serious." in changes
    assert "haematoma" in changes
    v1_withdraw = "If you do, the diary stops. What you wrote before stays in your record."
    assert f"<del>{v1_withdraw} It is not deleted.</del>" in changes
    # an unchanged passage is not listed
    assert "You can have it together with other care, such as physiotherapy." not in changes
    assert 'href="/consent/sheet/1"' in page  # then the usual steps
    events = [e for e in audit.for_course(db, course) if e["action"] == "consent.changes_shown"]
    assert events and events[-1]["detail"] == {"from_version": 1, "sheet_version": 2}


def test_the_changes_page_is_only_for_an_outdated_consent(phone, db, world):
    assert phone.get("/consent/changes").headers["Location"] == "/consent/"  # none yet
    give_consent(db, patients.current_course(db, world.patient_a)["id"])
    assert phone.get("/consent/changes").headers["Location"] == "/consent/"  # up to date


def test_changes_by_hand():
    agreed = "## A\n> one\n\nkept\n\nold line\n\n## B\n> two\n\n- x\n- y"
    current = "## A\n> one\n\nkept\n\nnew line\n\n## B\n> two\n\n- x\n- y\n- z"
    found = sheet.changes(agreed, current)
    assert found == [
        sheet.Change("A", ["old line"], ["new line"]),
        sheet.Change("B", [], ["z"]),
    ]
    assert sheet.changes(current, current) == []
    # the same words with the isolates v2 puts around clinic values: no change
    isolated = current.replace("kept", "\u2068kept\u2069")
    assert sheet.changes(current, isolated) == []


# --- the audit trail: a hash chain; consents and events cannot be replaced -----------------


def test_replace_cannot_overwrite_a_consent_or_an_audit_event(db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    consent_id = give_consent(db, course)
    before = db.execute("SELECT text_sha256 FROM consents WHERE id = ?", [consent_id]).fetchone()
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute(
            "INSERT OR REPLACE INTO consents (id, course_id, kind, sheet_version, locale,"
            " text_sha256, created_at) VALUES (?, ?, 'consent', 2, 'en', 'forged', 'now')",
            [consent_id, course],
        )
    after = db.execute("SELECT text_sha256 FROM consents WHERE id = ?", [consent_id]).fetchone()
    assert before == after
    first = db.execute("SELECT min(id) FROM audit_events").fetchone()[0]
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute(
            "REPLACE INTO audit_events (id, at, actor, action) VALUES (?, 'x', 'system', 'x')",
            [first],
        )


def test_each_event_chains_to_the_one_before(db, world):
    rows = list(db.query("SELECT * FROM audit_events ORDER BY id"))
    assert len(rows) >= 3
    assert rows[0]["prev_hash"] == audit.GENESIS
    for before, row in zip(rows, rows[1:], strict=False):
        assert row["prev_hash"] == before["hash"]
        assert row["hash"] == audit.event_hash(row["prev_hash"], row)
    assert audit.verify(db) == (len(rows), None)


def _tampered_copy(db, tmp_path, statements):
    path = tmp_path / "tampered.sqlite"
    target = sqlite3.connect(path)
    db.conn.backup(target)
    target.execute("DROP TRIGGER audit_events_no_update")
    target.execute("DROP TRIGGER audit_events_no_delete")
    for sql, params in statements:
        target.execute(sql, params)
    target.commit()
    target.close()
    return path


@pytest.mark.parametrize(
    "tamper",
    [
        ("UPDATE audit_events SET detail = ? WHERE id = ?", ['{"forged": true}', 3]),
        ("UPDATE audit_events SET at = ? WHERE id = ?", ["2020-01-01T00:00:00+00:00", 3]),
        ("DELETE FROM audit_events WHERE id = ?", [3]),
    ],
    ids=["edited", "backdated", "removed"],
)
def test_audit_verify_passes_and_fails_on_a_tampered_copy(app, db, world, tmp_path, tamper):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    copy = _tampered_copy(db, tmp_path, [tamper])
    tampered = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE": str(copy)})
    result = tampered.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    # an edited event breaks at itself; a removed one at the event after it
    assert (
        "BROKEN at event 3" in result.output
        if tamper[0].startswith("UPDATE")
        else ("BROKEN at event 4" in result.output)
    )
    assert audit.verify(connect(copy))[1] in (3, 4)


def test_a_forged_event_appended_with_any_hash_breaks_the_chain(db, world, tmp_path):
    last = db.execute("SELECT max(id) FROM audit_events").fetchone()[0]
    copy = _tampered_copy(
        db, tmp_path,
        [("INSERT INTO audit_events (id, at, actor, action, detail, prev_hash, hash)"
          " VALUES (?, 'x', 'system', 'consent.given', '{}', 'f00', 'f00')", [last + 1])],
    )  # fmt: skip
    assert audit.verify(connect(copy)) == (last, last + 1)


# --- the consent text cannot be forged through settings ------------------------------------

FORGED = "Clinic A\n- I agree to give my organs for research.\n## Extra"


def test_a_clinic_name_with_line_breaks_stays_data_in_the_consent_text(app, db, world):
    """Even a name stored with line breaks (an old row, an import): the canonical text
    keeps three statements, and the name stays inside the first one."""
    clinic = dict(accounts.get_clinic(db, world.clinic_a), name=FORGED)
    with app.test_request_context(), force_locale("en"):
        text = sheet.canonical_text(clinic)
    body, statements = sheet.split_statements(sheet.parse(text))
    assert [key for key, _text in statements] == list(sheet.AGREEMENTS)
    assert len(sheet.parse(text)) == len(sheet.sections(clinic)) + 1  # no "Extra" section
    assert not any(line.startswith(("- I agree to give", "## Extra")) for line in text.split("\n"))
    assert "\u2068Clinic A - I agree to give my organs for research. ## Extra\u2069" in text
    assert len(body) == 10


@pytest.mark.parametrize(
    "name",
    [FORGED, "Clinic\x00A", "Clinic \u202eA evil", "Clinic \u2066A", "Clinic\u2028A"],
    ids=["newline", "nul", "rlo", "lri", "line-separator"],
)
def test_settings_refuse_hidden_characters_in_names(app, db, world, name):
    admin = app.test_client()
    login(admin, world.admin_a)
    page = admin.get("/clinic/settings?lang=en").get_data(as_text=True)
    fields = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', page))
    data = {
        "csrf_token": csrf_from(page), "name": name, "phone": "+39 06 1111",
        "locale": "it", "timezone": "Europe/Rome", "session_interval_days": "7",
        "paper_size": "A4", "drugs": "lidocaine", "needle": fields.get("needle", ""),
    }  # fmt: skip
    response = admin.post("/clinic/settings", data=data)
    assert response.status_code == 200
    assert "Remove the hidden characters" in response.get_data(as_text=True)
    assert accounts.get_clinic(db, world.clinic_a)["name"] == "Clinic A"


def _settings_data(page: str, **changes: str) -> dict[str, str]:
    """The settings form as the page holds it (text inputs, selects, the drug list)."""
    data = dict(re.findall(r'<input[^>]*name="([\w-]+)"[^>]*value="([^"]*)"', page))
    data.update(re.findall(r'<select[^>]*name="(\w+)".*?selected[^>]*value="([^"]*)"', page, re.S))
    data.update(re.findall(r'<select[^>]*name="(\w+)".*?value="([^"]*)"[^>]*selected', page, re.S))
    data["drugs"] = html.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S)[1])
    data.update(changes)
    return {k: html.unescape(v) for k, v in data.items()}


def _whole_sheet(client, db, world, locale: str) -> str:
    count = len(sheet.sections(accounts.get_clinic(db, world.clinic_a)))
    return "".join(
        visible(client.get(f"/consent/sheet/{n}?lang={locale}").get_data(as_text=True))
        for n in range(1, count + 1)
    )


def test_each_drug_has_the_clinic_s_own_name_per_language(app, db, world):
    admin = app.test_client()
    login(admin, world.admin_a)
    page = admin.get("/clinic/settings?lang=en").get_data(as_text=True)
    data = _settings_data(page, drugs="mepivacaine 1%\nTraumeel\nthiocolchicoside")
    assert admin.post("/clinic/settings", data=data).status_code == 302
    page = admin.get("/clinic/settings?lang=en").get_data(as_text=True)
    # one row per drug, a labelled box per language, the standard name as the placeholder
    rows = re.findall(r'name="drug_names-(\d+)-drug"[^>]*value="([^"]*)"', page)
    assert [d for _i, d in rows] == ["mepivacaine 1%", "Traumeel", "thiocolchicoside"]
    assert 'placeholder="mepivacaina 1%"' in page and 'placeholder="甲哌卡因 1%"' in page
    assert re.search(r'<label[^>]*for="drug_names-1-zh_Hans"[^>]*>Traumeel · ', page)
    data = _settings_data(
        page, **{"drug_names-0-ar": "ميبيفاكائين ١٪", "drug_names-1-zh_Hans": "特劳麦",
                 "drug_names-1-ar": "  "},
    )  # fmt: skip
    assert admin.post("/clinic/settings", data=data).status_code == 302
    clinic = accounts.get_clinic(db, world.clinic_a)
    assert clinic["drug_names"] == {
        "mepivacaine 1%": {"ar": "ميبيفاكائين ١٪"}, "Traumeel": {"zh_Hans": "特劳麦"},
    }  # fmt: skip
    patient = app.test_client()
    open_link(patient, world.token_a)
    arabic = _whole_sheet(patient, db, world, "ar")
    assert "ميبيفاكائين ١٪" in arabic and "ثيوكولشيكوسيد" in arabic and "Traumeel" in arabic
    chinese = _whole_sheet(patient, db, world, "zh_Hans")
    assert "特劳麦" in chinese and "甲哌卡因 1%" in chinese
    italian = _whole_sheet(patient, db, world, "it")
    assert "mepivacaina 1%" in italian and "tiocolchicoside" in italian
    assert "Traumeel" in italian and "特劳麦" not in italian
    # a drug taken off the list takes its names with it
    page = admin.get("/clinic/settings?lang=en").get_data(as_text=True)
    data = _settings_data(page, drugs="mepivacaine 1%")
    assert admin.post("/clinic/settings", data=data).status_code == 302
    assert accounts.get_clinic(db, world.clinic_a)["drug_names"] == {
        "mepivacaine 1%": {"ar": "ميبيفاكائين ١٪"}
    }


def test_a_drug_name_with_hidden_characters_is_refused(app, db, world):
    admin = app.test_client()
    login(admin, world.admin_a)
    page = admin.get("/clinic/settings?lang=en").get_data(as_text=True)
    data = _settings_data(page, drugs="lidocaine")
    admin.post("/clinic/settings", data=data)
    page = admin.get("/clinic/settings?lang=en").get_data(as_text=True)
    response = admin.post(
        "/clinic/settings", data=_settings_data(page, **{"drug_names-0-ar": "ليدو\u202eكائين"})
    )
    assert "Remove the hidden characters" in response.get_data(as_text=True)
    assert accounts.get_clinic(db, world.clinic_a)["drug_names"] == {}


def test_the_cli_refuses_hidden_characters_in_names(runner, db):
    out = runner.invoke(
        args=["clinic", "create", "--name", "A\u202eB", "--timezone", "Europe/Rome"]
    )
    assert out.exit_code != 0 and "direction-override" in out.output
    assert db.execute("SELECT count(*) FROM clinics").fetchone()[0] == 0


# --- one consent per agreement ---------------------------------------------------------------


def test_giving_the_same_consent_twice_stores_one(db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    first = give_consent(db, course)
    assert give_consent(db, course) == first
    assert db.execute("SELECT count(*) FROM consents").fetchone()[0] == 1


def test_parallel_i_agree_posts_under_gunicorn_store_one_consent(tmp_path):
    """Eight "I agree" POSTs at once, over eight connections to two gunicorn workers."""
    from diary import migrations
    from tests.live_server import Session, app_env, free_port, start_gunicorn

    db = connect(tmp_path / "c.sqlite")
    migrations.apply(db)
    clinic = accounts.create_clinic(db, "C", timezone="Europe/Rome")
    patient = patients.create_patient(db, clinic, "P-1", locale="en")
    course = patients.create_course(db, patient, "knee", "2026-11-01")
    token = patients.issue_link(db, patient)
    consents.record_screening(db, course, sheet.SHEET_VERSION, {"allergy": ("no", "")})
    consents.record_quiz(db, course, sheet.SHEET_VERSION, {}, [])
    db.conn.close()
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    server = start_gunicorn(
        "diary:create_app()", port, app_env(tmp_path, "c.sqlite"), root, workers=2, threads=4
    )
    try:
        phone = Session(port)
        _status, page = phone.request("GET", f"/p/{token}")
        phone.form(f"/p/{token}", {})
        status, review = phone.form(
            "/consent/agree", {"treatment": "y", "data": "y", "full_name": "Maria Rossi"}
        )
        assert status == 200, review[:300]
        fields = dict(re.findall(rb'<input type="hidden" name="(\w+)" value="([^"]*)">', review))
        fields[b"csrf_token"] = re.search(
            rb'name="csrf_token" type="hidden" value="([^"]+)"', review
        ).group(1)
        body = "&".join(f"{k.decode()}={v.decode()}" for k, v in fields.items()).encode()
        results: list[int] = []
        barrier = threading.Barrier(8)

        def agree() -> None:
            s = Session(port)
            s.cookie = phone.cookie
            barrier.wait()
            status, _ = s.request(
                "POST", "/consent/confirm", body,
                {"Content-Type": "application/x-www-form-urlencoded",
                 "Origin": f"http://127.0.0.1:{port}"},
            )  # fmt: skip
            results.append(status)
            s.close()

        threads = [threading.Thread(target=agree) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert len(results) == 8 and set(results) <= {302, 303}, results
    finally:
        import os
        import signal

        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    check = connect(tmp_path / "c.sqlite")
    assert check.execute("SELECT count(*) FROM consents").fetchone()[0] == 1
    given = check.execute("SELECT count(*) FROM audit_events WHERE action = 'consent.given'")
    assert given.fetchone()[0] == 1
    assert audit.verify(check)[1] is None  # parallel writers kept the chain whole


# --- numbers and Latin runs in right-to-left text ------------------------------------------


def _words(data: bytes, tmp_path) -> list[tuple[float, float, str]]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [
        (float(x), (float(y0) + float(y1)) / 2, w)
        for x, y0, y1, w in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>',
            boxes,
        )
    ]


def test_the_arabic_consent_copy_prints_the_phone_as_typed(app, db, world, tmp_path):
    """The Arabic sheet says "call the clinic on +39 06 1111": the number's parts read
    left to right in the PDF copy (it extracted as ".0100 5555 06 39+")."""
    course = patients.current_course(db, world.patient_a)["id"]
    clinic = accounts.get_clinic(db, world.clinic_a)
    db.execute("UPDATE clinics SET phone = '+39 06 5555 0100' WHERE id = ?", [world.clinic_a])
    clinic = accounts.get_clinic(db, world.clinic_a)
    with app.test_request_context(), force_locale("ar"):
        text = sheet.canonical_text(clinic)
    assert "\u2066+39 06 5555 0100\u2069" in text
    consent_id = consents.give(
        db, course, sheet_version=sheet.SHEET_VERSION, locale="ar", text=text,
        agreements={"treatment": True, "data": True}, full_name="مريم", signature_png=None,
        user_agent="pytest",
    )  # fmt: skip
    with app.test_request_context():
        data = pdf.consent_pdf(consents.get(db, consent_id), clinic)
    words = [(x, y, w.strip(".،")) for x, y, w in _words(data, tmp_path)]
    lines = [y for x, y, w in words if w == "5555"]
    assert len(lines) >= 2, "the phone number is not in the header and the sheet"
    for y in lines:  # a sentence's full stop may cling to the number: "+39" or ".+39"
        row = {w: x for x, yy, w in words if abs(yy - y) < 4 and w in ("+39", "06", "5555", "0100")}
        assert row["+39"] < row["06"] < row["5555"] < row["0100"], row


def test_pages_isolate_the_phone_in_the_arabic_sheet(app, db, world):
    db.execute("UPDATE patients SET locale = 'ar' WHERE id = ?", [world.patient_a])
    client = app.test_client()
    open_link(client, world.token_a)
    contact = len(sheet.sections(accounts.get_clinic(db, world.clinic_a)))
    page = client.get(f"/consent/sheet/{contact}?lang=ar").get_data(as_text=True)
    assert "\u2066+39 06 1111\u2069" in page
    assert json.dumps(page)  # the page renders


# --- kinder steps ---------------------------------------------------------------------------


def test_read_again_returns_to_the_quiz_with_the_right_answers_kept(phone, db, world):
    """One wrong answer (sessions): "Read this part again" opens its part with a way
    straight back to the questions, and the three right answers are still chosen."""
    from tests.test_consent import ALL_RIGHT, answer_screening, post_form

    answer_screening(phone)
    wrong = dict(ALL_RIGHT, sessions="once")
    page = post_form(phone, "/consent/quiz", wrong).get_data(as_text=True)
    link = re.search(r'href="(/consent/sheet/\d+\?back=quiz)"', page).group(1)
    section = phone.get(link).get_data(as_text=True)
    assert 'href="/consent/quiz"' in section and "Back to the questions" in section
    assert '<form method="post" class="pager">' not in section  # no "Next" onwards
    quiz = phone.get("/consent/quiz").get_data(as_text=True)
    chosen = {
        re.search(r'name="(\w+)"', tag).group(1): re.search(r'value="(\w+)"', tag).group(1)
        for tag in re.findall(r"<input[^>]*>", quiz)
        if 'type="radio"' in tag and "checked" in tag
    }
    assert chosen == {"works": "maybe", "side_effects": "local", "withdraw": "any_time"}


def test_every_consent_step_has_a_way_back(phone, db, world):
    from tests.test_consent import answer_screening, pass_quiz

    screening = phone.get("/consent/screening").get_data(as_text=True)
    assert "Back to the information" in screening and 'href="/consent/sheet/10"' in screening
    answer_screening(phone)
    quiz = phone.get("/consent/quiz").get_data(as_text=True)
    assert 'href="/consent/screening"' in quiz
    pass_quiz(phone)
    agree = phone.get("/consent/agree").get_data(as_text=True)
    assert 'href="/consent/quiz"' in agree and "Back to the questions" in agree


def test_after_withdrawal_there_is_a_link_home(phone, db, world):
    from tests.test_consent import post_form

    course = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course)
    done = post_form(phone, "/consent/withdraw", {"confirm": "y"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "You took back your consent" in page and 'href="/home"' in page


# --- who explained it: the countersignature -------------------------------------------------


def _countersign(staff, course, **fields):
    page = staff.get(f"/clinic/courses/{course}?lang=en").get_data(as_text=True)
    action = re.search(r'action="(/clinic/consents/\d+/countersign)"', page).group(1)
    return staff.post(action, data={"csrf_token": csrf_from(page), **fields})


def test_a_clinician_countersigns_with_interpreter_witness_and_representative(
    app, db, world, tmp_path
):
    course = patients.current_course(db, world.patient_a)["id"]
    consent_id = give_consent(db, course)
    staff = app.test_client()
    login(staff, world.clinician_a)
    dashboard = staff.get("/clinic/?lang=en").get_data(as_text=True)
    assert "consent not yet countersigned" in dashboard
    page = staff.get(f"/clinic/courses/{course}?lang=en").get_data(as_text=True)
    assert "Not yet countersigned by the clinician." in page
    # the statement must be ticked; an interpreter needs a language
    refused = _countersign(staff, course, interpreter_name="Li Wei")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Tick this box to countersign." in text and "Enter the language the interpreter" in text
    assert consents.countersignature(db, consent_id) is None
    done = _countersign(
        staff, course, confirm="y", interpreter_name="Li Wei", interpreter_language="中文",
        witness_name="Anna <b>Bianchi</b>", representative_name="مريم",
        representative_relationship="daughter",
    )  # fmt: skip
    assert done.status_code == 302
    signed = consents.countersignature(db, consent_id)
    assert signed["clinician_name"] == "Dario Doc"
    assert signed["statement"] == "I discussed this with the patient and answered their questions."
    page = staff.get(f"/clinic/courses/{course}?lang=en").get_data(as_text=True)
    assert "Countersigned by" in page and "Dario Doc" in page
    assert "Anna &lt;b&gt;Bianchi&lt;/b&gt;" in page and "<b>Bianchi" not in page
    assert "consent not yet countersigned" not in staff.get("/clinic/?lang=en").get_data(
        as_text=True
    )
    events = [e for e in audit.for_course(db, course) if e["action"] == "consent.countersigned"]
    assert events[0]["detail"] == {
        "consent_id": consent_id,
        "interpreter": True,
        "witness": True,
        "representative": True,
    }  # fmt: skip — no names in the trail
    # a second countersignature is not stored
    again = _countersign_direct(staff, consent_id)
    assert again.status_code == 302
    assert db.execute("SELECT count(*) FROM consent_countersignatures").fetchone()[0] == 1
    # the consent PDF names everyone
    pdf_data = staff.get(f"/clinic/consents/{consent_id}.pdf").data
    words = " ".join(w for _x, _y, w in _words(pdf_data, tmp_path))
    for name in ("Dario", "Doc", "Li", "Wei", "Bianchi", "daughter"):
        assert name in words, name
    # FHIR: a Provenance of the Consent with the clinician as attester
    bundle = staff.get(f"/clinic/courses/{course}/fhir.json").get_json()
    provenance = [e["resource"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "Provenance"]  # fmt: skip
    assert len(provenance) == 1
    agents = {a["who"]["display"]: a["type"] for a in provenance[0]["agent"]}
    assert agents["Dario Doc"]["coding"][0]["code"] == "attester"
    assert agents["Li Wei"]["text"] == "interpreter (中文)"
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)


def _countersign_direct(staff, consent_id):
    page = staff.get("/clinic/?lang=en").get_data(as_text=True)
    return staff.post(
        f"/clinic/consents/{consent_id}/countersign",
        data={"csrf_token": csrf_from(page), "confirm": "y"},
    )


def test_countersignatures_are_append_only_and_scoped(app, db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    consent_id = give_consent(db, course)
    other = app.test_client()
    login(other, world.clinician_b)
    assert _countersign_direct(other, consent_id).status_code == 404
    staff = app.test_client()
    login(staff, world.clinician_a)
    _countersign_direct(staff, consent_id)
    for sql in (
        "UPDATE consent_countersignatures SET clinician_name = 'x'",
        "DELETE FROM consent_countersignatures",
        "INSERT OR REPLACE INTO consent_countersignatures (id, consent_id, clinician_id,"
        " clinician_name, statement, created_at) VALUES (1, 1, 1, 'x', 'x', 'x')",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)


# --- receipts anyone can verify -------------------------------------------------------------


def _copy_code(app, db, world, consent_id, tmp_path):
    """The code printed on the consent's PDF copy (read from the PDF's words)."""
    staff = app.test_client()
    login(staff, world.clinician_a)
    data = staff.get(f"/clinic/consents/{consent_id}.pdf").data
    words = [w for _x, _y, w in _words(data, tmp_path)]
    codes = [w for w in words if re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", w)]
    assert len(set(codes)) == 1, words[:40]
    assert any("/verify?code=" + codes[0] in w for w in words)  # the URL the QR code holds
    return codes[0]


def _verify(client, code):
    return visible(client.get(f"/verify?code={code}&lang=en").get_data(as_text=True))


def test_the_pdf_code_verifies_without_names(app, db, world, tmp_path):
    course = patients.current_course(db, world.patient_a)["id"]
    consent_id = give_consent(db, course, name="Maria Rossi")
    code = _copy_code(app, db, world, consent_id, tmp_path)
    assert code == consents.receipt_code(db, consent_id)  # one code per consent, kept
    anyone = app.test_client()
    page = _verify(anyone, code)
    assert "Valid consent" in page and "Clinic A" in page
    assert consents.get(db, consent_id)["text_sha256"] in page
    assert "Maria" not in page and "A-001" not in page and "Rossi" not in page
    # the time it was given, in the clinic's time zone (the page has no user to ask)
    given = clock.parse(consents.get(db, consent_id)["created_at"])
    rome = given.astimezone(ZoneInfo("Europe/Rome"))
    # (to the minute, as a person says it: no seconds, no "+0100")
    assert re.search(rf"{rome:%-I:%M}\s{rome:%p}", page)
    assert not re.search(rf"{given:%-I:%M}\s{given:%p}", page)
    assert not re.search(r"[+-]\d{4}\b", page.split("Given on", 1)[1][:200])
    # typed loosely: lower case, no dashes, O for 0 and I/L for 1
    loose = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert "Valid consent" in _verify(anyone, loose)
    assert "Unknown code" in _verify(anyone, "ZZZZ-ZZZZ-ZZZZ")


def test_verification_follows_what_came_after(app, db, world, tmp_path, monkeypatch):
    course = patients.current_course(db, world.patient_a)["id"]
    first_id = give_consent(db, course)
    code = consents.receipt_code(db, first_id)
    anyone = app.test_client()
    monkeypatch.setitem(sheet.REVISIONS, 3, "material")
    monkeypatch.setattr(sheet, "SHEET_VERSION", 3)
    assert "a new consent is needed" in _verify(anyone, code)
    monkeypatch.undo()
    consents.withdraw(db, course, locale="en", text="w", user_agent="pytest")
    assert "Withdrawn on" in _verify(anyone, code)
    give_consent(db, course)  # consented again after the withdrawal
    assert "Withdrawn on" in _verify(anyone, code)  # this consent stays withdrawn
    second = consents.latest(db, course)["id"]
    assert "Valid consent" in _verify(anyone, consents.receipt_code(db, second))


def _limit(app, name: str) -> int:
    """How many requests the ``RATE_LIMIT_<name>`` setting allows in its window."""
    return limits.parse(app.config[f"RATE_LIMIT_{name}"]).amount


def test_verification_is_rate_limited(app, db, world):
    VERIFY_MAX = _limit(app, "VERIFY")
    anyone = app.test_client()
    for _ in range(VERIFY_MAX):
        assert anyone.get("/verify?code=AAAA-BBBB-CCCC").status_code == 200
    assert anyone.get("/verify?code=AAAA-BBBB-CCCC").status_code == 429
    assert anyone.get("/verify").status_code == 200  # the empty form is not counted


def test_codes_are_append_only(db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    consents.receipt_code(db, give_consent(db, course))
    for sql in ("UPDATE consent_codes SET code = 'X'", "DELETE FROM consent_codes"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)


def test_replace_cannot_swap_a_code(db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    consent_id = give_consent(db, course)
    code = consents.normalize_code(consents.receipt_code(db, consent_id))
    for sql, args in (
        ("INSERT OR REPLACE INTO consent_codes VALUES (?, 'ZZZZZZZZZZZZ', 'x')", [consent_id]),
        ("INSERT OR REPLACE INTO consent_codes VALUES (999, ?, 'x')", [code]),
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql, args)
    assert consents.normalize_code(consents.receipt_code(db, consent_id)) == code


def _upload(client, data: bytes, name="consent.pdf"):
    """POST a file to /verify with the form's CSRF token; the page's visible text."""
    token = csrf_from(client.get("/verify?lang=en").get_data(as_text=True))
    response = client.post(
        "/verify?lang=en",
        data={"csrf_token": token, "copy": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    return response.status_code, visible(response.get_data(as_text=True))


def test_an_uploaded_copy_verifies_and_a_changed_one_does_not(app, db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    consent_id = give_consent(db, course, name="Maria Rossi")
    staff = app.test_client()
    login(staff, world.clinician_a)
    copy = staff.get(f"/clinic/consents/{consent_id}.pdf").data
    anyone = app.test_client()
    status, page = _upload(anyone, copy)
    assert status == 200
    assert "This file is an unchanged copy" in page and "Valid consent" in page
    assert consents.get(db, consent_id)["text_sha256"] in page
    assert "Maria" not in page and "A-001" not in page
    # one byte changed anywhere (here inside the file, past the header) no longer matches
    changed = copy[:200] + bytes([copy[200] ^ 1]) + copy[201:]
    status, page = _upload(anyone, changed)
    assert "does not match any copy" in page and "Valid consent" not in page
    assert _upload(anyone, b"hello, not a pdf")[1].count("Not a PDF file") == 1
    # the file itself is never stored: only fingerprints of the copies handed out
    stored = [r[0] for r in db.execute("SELECT sha256 FROM consent_copies")]
    assert stored == [hashlib.sha256(copy).hexdigest()]
    # a withdrawal later shows on the same file
    consents.withdraw(db, course, locale="en", text="w", user_agent="pytest")
    assert "Withdrawn on" in _upload(anyone, copy)[1]


def test_an_upload_needs_the_form_token_and_a_file(app, db, world):
    anyone = app.test_client()
    no_token = anyone.post(
        "/verify?lang=en",
        data={"copy": (io.BytesIO(b"%PDF-1.7"), "c.pdf")},
        content_type="multipart/form-data",
    )
    assert no_token.status_code == 400
    token = csrf_from(anyone.get("/verify?lang=en").get_data(as_text=True))
    empty = anyone.post("/verify?lang=en", data={"csrf_token": token})
    assert empty.status_code == 400
    assert "Choose the PDF file of the consent copy." in visible(empty.get_data(as_text=True))


def test_uploads_count_against_the_same_limit(app, db, world):
    VERIFY_MAX = _limit(app, "VERIFY")
    anyone = app.test_client()
    for _ in range(VERIFY_MAX):
        assert _upload(anyone, b"%PDF-1.7 nothing")[0] == 200
    assert _upload(anyone, b"%PDF-1.7 nothing")[0] == 429


def test_copies_are_append_only(app, db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    consent_id = give_consent(db, course)
    consents.record_copy(db, consent_id, b"%PDF-one")
    consents.record_copy(db, consent_id, b"%PDF-one")  # the same file twice: one row
    assert db.execute("SELECT count(*) FROM consent_copies").fetchone()[0] == 1
    for sql in (
        "UPDATE consent_copies SET sha256 = 'x'",
        "DELETE FROM consent_copies",
        "INSERT OR REPLACE INTO consent_copies (id, consent_id, sha256, created_at)"
        " VALUES (1, 1, 'y', 'z')",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)


# --- comprehension by language ---------------------------------------------------------------


def test_miss_rates_by_hand():
    """Version 2: English 10 first tries, 1 missed "works" (10 %); Italian 4 tries, 1 missed
    "works" (25 %: 2.5x, marked) and 0 "sessions"; Arabic 5 tries, 1 missed "works" (20 %:
    exactly 2x, marked) and 1 "sessions" (20 %, English 0 %: marked). Version 1 has no
    English tries: nothing marked."""
    from diary import comprehension

    def tries(version, locale, wrongs):
        return [{"sheet_version": version, "locale": locale, "wrong": w} for w in wrongs]

    attempts = (
        tries(2, "en", [["works"]] + [[]] * 9)
        + tries(2, "it", [["works"], [], [], []])
        + tries(2, "ar", [["works"], ["sessions"], [], [], []])
        + tries(1, "fr", [["works"], ["works"]])
    )
    rates = {(r.version, r.locale, r.question): r for r in
             comprehension.miss_rates(attempts, ["works", "sessions"])}  # fmt: skip
    assert (rates[(2, "en", "works")].tries, rates[(2, "en", "works")].misses) == (10, 1)
    assert rates[(2, "it", "works")].marked and not rates[(2, "it", "sessions")].marked
    assert rates[(2, "ar", "works")].marked and rates[(2, "ar", "sessions")].marked
    assert not rates[(2, "en", "works")].marked
    assert not rates[(1, "fr", "works")].marked and rates[(1, "fr", "works")].misses == 2
    order = [(r.version, r.locale) for r in comprehension.miss_rates(attempts, ["works"])]
    assert order == [(1, "fr"), (2, "en"), (2, "ar"), (2, "it")]


def test_the_cohort_view_shows_first_try_misses_by_language(app, db, world):
    """Only first tries count: a second attempt by the same patient does not."""
    courses_ = []
    for k, locale in enumerate(["en", "en", "it"]):
        patient = patients.create_patient(db, world.clinic_a, f"Q-{k}", locale=locale)
        courses_.append(patients.create_course(db, patient, "knee", "2026-11-01"))
    v = sheet.SHEET_VERSION
    consents.record_quiz(db, courses_[0], v, {}, [], locale="en")
    consents.record_quiz(db, courses_[1], v, {}, ["works"], locale="en")
    consents.record_quiz(db, courses_[1], v, {}, [], locale="en")  # second try: not counted
    consents.record_quiz(db, courses_[2], v, {}, ["works"], locale="it")
    staff = app.test_client()
    login(staff, world.clinician_a)
    page = staff.get("/clinic/cohort?lang=en").get_data(as_text=True)
    section = page[page.index('id="comprehension-heading"') :]
    rows = re.findall(r"<tr><td>\d+</td><th scope=\"row\">(.*?)</th>(.*?)</tr>", section, re.S)
    cells = {name: re.findall(r"<td[^>]*>(.*?)</td>", rest, re.S) for name, rest in rows}
    assert re.sub(r"<[^>]+>", "", cells["English"][0]) == "2"  # first tries
    assert cells["English"][1].startswith("50%")  # 1 of 2 missed "works"
    assert cells["Italiano"][1].startswith("100%") and "⚑" in cells["Italiano"][1]
    assert "⚑" not in cells["English"][1]
