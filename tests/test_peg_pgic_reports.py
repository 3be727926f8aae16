"""PEG and PGIC reported where the NRS is (issue 20 items 3 and 4): course page, PDF
summary (one line on page 1, which still fits), and "unvalidated translation" where the
answers were given in a language without a validated version."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader

from diary import clock, report
from diary.queries import answers, patients, seed, treatments
from tests.factories import give_consent
from tests.helpers import login


def put(db, table, course, day, values, locale):
    answers.put(
        db,
        table,
        course,
        day,
        values,
        locale=locale,
        client_id=f"seed-{table}-{day}",
        device_time=clock.iso(),
        now=clock.iso(),
    )


@pytest.fixture
def peg_course(db, world):
    """Three weekly sessions; PEG 8,7,7 (22/3) on session 1's day and 2,2,1 (5/3) three
    weeks later; PGIC 3 at session 2 and 1 ("very much improved") at session 3."""
    course = patients.current_course(db, world.patient_a)["id"]
    start = clock.now().date() - timedelta(days=20)
    db.execute("UPDATE courses SET start_date = ? WHERE id = ?", [start.isoformat(), course])
    give_consent(db, course, locale="it")
    for number, nrs in ((1, 8), (2, 6), (3, 4)):
        day = start + timedelta(days=7 * (number - 1))
        treatments.add_session(db, course, day.isoformat(), nrs_before=nrs)
    for k, value in enumerate([7] * 7 + [4] * 7 + [3] * 7):
        seed.insert_entry(db, course, start + timedelta(days=k), f"r-{k}", value, value + 1)
    put(db, answers.PEG, course, start, (8, 7, 7), "en")
    put(db, answers.PEG, course, start + timedelta(days=20), (2, 2, 1), "en")
    put(db, answers.PGIC, course, start + timedelta(days=7), (3,), "en")
    put(db, answers.PGIC, course, start + timedelta(days=14), (1,), "en")
    return course


def test_the_course_page_shows_peg_and_pgic(client, db, world, peg_course):
    login(client, world.clinician_a)
    html = client.get(f"/clinic/courses/{peg_course}").get_data(as_text=True)
    flat = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "PEG baseline 7.3" in flat and "PEG now 1.7" in flat
    assert "PEG change -5.7 points" in flat  # 5/3 - 22/3 = -17/3
    assert "session 2: Minimally improved; session 3: Very much improved" in flat
    assert "unvalidated translation" not in flat  # answered in English
    db.execute("UPDATE pgic_answers SET locale = 'it'")
    html = client.get(f"/clinic/courses/{peg_course}").get_data(as_text=True)
    assert "unvalidated translation" in html


def pages(app, db, course, locale):
    with app.test_request_context():
        reader = PdfReader(io.BytesIO(report.render_summary(db, course, locale)))
    return [re.sub(r"\s+", " ", page.extract_text()) for page in reader.pages]


@pytest.mark.parametrize("locale", ["en", "ar", "zh_Hans"])
def test_page_one_of_the_pdf_has_the_line_and_still_fits(app, db, peg_course, locale):
    # the longest page 1: an allergy alert too, and answers in an unvalidated language
    db.execute("UPDATE diary_entries SET allergy_signs = '[\"hives\"]' WHERE client_id = 'r-3'")
    db.execute("UPDATE peg_answers SET locale = 'it'")
    text = pages(app, db, peg_course, locale)
    assert len(text) == 2  # page 1: header, figures, the new line, chart; page 2: details
    if locale == "en":
        first = text[0]
        assert "PEG from 7.3 to 1.7 (-5.7 points)" in first
        assert "PGIC session 3: Very much improved" in first
        assert "unvalidated translation" in first
        assert "Solid line with dots" in first  # the chart's caption is still on page 1
    else:
        assert "7.3" in text[0] and "1.7" in text[0]


# --- dashboard, cohort, CSV, FHIR, the patient's own export ----------------------------------


def test_dashboard_has_peg_change_and_last_pgic_columns(client, world, peg_course):
    login(client, world.clinician_a)
    html = client.get("/clinic/").get_data(as_text=True)
    assert ">PEG change, last PGIC<" in html
    assert 'title="from 7.3 to 1.7">-5.7</span>' in html
    flat = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "-5.7 Very much improved" in flat


def test_cohort_shows_share_improved_and_peg_change(client, db, world, peg_course):
    login(client, world.clinician_a)
    flat = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get("/clinic/cohort").text))
    assert "Much or very much improved (last PGIC) Courses: 1 of 1 (100%)" in flat
    assert "Change in PEG, mean ± SD (points) -5.7 (1 course)" in flat
    # a second course whose last PGIC is "no change" and PEG 4 -> 5: 1 of 2 (50 %);
    # PEG change mean (-17/3 + 1) / 2 = -7/3 = -2.3, SD (20/3) / sqrt(2) = 4.7
    other = patients.create_course(db, world.patient_a, "knee", clock.now().date().isoformat())
    start = clock.now().date() - timedelta(days=10)
    treatments.add_session(db, other, start.isoformat(), nrs_before=5)
    put(db, answers.PEG, other, start, (4, 4, 4), "en")
    put(db, answers.PEG, other, start + timedelta(days=7), (5, 5, 5), "en")
    put(db, answers.PGIC, other, start + timedelta(days=8), (4,), "en")
    flat = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get("/clinic/cohort").text))
    assert "Courses: 1 of 2 (50%)" in flat
    assert "-2.3 ± 4.7 (2 courses)" in flat
    # no noun that would have to agree with one number or the other ("1 cicli su 2")
    italian = client.get("/clinic/cohort?lang=it").text
    flat = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", italian))
    assert "Cicli: 1 su 2 (50%)" in flat and "1 cicli" not in flat
    assert "-2,3 ± 4,7 (2 cicli)" in flat


def parse_csv(text):
    import csv

    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_course_csv_has_the_answers_by_day_and_the_figures(client, db, world, peg_course):
    login(client, world.clinician_a)
    rows = parse_csv(client.get(f"/clinic/courses/{peg_course}/export.csv").data.decode())
    start = clock.now().date() - timedelta(days=20)
    by_day = {r["date"]: r for r in rows if r["record"] == "diary_day"}
    first = by_day[start.isoformat()]
    assert (first["peg_pain"], first["peg_enjoyment"], first["peg_activity"]) == ("8", "7", "7")
    assert first["peg_score"] == "7.3" and first["pgic"] == ""
    assert by_day[(start + timedelta(days=7)).isoformat()]["pgic"] == "3"
    (outcome,) = [r for r in rows if r["record"] == "outcome"]
    expected = {
        "peg_baseline": "7.3", "peg_baseline_date": start.isoformat(), "peg_now": "1.7",
        "peg_now_date": (start + timedelta(days=20)).isoformat(), "peg_change": "-5.7",
        "pgic_last": "1", "pgic_last_date": (start + timedelta(days=14)).isoformat(),
        "pgic_last_session": "3", "translation_validated": "1",
    }  # fmt: skip
    assert {k: outcome[k] for k in expected} == expected
    cohort = parse_csv(client.get("/clinic/cohort.csv").data.decode())
    assert [r["peg_change"] for r in cohort if r["record"] == "outcome"] == ["-5.7"]


def test_fhir_has_a_peg_observation_with_components_and_pgic(client, db, world, peg_course):
    from fhir.resources.R4B.bundle import Bundle

    db.execute("UPDATE pgic_answers SET locale = 'it'")
    login(client, world.clinician_a)
    data = client.get(f"/clinic/courses/{peg_course}/fhir.json").data
    Bundle.model_validate_json(data)  # valid FHIR R4B
    resources = [e["resource"] for e in json.loads(data)["entry"]]

    def code(resource):
        coding = resource.get("code", {}).get("coding") or [{}]
        return coding[0].get("code")

    pegs = sorted(
        (r for r in resources if code(r) == "peg-3"), key=lambda r: r["effectiveDateTime"]
    )
    assert [p["valueQuantity"]["value"] for p in pegs] == [7.3, 1.7]
    assert pegs[0]["code"]["coding"][0]["system"].endswith("/CodeSystem/pain-diary")
    assert [(code(c), c["valueInteger"]) for c in pegs[0]["component"]] == [
        ("peg-pain", 8),
        ("peg-enjoyment", 7),
        ("peg-activity", 7),
    ]
    assert "note" not in pegs[0] and pegs[0]["language"] == "en"
    pgics = sorted(
        (r for r in resources if code(r) == "pgic"), key=lambda r: r["effectiveDateTime"]
    )
    assert [p["valueCodeableConcept"]["coding"][0]["code"] for p in pgics] == ["pgic-3", "pgic-1"]
    assert pgics[1]["note"] == [{"text": "Answered in an unvalidated translation"}]
    (outcome,) = [r for r in resources if code(r) == "course-outcome"]
    parts = {code(c): c for c in outcome["component"]}
    assert parts["peg_change"]["valueQuantity"]["value"] == -5.7
    assert parts["pgic_last"]["valueInteger"] == 1
    assert parts["translation_validated"]["valueBoolean"] is False


def test_the_patient_export_has_their_answers(app, db, world, peg_course):
    from tests.helpers import open_link

    phone = app.test_client()
    open_link(phone, world.token_a)
    [course] = json.loads(phone.get("/me/export.json").data)["courses"]
    assert [a["pain_past_week"] for a in course["weekly_questions_peg"]] == [8, 2]
    assert [a["answer"] for a in course["impression_of_change_pgic"]] == [3, 1]
    # the CSV has the same answers, one row each, in words
    rows = list(csv.reader(io.StringIO(phone.get("/me/export.csv?lang=en").get_data(as_text=True))))
    answered = [(r[0], r[-1]) for r in rows if r[0] in ("PEG", "PGIC")]
    assert answered == [
        ("PEG", "Pain 8 · Enjoyment of life 7 · General activity 7"),
        ("PEG", "Pain 2 · Enjoyment of life 2 · General activity 1"),
        ("PGIC", "Minimally improved"),
        ("PGIC", "Very much improved"),
    ]


def test_the_patients_history_shows_their_answers_on_their_days(app, db, world, peg_course):
    from tests.helpers import open_link, visible

    phone = app.test_client()
    open_link(phone, world.token_a)
    html = phone.get("/diary/history?lang=en").get_data(as_text=True)
    item = r'<li class="history-item" data-day="([^"]+)">(.*?)</li>'
    days = {day: visible(block) for day, block in re.findall(item, html, re.S)}
    start = clock.now().date() - timedelta(days=20)
    peg = "Past week: pain 8, effect on enjoyment of life 7, on general activity 7"
    assert peg in days[start.isoformat()]
    pgic = "Change since the start of the treatment: Minimally improved"
    assert pgic in days[(start + timedelta(days=7)).isoformat()]
    later = "Past week: pain 2, effect on enjoyment of life 2, on general activity 1"
    assert later in days[(start + timedelta(days=20)).isoformat()]
    assert sum("Past week:" in text for text in days.values()) == 2
    assert sum("Change since the start" in text for text in days.values()) == 2


def test_the_demo_history_patient_has_peg_and_pgic_answers(app, client, db):
    from diary import demo, function_outcomes

    result = demo.build(db, clock.now().date())
    patient = patients.find_patient(db, result.clinic_id, demo.HISTORY_PATIENT_CODE)
    course = patients.current_course(db, patient["id"])
    pegs = answers.for_course(db, answers.PEG, course["id"])
    pgics = answers.for_course(db, answers.PGIC, course["id"])
    sessions = treatments.for_course(db, course["id"])
    assert len(pegs) >= len(sessions) >= 2 and len(pgics) == len(sessions) - 1
    # one PEG a course week, on its first diary day
    weeks = [function_outcomes.course_week(course["start_date"], a["day"]) for a in pegs]
    assert weeks == sorted(set(weeks))
    figures = function_outcomes.of_course(course, sessions, pegs, pgics)
    assert figures.change is not None and figures.change < 0 and figures.unvalidated
    assert figures.last_pgic.session == len(sessions)
    # the other demo patients have none: the Table 1 figures are the diary's, untouched
    assert {r[0] for r in db.execute("SELECT DISTINCT course_id FROM peg_answers")} == {
        course["id"]
    }


def test_erasure_removes_the_answers(db, world, peg_course):
    from diary.queries import retention

    removed = retention.erase_patient(db, world.patient_a, clinician_id=1)
    assert (removed["peg_answers"], removed["pgic_answers"]) == (2, 2)
    assert answers.for_course(db, answers.PEG, peg_course) == []
    assert answers.for_course(db, answers.PGIC, peg_course) == []
