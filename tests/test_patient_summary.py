"""The patient's own one-page summary (issue 20 item 5): GET /me/summary.pdf, in the
patient's language, one page even for a long course, nothing written by the clinic's staff,
none of the patient's free text, a neutral file name, audited, rate-limited."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import timedelta

import pytest
from pypdf import PdfReader

from diary import clock, pdf, sheet
from diary.queries import consents, patients, seed, treatments
from tests.factories import give_consent
from tests.helpers import open_link

SECRETS = {
    "session_note": "SESSIONNOTEXQ",
    "adverse": "ADVERSEXQ",
    "paper": "PAPERNOTEXQ",
    "contact": "CONTACTNOTEXQ",
    "screening": "SCREENINGXQ",
    "medication": "MEDICATIONXQ",
    "note": "NOTEXQ",
}


@pytest.fixture
def long_course(db, world):
    """Patient A (code 李-1, clinic A in Rome): 12 weekly sessions over 84 days, a diary
    entry every day with a side effect every other day (many separate runs of days), all
    seven injection-site effects and all three allergy signs; clinic text everywhere."""
    db.execute(
        "UPDATE patients SET code = ?, contact_note = ? WHERE id = ?",
        ["李-1", SECRETS["contact"], world.patient_a],
    )
    course = patients.current_course(db, world.patient_a)["id"]
    today = clock.today("Europe/Rome")
    start = today - timedelta(days=84)
    db.execute("UPDATE courses SET start_date = ? WHERE id = ?", [start.isoformat(), course])
    give_consent(db, course)
    consents.record_screening(
        db, course, sheet.SHEET_VERSION, {"allergy": ("yes", SECRETS["screening"])}
    )
    for k in range(12):
        treatments.add_session(
            db,
            course,
            (start + timedelta(days=7 * k)).isoformat(),
            nrs_before=max(8 - k // 2, 2),
            drugs=[{"name": "lidocaine", "dose": "20 mg", "volume_ml": 2}],
            adverse_events=SECRETS["adverse"],
            notes=SECRETS["session_note"],
            paper_consent_note=SECRETS["paper"] if k == 0 else "",
        )
    effects = ["site_pain", "bruising", "redness", "swelling", "itching", "wheals", "other"]
    for k in range(84):
        day = (start + timedelta(days=k)).isoformat()
        entry = seed.insert_entry(
            db,
            course,
            day,
            f"long-{k}",
            max(8 - k // 12, 1),
            max(9 - k // 12, 2),
            site_effects=effects if k % 2 == 0 else [],
            medication_taken=True,
            medication=f"{SECRETS['medication']} url(http://127.0.0.1:9/x)",
            note=f"<b>{SECRETS['note']}</b> <img src='http://127.0.0.1:9/y'>",
        )
        if k % 4 == 0:
            db.execute(
                "UPDATE diary_entries SET allergy_signs = ? WHERE id = ?",
                ['["hives", "face_swelling", "breathing"]', entry],
            )
    return course


def download(app, world, locale: str):
    phone = app.test_client()
    open_link(phone, world.token_a)
    return phone.get(f"/me/summary.pdf?lang={locale}")


def pdf_text(data: bytes, tmp_path, *, layout: bool = True) -> str:
    """The PDF as pdftotext reads it (poppler: bidi-ordered, as a person reads it); by
    blocks of text (a box's lines together) unless ``layout``."""
    path = tmp_path / "summary.pdf"
    path.write_bytes(data)
    mode = ["-layout"] if layout else []
    return subprocess.run(
        ["pdftotext", *mode, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize("locale", ["en", "ar", "zh_Hans"])
def test_long_course_summary_is_one_page_without_clinic_notes(
    app, db, world, long_course, locale, tmp_path
):
    response = download(app, world, locale)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    assert reader.trailer["/Root"]["/Lang"] == locale.replace("_", "-")
    text = pdf_text(response.data, tmp_path)
    flat = re.sub(r"\s+", " ", text)
    # the clinic's name and phone (the phone's digits in their order in every script)
    assert "Clinic A" in flat and "+39 06 1111" in flat
    # nothing the clinic's staff wrote, none of the patient's free text, no patient code
    for secret in SECRETS.values():
        assert secret not in text, secret
    assert "127.0.0.1" not in text and "lidocaine" not in text
    assert "李-1" not in text and "A-001" not in text
    if locale == "ar":
        assert sum(1 for ch in text if "\u0600" <= ch <= "\u06ff") > 50
    if locale == "zh_Hans":
        assert sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") > 20


def test_english_summary_holds_start_now_sessions_and_side_effects(
    app, db, world, long_course, tmp_path
):
    response = download(app, world, "en")
    flat = re.sub(r"\s+", " ", pdf_text(response.data, tmp_path))
    blocks = re.sub(r"\s+", " ", pdf_text(response.data, tmp_path, layout=False))
    assert "Pain diary summary" in flat
    # baseline 8 (session 1), now the last diary day's 2; 12 sessions, numbered with dates
    assert re.search(r"8 +2 +6 lower +12", flat), flat[:600]
    assert "75% less pain" in blocks  # (8 - 2) / 8
    assert "Session 1:" in flat and "Session 12:" in flat
    # every reported side effect, with how many days: site effects every other day (42),
    # allergy signs every fourth day (21)
    for label in ("Pain where the needle went in", "Bruise", "Small raised bumps (wheals)",
                  "Something else at the injection site"):  # fmt: skip
        assert re.search(re.escape(label) + r" +42\b", flat), label
    assert re.search(r"Swelling of the face, lips or tongue +21\b", flat)
    assert "A sign of a possible allergic reaction." in flat
    assert "and 38 more days" in flat  # 42 single days: 4 printed, 38 more
    assert "tell us in the note" not in flat
    assert "Questions about this treatment? Call the clinic: Clinic A, +39 06 1111." in flat
    today = clock.today("Europe/Rome")
    assert f"Made on {today.strftime('%B')} {today.day}, {today.year}" in flat


def test_file_name_audit_and_link_from_home(app, db, world, long_course):
    phone = app.test_client()
    open_link(phone, world.token_a)
    home = phone.get("/home?lang=en").get_data(as_text=True)
    assert 'href="/me/summary.pdf"' in home
    assert "Download my summary (PDF)" in home
    response = phone.get("/me/summary.pdf")
    day = clock.today("Europe/Rome").isoformat()
    disposition = response.headers["Content-Disposition"]
    assert disposition == f"attachment; filename=pain-diary-summary-{day}.pdf"
    events = db.execute(
        "SELECT actor, patient_id, course_id FROM audit_events WHERE action = ?",
        ["report.patient_downloaded"],
    ).fetchall()
    assert events == [("patient", world.patient_a, long_course)]


def test_summary_shows_nothing_reported_for_a_new_course(app, db, world, tmp_path):
    """Patient B (Arabic, code مريض-1): a course that starts today, nothing entered."""
    db.execute("UPDATE patients SET code = ? WHERE id = ?", ["مريض-1", world.patient_b])
    phone = app.test_client()
    open_link(phone, world.token_b)
    response = phone.get("/me/summary.pdf?lang=en")
    assert response.status_code == 200
    assert "مريض" not in response.headers["Content-Disposition"]
    flat = re.sub(r"\s+", " ", pdf_text(response.data, tmp_path))
    assert "No session yet." in flat and "No side effects were reported in the diary." in flat
    assert "Clinic B" in flat and "+33 1 2222" in flat and "مريض" not in flat


def test_a_hostile_clinic_name_is_printed_as_text_and_fetches_nothing(
    app, db, world, tmp_path, monkeypatch
):
    hostile = "<b>Clinic</b> & <img src='http://127.0.0.1:9/x'> <style>*{}</style>"
    db.execute("UPDATE clinics SET name = ? WHERE id = ?", [hostile, world.clinic_a])
    asked: list[str] = []
    fetch = pdf.StaticOnlyFetcher.fetch
    monkeypatch.setattr(
        pdf.StaticOnlyFetcher,
        "fetch",
        lambda self, url, *a: asked.append(url) or fetch(self, url, *a),
    )
    response = download(app, world, "en")
    assert response.status_code == 200
    flat = re.sub(r"\s+", " ", pdf_text(response.data, tmp_path, layout=False))
    assert "<b>Clinic</b> & <img src='http://127.0.0.1:9/x'> <style>*{}</style>" in flat
    assert asked and all(url.startswith((pdf.STATIC_BASE, "data:")) for url in asked)


def test_summary_waits_for_the_render_limit_and_is_rate_limited(app, db, world):
    phone = app.test_client()
    open_link(phone, world.token_a)
    app.config["PDF_CONCURRENCY"] = 1
    with app.app_context(), pdf.render_slot():
        busy = phone.get("/me/summary.pdf")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    app.config["RATE_LIMIT_PDF"] = "2 per minute"
    statuses = [phone.get("/me/summary.pdf").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_days_of_a_side_effect_as_runs(app):
    """Consecutive days print as one run; past four runs, the rest is counted."""
    from datetime import date

    from flask_babel import force_locale

    from diary.patient_report import days_text

    days = [date(2026, 12, d) for d in (3, 4, 5, 9, 11, 13, 14, 20)]
    with app.test_request_context(), force_locale("en"):
        # runs: 3-5, 9, 11, 13-14 and 20: the first four printed, 20 is 1 more day
        assert days_text(days) == "Dec 3 to Dec 5, Dec 9, Dec 11, Dec 13 to Dec 14 and 1 more day"
        assert days_text(days[:4]) == "Dec 3 to Dec 5, Dec 9"


def test_phone_downloads_the_summary_from_home_in_arabic(live_server, page_at, world, db):
    """At 360 px in Arabic (right to left): the link is a 44 px target, the file arrives
    under its neutral name and is a one-page PDF."""
    from tests.helpers import has_horizontal_overflow, screenshot

    db.execute("UPDATE patients SET code = ? WHERE id = ?", ["مريض-1", world.patient_b])
    page = page_at(360, 740)
    page.goto(f"{live_server}/p/{world.token_b}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server + "/home")
    link = page.locator("a[href='/me/summary.pdf']")
    box = link.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    assert not has_horizontal_overflow(page)
    link.scroll_into_view_if_needed()
    screenshot(page, "patient-home-summary-360-ar")
    with page.expect_download() as waiting:
        link.click()
    download = waiting.value
    day = clock.today("Europe/Paris").isoformat()
    assert download.suggested_filename == f"pain-diary-summary-{day}.pdf"
    reader = PdfReader(download.path())
    assert len(reader.pages) == 1 and reader.trailer["/Root"]["/Lang"] == "ar"


def test_summary_is_plain_language(app, db, world, long_course):
    """The summary's own sentences (headings, captions, footer: not the dates and numbers)
    read at Flesch-Kincaid grade 8 or below, like the information sheet."""
    from flask_babel import force_locale

    from diary import patient_report
    from tests.readability import grade

    with app.test_request_context(), force_locale("en"):
        html = patient_report.summary_html(db, world.patient_a, "en")
    body = html.split("<body>", 1)[1]
    body = re.sub(r"<(th|td|h1|h2|li)\b", r". <\1", body)  # cells end
    text = re.sub(r"<[^>]+>|&[#\w]+;", " ", body)
    text = re.sub(r"[\d/+–·⚠:,()]+", " ", text)
    text = re.sub(r"(\s*\.)+", ".", re.sub(r"[ \t]+", " ", text)).strip(". \n")
    words = len(text.split())
    score = grade(text, "en")
    print(f"{words} words, grade {score:.1f}")
    assert words > 150
    assert score <= 8, f"grade {score:.1f}"
