"""Data rights and interoperability: the patient's own export, clinicians' CSV, FHIR R4,
erasure on request and purging after the retention period."""

import csv
import io
import json
from datetime import timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from flask_babel import force_locale, gettext

from diary import clock, exports
from diary.queries import consents, entries, patients, seed, treatments
from tests.factories import give_consent
from tests.helpers import csrf_from, enrol_totp, login, open_link


@pytest.fixture
def course(db, world):
    """Patient A's course: consented, two sessions, three diary days (one with a note)."""
    course_id = patients.current_course(db, world.patient_a)["id"]
    start = clock.today("Europe/Rome") - timedelta(days=6)  # clinic A's today
    db.execute("UPDATE courses SET start_date = ? WHERE id = ?", [start.isoformat(), course_id])
    give_consent(db, course_id, locale="it")
    treatments.add_session(
        db,
        course_id,
        start.isoformat(),
        nrs_before=8,
        area="neck",
        drugs=[{"name": "lidocaine", "dose": "20 mg", "volume_ml": 2.0}],
        adverse_events="small bruise",
    )
    treatments.add_session(db, course_id, (start + timedelta(days=5)).isoformat(), nrs_before=5)
    for k, (avg, note) in enumerate([(7, ""), (6, '=HYPERLINK("http://x")'), (4, "ok")]):
        seed.insert_entry(
            db,
            course_id,
            (start + timedelta(days=k + 1)).isoformat(),
            f"e-{k}",
            avg,
            avg + 1,
            note=note,
            late=k == 1,
            site_effects=["redness"] if k == 0 else [],
        )
    return course_id


def parse_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


# --- the patient's own export ---------------------------------------------------------------


