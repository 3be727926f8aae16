"""Session records a clinician can sign (issue 14, item 10): the pain before treating is a
number or "not measured", the drugs at least one or "no drug", no session without consent
unless consent on paper is recorded (with a note, audited), and the form shows what to check
before treating (unreviewed allergy signs, screening answers other than "no")."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from diary import clock, sheet
from diary.entry_rules import EntryInput
from diary.queries import audit, consents, courses, entries, patients, treatments
from tests.factories import give_consent
from tests.helpers import csrf_from, login

NOT_MEASURED = "Enter the pain before the session, or tick “Not measured”."
NO_DRUG = "Enter at least one drug, or tick “No drug was given”."
NO_CONSENT = "This patient has no valid consent in the app."


@pytest.fixture
def staff(client, world):
    login(client, world.clinician_a)
    client.get("/clinic/?lang=en")
    return client


@pytest.fixture
def course(db, world):
    """Patient A's course, started a week ago in the clinic's calendar."""
    row = patients.current_course(db, world.patient_a)
    start = clock.today("Europe/Rome") - timedelta(days=7)
    db.execute("UPDATE courses SET start_date = ? WHERE id = ?", [start.isoformat(), row["id"]])
    return row["id"]


def new_session(client, course, **fields):
    path = f"/clinic/courses/{course}/sessions/new"
    token = csrf_from(client.get(path).get_data(as_text=True))
    data = {"csrf_token": token, "date": clock.today("Europe/Rome").isoformat(), "area": "knee"}
    return client.post(path, data={**data, **fields})


def test_an_empty_session_form_is_refused_with_every_reason(staff, db, course):
    give_consent(db, course)
    response = new_session(staff, course)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert NOT_MEASURED in page and NO_DRUG in page
    assert treatments.for_course(db, course) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"nrs_before": "6", "nrs_not_measured": "y", "drugs-0-name": "lidocaine"},
         "Enter the pain or tick “Not measured”, not both."),
        ({"nrs_before": "6", "no_drug": "y", "drugs-0-name": "lidocaine"},
         "Enter drugs or tick “No drug was given”, not both."),
        ({"nrs_before": " ", "drugs-0-name": "lidocaine"}, NOT_MEASURED),
        ({"nrs_before": "6", "drugs-0-name": "  "}, NO_DRUG),
        ({"nrs_before": "11", "drugs-0-name": "lidocaine"}, "Enter a number from 0 to 10."),
        ({"nrs_before": "6", "drugs-0-dose": "20 mg"}, "Each dose needs the drug&#39;s name."),
        ({"nrs_before": "six", "nrs_not_measured": "y", "drugs-0-name": "lidocaine"},
         "Enter the pain or tick “Not measured”, not both."),
    ],
)  # fmt: skip
def test_contradictory_or_missing_answers_are_refused(staff, db, course, fields, message):
    give_consent(db, course)
    response = new_session(staff, course, **fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert treatments.for_course(db, course) == []


def test_not_measured_and_no_drug_are_recorded_as_such(staff, db, course):
    give_consent(db, course)
    response = new_session(staff, course, nrs_not_measured="y", no_drug="y")
    assert response.status_code == 302
    (stored,) = treatments.for_course(db, course)
    assert (stored["nrs_before"], stored["nrs_not_measured"]) == (None, True)
    assert (stored["drugs"], stored["no_drug"]) == ([], True)
    page = staff.get(f"/clinic/courses/{course}").get_data(as_text=True)
    row = page[page.index('id="sessions-heading"') :]
    assert "not measured" in row[: row.index("</tr>", row.index("<tbody>"))]
    assert "no drug" in row[: row.index("</tr>", row.index("<tbody>"))]
    # editing shows both boxes ticked, and saving it unchanged changes nothing
    path = f"/clinic/sessions/{stored['id']}/edit"
    edit = staff.get(path).get_data(as_text=True)
    for box in ("nrs_not_measured", "no_drug"):
        tag = re.search(rf'<input[^>]*id="{box}"[^>]*>', edit).group(0)
        assert "checked" in tag
    same = {"csrf_token": csrf_from(edit), "date": stored["date"].isoformat(), "area": "knee",
            "nrs_not_measured": "y", "no_drug": "y"}  # fmt: skip
    saved = staff.post(path, data=same, follow_redirects=True)
    assert "Nothing was changed." in saved.get_data(as_text=True)


def test_a_session_without_consent_is_refused(staff, db, course):
    form = staff.get(f"/clinic/courses/{course}/sessions/new").get_data(as_text=True)
    assert "No valid consent in the app" in form
    assert "has not given consent in the app yet" in form
    response = new_session(staff, course, nrs_before="7", **{"drugs-0-name": "lidocaine"})
    assert response.status_code == 200 and NO_CONSENT in response.get_data(as_text=True)
    # the box without a note is not enough
    response = new_session(
        staff, course, nrs_before="7", paper_consent="y", **{"drugs-0-name": "lidocaine"}
    )
    assert "Write a note" in response.get_data(as_text=True)
    response = new_session(
        staff, course, nrs_before="7", paper_consent="y", paper_consent_note="   ",
        **{"drugs-0-name": "lidocaine"},
    )  # fmt: skip
    assert "Write a note" in response.get_data(as_text=True)
    assert treatments.for_course(db, course) == []
    assert [e for e in audit.for_course(db, course) if e["action"].startswith("session")] == []


def test_consent_on_paper_is_recorded_with_its_note_and_audited(staff, db, course, world):
    note = "Explained by Dr <b>Rossi</b>; signed form in the paper chart"
    response = new_session(
        staff, course, nrs_before="7", paper_consent="y", paper_consent_note=note,
        **{"drugs-0-name": "lidocaine"},
    )  # fmt: skip
    assert response.status_code == 302
    (stored,) = treatments.for_course(db, course)
    assert stored["paper_consent_note"] == note
    events = [e for e in audit.for_course(db, course) if e["action"] == "consent.paper"]
    assert len(events) == 1 and events[0]["actor"] == "clinician"
    assert events[0]["detail"] == {"session_id": stored["id"]}  # the note is not in the trail
    page = staff.get(f"/clinic/courses/{course}").get_data(as_text=True)
    assert "Consent on paper" in page
    assert "Dr &lt;b&gt;Rossi&lt;/b&gt;" in page and "<b>Rossi" not in page
    assert "Session recorded with consent given on paper" in page  # the audit trail


@pytest.mark.parametrize(
    ("state", "sentence"),
    [
        ("withdrawn", "This patient withdrew consent."),
        ("outdated", "agreed to an older version of the information sheet"),
    ],
)
def test_withdrawn_and_outdated_consent_refuse_a_session_too(staff, db, course, state, sentence):
    if state == "withdrawn":
        give_consent(db, course)
        consents.withdraw(db, course, locale="en", text="withdrawn", user_agent="pytest")
    else:  # agreed to the sheet before the current one
        consents.give(
            db, course, sheet_version=sheet.SHEET_VERSION - 1, locale="en", text="old",
            agreements={"treatment": True}, full_name="", signature_png=None, user_agent="pytest",
        )  # fmt: skip
    assert consents.current_state(db, course, sheet.SHEET_VERSION) == state
    form = staff.get(f"/clinic/courses/{course}/sessions/new").get_data(as_text=True)
    assert sentence in form
    response = new_session(staff, course, nrs_before="7", **{"drugs-0-name": "lidocaine"})
    assert NO_CONSENT in response.get_data(as_text=True)
    assert treatments.for_course(db, course) == []


def test_an_active_consent_needs_no_paper_box(staff, db, course):
    give_consent(db, course)
    form = staff.get(f"/clinic/courses/{course}/sessions/new").get_data(as_text=True)
    assert "No valid consent" not in form and 'name="paper_consent"' not in form
    # a paper note posted anyway is not stored for a consented patient
    response = new_session(
        staff, course, nrs_before="7", paper_consent="y", paper_consent_note="x",
        **{"drugs-0-name": "lidocaine"},
    )  # fmt: skip
    assert response.status_code == 302
    assert treatments.for_course(db, course)[0]["paper_consent_note"] == ""


def _report_allergy(db, course, world, day, client_id):
    entry = EntryInput(
        day=day, avg=5, worst=6, site_effects=[], allergy_signs=["hives"], medication_taken=None,
        medication="", note="", client_id=client_id, device_time=None,
    )  # fmt: skip
    entries.save(db, course, entry, day, patient_id=world.patient_a, clinic_id=world.clinic_a)


def test_the_form_shows_unreviewed_allergy_signs_and_screening_answers(staff, db, course, world):
    give_consent(db, course)
    today = clock.today("Europe/Rome")
    _report_allergy(db, course, world, today - timedelta(days=3), "allergy-1")
    consents.record_screening(
        db,
        course,
        sheet.SHEET_VERSION,
        {
            "allergy": ("yes", "penicillin"),
            "blood_thinners": ("no", ""),
            "pregnancy": ("unsure", ""),
        },
    )
    path = f"/clinic/courses/{course}/sessions/new"
    form = staff.get(path).get_data(as_text=True)
    assert "Possible allergic reaction reported, not yet reviewed" in form
    assert "Hives or an itchy rash" in form
    assert "Health questions to review" in form and "penicillin" in form
    section = form[form.index("data-screening-flags") :]
    section = section[: section.index("</div>")]
    assert "I am not sure" in section and "pregnant" in section
    assert "thins the blood" not in section  # the "no" answer is not listed

    # reviewed: the sign leaves the form; a new report after the review comes back alone
    row = patients.get_course(db, course)
    courses.clear_flag(db, row, clinician_id=1)
    assert "not yet reviewed" not in staff.get(path).get_data(as_text=True)
    _report_allergy(db, course, world, today - timedelta(days=1), "allergy-2")
    form = staff.get(path).get_data(as_text=True)
    listed = form[form.index("data-allergy-signs") :]
    listed = listed[: listed.index("</ul>")]
    assert listed.count("<li>") == 1


def test_session_records_survive_the_migration_of_older_rows(db, course):
    """Rows from before the migration read as measured / with drugs unknown: '–', not a
    claim that nothing was measured."""
    session_id = treatments.add_session(db, course, clock.today("Europe/Rome"))
    stored = treatments.get_session(db, session_id)
    assert stored["nrs_not_measured"] is False and stored["no_drug"] is False
    assert json.loads(db.execute("SELECT drugs FROM treatment_sessions").fetchone()[0]) == []
