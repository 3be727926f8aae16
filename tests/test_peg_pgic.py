"""PEG-3 once a course week and PGIC from the second session (issue 20): asked on the
entry page only on their days, optional, stored with the day's entry exactly once."""

import json
from datetime import timedelta

import pytest

from diary import clock
from diary.queries import answers, entries, patients, treatments
from tests.factories import give_consent
from tests.helpers import csrf_from

PEG_QUESTION = "pain has interfered with your enjoyment of life"
PGIC_QUESTION = "Since the start of the treatment, how would you describe the change"


def today_here():
    return clock.today("Europe/Rome")


@pytest.fixture
def course(db, world):
    course_id = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course_id)
    return course_id


def sync(client, body):
    return client.post(
        "/api/entries",
        data=json.dumps({"queue_id": client.queue_id, **body}),
        content_type="application/json",
        headers={"Sec-Fetch-Site": "same-origin"},
    )


def body():
    return {"client_id": "client-0001", "avg": 4, "worst": 6, "day": today_here().isoformat()}


def start_course(db, course, days_ago):
    db.execute(
        "UPDATE courses SET start_date = ? WHERE id = ?",
        [(today_here() - timedelta(days=days_ago)).isoformat(), course],
    )


def put_peg(db, course, day, values=(5, 5, 5)):
    answers.put(
        db,
        answers.PEG,
        course,
        day,
        values,
        locale="en",
        client_id=f"seed-{day}",
        device_time=clock.iso(),
        now=clock.iso(),
    )


def test_peg_is_asked_on_the_first_diary_day_of_each_course_week(phone, course, db):
    start_course(db, course, 3)  # today is day 4 of week 1
    assert PEG_QUESTION in phone.get("/diary/entry").get_data(as_text=True)
    put_peg(db, course, today_here() - timedelta(days=2))  # answered earlier this week
    assert PEG_QUESTION not in phone.get("/diary/entry").get_data(as_text=True)
    start_course(db, course, 7)  # today is the first day of week 2: asked again
    html = phone.get("/diary/entry").get_data(as_text=True)
    assert PEG_QUESTION in html and "10 — completely interferes" in html


def test_the_entry_saves_without_the_peg_and_with_it(phone, course, db):
    html = phone.get("/diary/entry").get_data(as_text=True)
    token = csrf_from(html)
    response = phone.post("/diary/entry", data={"csrf_token": token, "avg": "3", "worst": "5"})
    assert response.status_code == 302
    assert answers.for_course(db, answers.PEG, course) == []
    # the same day, corrected with the PEG: still asked (to be corrected), stored once
    assert PEG_QUESTION in phone.get("/diary/entry").get_data(as_text=True)
    response = phone.post(
        "/diary/entry",
        data={
            "csrf_token": token,
            "avg": "3",
            "worst": "5",
            "peg_pain": "6",
            "peg_enjoyment": "4",
            "peg_activity": "5",
        },
    )
    assert response.status_code == 302
    stored = answers.for_course(db, answers.PEG, course)
    assert [(a["day"], a["pain"], a["enjoyment"], a["activity"], a["locale"]) for a in stored] == [
        (today_here(), 6, 4, 5, "en")
    ]
    page = phone.get("/diary/entry").get_data(as_text=True)
    assert 'id="peg_enjoyment-4" name="peg_enjoyment" value="4" checked' in page
    events = [
        json.loads(r["detail"]).get("changed")
        for r in db.query(
            "SELECT detail FROM audit_events WHERE action = 'entry.corrected' AND course_id = ?",
            [course],
        )
    ]
    assert events == [["peg"]]


def test_a_partial_peg_is_refused_and_nothing_is_stored(phone, course, db):
    token = csrf_from(phone.get("/diary/entry").get_data(as_text=True))
    response = phone.post(
        "/diary/entry",
        data={"csrf_token": token, "avg": "3", "worst": "5", "peg_pain": "6"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Please answer all three questions about the past week." in page
    assert 'href="#peg_enjoyment"' in page
    assert entries.for_course(db, course) == []
    assert answers.for_course(db, answers.PEG, course) == []


def test_peg_and_pgic_sync_exactly_once(phone, course, db):
    sent = {**body(), "peg_pain": 7, "peg_enjoyment": 6, "peg_activity": 8, "pgic": 3}
    first = sync(phone, sent)
    assert first.status_code == 201 and first.json["status"] == "created"
    again = sync(phone, {**sent, "peg_pain": 1})  # a retried send: nothing changes
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    pegs = answers.for_course(db, answers.PEG, course)
    assert [(a["pain"], a["enjoyment"], a["activity"]) for a in pegs] == [(7, 6, 8)]
    assert pegs[0]["client_id"] == "client-0001"
    assert [a["value"] for a in answers.for_course(db, answers.PGIC, course)] == [3]
    # a correction sent without them keeps them; an out-of-range answer is refused
    assert sync(phone, {**body(), "client_id": "client-0002", "avg": 2}).json["status"] == (
        "updated"
    )
    assert len(answers.for_course(db, answers.PEG, course)) == 1
    refused = sync(phone, {**body(), "client_id": "client-0003", "pgic": 8})
    assert refused.status_code == 422 and refused.json["field"] == "pgic"


def test_pgic_is_asked_from_the_second_session_until_answered(phone, course, db):
    start_course(db, course, 7)
    assert PGIC_QUESTION not in phone.get("/diary/entry").get_data(as_text=True)
    treatments.add_session(db, course, today_here() - timedelta(days=7), nrs_before=6)
    assert PGIC_QUESTION not in phone.get("/diary/entry").get_data(as_text=True)
    treatments.add_session(db, course, today_here(), nrs_before=4)
    html = phone.get("/diary/entry").get_data(as_text=True)
    assert PGIC_QUESTION in html and "Very much improved" in html and "Very much worse" in html
    assert sync(phone, {**body(), "pgic": 2}).status_code == 201
    assert [a["value"] for a in answers.for_course(db, answers.PGIC, course)] == [2]