def test_patient_downloads_everything_about_them(app, db, world, course):
    phone = app.test_client()
    open_link(phone, world.token_a)
    home = phone.get("/home").get_data(as_text=True)
    assert "/me/export.json" in home and "/me/export.csv" in home
    data = json.loads(phone.get("/me/export.json").data)
    assert data["patient"]["code"] == "A-001"
    [exported] = data["courses"]
    assert [d["average_pain"] for d in exported["diary"]] == [7, 6, 4]
    assert exported["diary"][0]["injection_site"] == "Rossore"  # labels in Italian
    assert [s["date"] for s in exported["sessions"]] == [
        s["date"].isoformat() for s in treatments.for_course(db, course)
    ]
    consent = consents.latest(db, course)
    assert exported["consents"][0]["text_sha256"] == consent["text_sha256"]
    response = phone.get("/me/export.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    with app.test_request_context(), force_locale("it"):
        header = gettext("Average pain")
    assert header != "Average pain" and rows[0][2] == header  # column names in Italian
    notes = [r[8] for r in rows[1:] if "HYPERLINK" in r[8]]
    assert notes == ['\'=HYPERLINK("http://x")']
    other = app.test_client()
    open_link(other, world.token_b)
    theirs = other.get("/me/export.json")
    assert theirs.status_code == 200 and json.loads(theirs.data)["patient"]["code"] == "B-001"
    assert "A-001" not in theirs.get_data(as_text=True)


# --- clinicians' CSV -----------------------------------------------------------------------


def test_course_csv_one_row_per_day_and_session_formula_safe(app, db, world, course):
    staff = app.test_client()
    login(staff, world.clinician_a)
    response = staff.get(f"/clinic/courses/{course}/export.csv")
    assert response.mimetype == "text/csv" and response.data.startswith(b"\xef\xbb\xbf")
    rows = parse_csv(response.data.decode("utf-8"))
    days = [r for r in rows if r["record"] == "diary_day"]
    sessions = [r for r in rows if r["record"] == "session"]
    assert len(days) == 7 and len(sessions) == 2
    assert [r["diary_status"] for r in days].count("missing") == 4
    assert [r["diary_status"] for r in days].count("late") == 1
    assert sessions[0]["drugs"] == "lidocaine 20 mg 2.0 ml"
    note = next(r["note"] for r in days if "HYPERLINK" in r["note"])
    assert note.startswith("'=")
    other = app.test_client()
    login(other, world.clinician_b)
    assert other.get(f"/clinic/courses/{course}/export.csv").status_code == 404


def test_course_csv_and_fhir_carry_the_outcome_worked_by_hand(app, db, world, course):
    """The fixture by hand: baseline 8 (measured before session 1, day 0); "now" is the 5
    measured before session 2 on day 5 (the last diary day is day 3); -3 points, 3/8 =
    37.5 %, printed 38, moderate; the first interval's diary mean (7+6+4)/3 = 5.67 is above
    4 and the second has none: goal not yet. Days 0-5 counted (day 6 is today): days 1 and
    3 on time, day 2 late, days 0, 4 and 5 missing."""
    start = clock.today("Europe/Rome") - timedelta(days=6)
    staff = app.test_client()
    login(staff, world.clinician_a)
    rows = parse_csv(staff.get(f"/clinic/courses/{course}/export.csv").data.decode("utf-8"))
    (outcome,) = [r for r in rows if r["record"] == "outcome"]
    assert rows[-1] is outcome
    expected = {
        "baseline": "8", "baseline_source": "session", "now": "5",
        "now_date": (start + timedelta(days=5)).isoformat(), "change_points": "-3",
        "change_percent": "38", "band": "moderate", "goal": "not_yet", "goal_session": "",
        "sessions": "2", "diary_on_time": "2", "diary_late": "1", "diary_missing": "3",
    }  # fmt: skip
    assert {k: outcome[k] for k in expected} == expected
    with app.test_request_context():
        bundle = exports.fhir_bundle(db, course, "http://localhost", clock.today("Europe/Rome"))
    (obs,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "course-outcome"
    ]
    parts = {c["code"]["coding"][0]["code"]: c for c in obs["component"]}
    assert parts["baseline"]["valueInteger"] == 8
    assert parts["now"]["valueInteger"] == 5
    assert parts["now_date"]["valueDateTime"] == expected["now_date"]
    assert parts["change_percent"]["valueQuantity"]["value"] == 38
    assert parts["band"]["valueCodeableConcept"]["text"] == "moderate"
    assert parts["goal"]["valueCodeableConcept"]["text"] == "not_yet"
    assert "goal_session" not in parts and obs["status"] == "preliminary"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_safe_neutralises_formulas(value):
    assert exports.csv_safe(value) == "'" + value
    assert exports.csv_safe("plain") == "plain" and exports.csv_safe(5) == 5


def test_cohort_csv_has_every_course_of_the_clinic_only(app, db, world, course):
    staff = app.test_client()
    login(staff, world.clinician_a)
    rows = parse_csv(staff.get("/clinic/cohort.csv").data.decode("utf-8"))
    assert {r["patient_code"] for r in rows} == {"A-001"}
    assert sum(1 for r in rows if r["record"] == "session") == 2


# --- FHIR R4 -------------------------------------------------------------------------------


def test_fhir_bundle_validates_and_reads_back(app, db, world, course):
    staff = app.test_client()
    login(staff, world.clinician_a)
    response = staff.get(f"/clinic/courses/{course}/fhir.json")
    assert response.mimetype == "application/fhir+json"
    bundle = Bundle.model_validate_json(response.data)
    assert bundle.type == "collection"
    resources = [e.resource for e in bundle.entry]
    kinds = [r.__resource_type__ for r in resources]
    assert kinds.count("Patient") == 1 and kinds.count("Consent") == 1
    assert kinds.count("Procedure") == 2
    patient = next(r for r in resources if r.__resource_type__ == "Patient")
    assert patient.identifier[0].value == "A-001" and not patient.name
    consent = next(r for r in resources if r.__resource_type__ == "Consent")
    assert consent.status == "active" and consent.scope.coding[0].code == "treatment"
    assert consent.identifier[0].value == consents.latest(db, course)["text_sha256"]
    assert consent.sourceAttachment.url.endswith(".pdf")
    observations = [r for r in resources if r.__resource_type__ == "Observation"]
    average = sorted(
        (str(o.effectiveDateTime), o.valueInteger)
        for o in observations
        if o.code.coding[0].code == "72514-3" and not o.partOf
    )
    assert average == sorted(
        (e["day"].isoformat(), e["avg_nrs"]) for e in entries.for_course(db, course)
    )
    worst = [o.valueInteger for o in observations if o.code.coding[0].code == "worst-pain-24h"]
    assert sorted(worst) == sorted(e["worst_nrs"] for e in entries.for_course(db, course))
    before = [o for o in observations if o.partOf]
    assert sorted(o.valueInteger for o in before) == [5, 8]
    procedure = next(
        r
        for r in resources
        if r.__resource_type__ == "Procedure"
        and str(r.performedDateTime) == treatments.for_course(db, course)[0]["date"].isoformat()
    )
    assert "lidocaine 20 mg" in procedure.note[0].text
    assert "small bruise" in " ".join(n.text for n in procedure.note)


def test_withdrawn_consent_is_inactive_in_fhir(app, db, world, course):
    consents.withdraw(db, course, locale="it", text="ritiro", user_agent="t")
    bundle = Bundle.model_validate(
        exports.fhir_bundle(db, course, "http://localhost", clock.today("Europe/Rome"))
    )
    statuses = [
        e.resource.status for e in bundle.entry if e.resource.__resource_type__ == "Consent"
    ]
    assert statuses == ["active", "inactive"]


# --- erasure -------------------------------------------------------------------------------


def test_admin_erases_diary_content_after_confirmation(app, db, world, course):
    phone = app.test_client()
    open_link(phone, world.token_a)
    admin = app.test_client()
    login(admin, world.admin_a)
    page = admin.get(f"/clinic/patients/{world.patient_a}/erase").get_data(as_text=True)
    wrong = admin.post(
        f"/clinic/patients/{world.patient_a}/erase",
        data={"csrf_token": csrf_from(page), "code": "A-002"},
    )
    assert "exactly" in wrong.get_data(as_text=True)
    assert len(entries.for_course(db, course)) == 3
    done = admin.post(
        f"/clinic/patients/{world.patient_a}/erase",
        data={"csrf_token": csrf_from(page), "code": "A-001"},
    )
    assert done.status_code == 302
    assert entries.for_course(db, course) == []
    assert len(consents.history(db, course)) == 1  # kept
    assert len(treatments.for_course(db, course)) == 2  # clinicians' records kept
    assert (
        db.execute("SELECT count(*) FROM audit_events WHERE action = 'patient.erased'").fetchone()[
            0
        ]
        == 1
    )
    assert phone.get("/home").status_code == 403
    assert app.test_client().get(f"/p/{world.token_a}").status_code == 404
    assert patients.get_patient(db, world.patient_a)["erased_at"]


def test_only_admins_of_the_clinic_can_erase(app, db, world, course):
    doc = app.test_client()
    login(doc, world.clinician_a)
    assert doc.get(f"/clinic/patients/{world.patient_a}/erase").status_code == 403
    other = app.test_client()  # clinic B's admin, with the two-step sign-in admins need
    db.execute("UPDATE clinicians SET is_admin = 1 WHERE email = ?", [world.clinician_b])
    enrol_totp(app, db, world.clinician_b)
    login(other, world.clinician_b)
    assert other.get(f"/clinic/patients/{world.patient_a}/erase").status_code == 404


# --- retention -----------------------------------------------------------------------------


def test_purge_dry_run_then_purge(runner, db, world, course):
    old_end = (clock.now().date() - timedelta(days=400)).isoformat()
    db.execute("UPDATE courses SET end_date = ? WHERE id = ?", [old_end, course])
    none = runner.invoke(args=["purge", "--dry-run"])
    assert "0 course(s)" in none.output  # no clinic retention period set
    db.execute("UPDATE clinics SET retention_days = 365 WHERE id = ?", [world.clinic_a])
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert f"would purge course {course}" in dry.output and "A-001" not in dry.output
    assert len(entries.for_course(db, course)) == 3
    real = runner.invoke(args=["purge"])
    assert real.exit_code == 0 and "1 course(s) purged" in real.output
    assert entries.for_course(db, course) == [] and treatments.for_course(db, course) == []
    assert len(consents.history(db, course)) == 1
    assert "0 course(s)" in runner.invoke(args=["purge", "--older-than", "1"]).output
