"""PEG and PGIC reported where the NRS is (issue 20 items 3 and 4): course page, PDF
summary (one line on page 1, which still fits), and "unvalidated translation" where the
answers were given in a language without a validated version."""

import io
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
