"""The learn-and-consent journey through the Flask test client."""

import base64
import hashlib
import io
import json
import re
import struct

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile
from pypdf import PdfReader

from diary import sheet, signature
from diary.queries import accounts, consents, patients
from tests.helpers import at_once, csrf_from, login, open_link, visible

ALL_RIGHT = {
    "works": "maybe",
    "side_effects": "local",
    "sessions": "regular",
    "withdraw": "any_time",
}
NO_FLAGS = {
    "allergy": "no",
    "blood_thinners": "no",
    "skin": "no",
    "reaction": "no",
    "pregnancy": "no",
}


@pytest.fixture
def phone(app, world, db):
    """Patient A's phone, signed in (patient A is Italian; use English for readable asserts)."""
    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_a])
    client = app.test_client()
    open_link(client, world.token_a)
    return client


def course_of(db, world):
    return patients.current_course(db, world.patient_a)["id"]


def post_form(client, path, data, **kwargs):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def answer_screening(client, answers=None):
    return post_form(client, "/consent/screening", answers or NO_FLAGS)


def pass_quiz(client):
    return post_form(client, "/consent/quiz", ALL_RIGHT)


def review(client, **fields):
    data = {"treatment": "y", "data": "y", "full_name": "Maria Rossi", **fields}
    return post_form(client, "/consent/agree", data)


def confirm(client, review_response, **overrides):
    html = review_response.get_data(as_text=True)
    data = {
        name: value
        for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html)
    }
    data.update(overrides)
    data["csrf_token"] = csrf_from(html)
    return client.post("/consent/confirm", data=data)


def consent_through_ui(client, **fields):
    answer_screening(client)
    pass_quiz(client)
    return confirm(client, review(client, **fields))


# --- the sheet --------------------------------------------------------------------------


def test_sheet_has_ten_sections_with_progress_and_clinic_details(phone, db, world):
    db.execute(
        "UPDATE clinics SET drugs = ?, session_interval_days = 10 WHERE id = ?",
        [json.dumps(["lidocaine", "ketorolac"]), world.clinic_a],
    )
    pages = [phone.get(f"/consent/sheet/{n}").get_data(as_text=True) for n in range(1, 11)]
    assert "Part 3 of 10" in pages[2]
    everything = "\n".join(pages)
    assert "lidocaine and ketorolac" in visible(everything)
    assert "every 10 days" in everything
    assert "Clinic A" in everything and "+39 06 1111" in everything
    assert phone.get("/consent/sheet/11").status_code == 404
    assert phone.get("/consent/sheet/0").status_code == 404


def test_risks_are_as_visible_as_benefits(app):
    with app.test_request_context():
        found = {s.key: s for s in sheet.sections({"name": "C", "phone": "1"})}
    assert set(found) >= {
        "what",
        "session",
        "benefits",
        "risks",
        "who",
        "alternatives",
        "diary",
        "data",
        "withdraw",
        "contact",
    }
    risks, benefits = found["risks"], found["benefits"]
    assert "may not work" in risks.summary

    def words(section):
        return sum(
            len(b.split()) if isinstance(b, str) else len(" ".join(b).split())
            for b in section.blocks
        )

    assert words(risks) >= words(benefits)


def test_next_records_each_section_in_the_audit_trail(phone, db, world):
    for n in (1, 2):
        response = post_form(phone, f"/consent/sheet/{n}", {})
        assert response.headers["Location"] == f"/consent/sheet/{n + 1}"
    last = post_form(phone, "/consent/sheet/10", {})
    assert last.headers["Location"] == "/consent/screening"
    read = db.execute(
        "SELECT count(*) FROM audit_events WHERE action = 'sheet.section_read' AND course_id = ?",
        [course_of(db, world)],
    ).fetchone()[0]
    assert read == 3


def test_canonical_text_hash_is_stable_and_changes_with_the_text(app):
    clinic = {"name": "Clinic A", "phone": "+39 06 1111", "drugs": '["lidocaine"]'}
    with app.test_request_context():
        first = sheet.canonical_text(clinic)
        again = sheet.canonical_text(dict(clinic))
        other_phone = sheet.canonical_text(dict(clinic, phone="+39 06 2222"))
    assert sheet.text_hash(first) == sheet.text_hash(again)
    assert sheet.text_hash(first) == hashlib.sha256(first.encode()).hexdigest()
    assert sheet.text_hash(first) != sheet.text_hash(other_phone)
    assert sheet.text_hash(first + " ") == sheet.text_hash(first)  # normalized, not reformatted
    assert sheet.text_hash(first.replace("doctor", "nurse")) != sheet.text_hash(first)


def test_canonical_text_reads_back_as_the_sections_shown(app):
    clinic = {"name": "Clinic A", "phone": "1", "drugs": '["lidocaine"]'}
    with app.test_request_context():
        shown = sheet.sections(clinic)
        body, statements = sheet.split_statements(sheet.parse(sheet.canonical_text(clinic)))
        texts = sheet.agreement_texts(clinic)
    assert [(s.title, s.summary, s.blocks) for s in body] == [
        (s.title, s.summary, s.blocks) for s in shown
    ]
    assert statements == [(key, texts[key]) for key in sheet.AGREEMENTS]


# --- screening and comprehension check ---------------------------------------------------


def test_screening_answers_are_stored_flagged_and_do_not_block(phone, db, world, app):
    answers = dict(
        NO_FLAGS, allergy="yes", reaction="unsure", allergy_detail="Rash with <b>ibuprofen</b>"
    )
    response = answer_screening(phone, answers)
    assert response.headers["Location"] == "/consent/quiz"
    assert "Your doctor will read your answers" in phone.get("/consent/quiz").get_data(as_text=True)
    course = course_of(db, world)
    assert consents.screening_flags(db, course) == ["allergy", "reaction"]
    assert consents.latest_screening(db, course)["allergy"]["detail"] == (
        "Rash with <b>ibuprofen</b>"
    )
    staff = app.test_client()
    login(staff, world.clinician_a)
    listing = staff.get("/clinic/patients").get_data(as_text=True)
    assert "2 answers to review" in listing
    assert "screening answers to review" in staff.get("/clinic/").get_data(as_text=True)
    page = staff.get(f"/clinic/courses/{course}").get_data(as_text=True)
    assert "Rash with &lt;b&gt;ibuprofen&lt;/b&gt;" in page
    pass_quiz(phone)
    assert confirm(phone, review(phone)).headers["Location"] == "/consent/done"


def test_screening_needs_an_answer_to_every_question(phone, db, world):
    response = answer_screening(phone, {"allergy": "no"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Please choose an answer." in html
    assert 'aria-describedby="blood_thinners-error"' in html
    assert consents.latest_screening(db, course_of(db, world)) == {}
    invalid = answer_screening(phone, dict(NO_FLAGS, skin="perhaps"))
    assert invalid.status_code == 200
    assert consents.latest_screening(db, course_of(db, world)) == {}


def test_wrong_quiz_answer_explains_links_back_and_is_recorded(phone, db, world):
    answer_screening(phone)
    response = post_form(phone, "/consent/quiz", dict(ALL_RIGHT, works="always"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Not quite." in html
    assert "It does not work for everyone" in html
    assert 'href="/consent/sheet/4?back=quiz"' in html  # the risks section explains it
    assert html.count("Right.") == 3
    assert phone.get("/consent/agree").headers["Location"] == "/consent/quiz"
    assert pass_quiz(phone).headers["Location"] == "/consent/agree"
    attempts = consents.quiz_attempts(db, course_of(db, world))
    assert [a["passed"] for a in attempts] == [0, 1]
    assert attempts[0]["wrong"] == ["works"]


def test_agreement_requires_screening_and_quiz_first(phone):
    assert phone.get("/consent/agree").headers["Location"] == "/consent/screening"
    answer_screening(phone)
    assert phone.get("/consent/agree").headers["Location"] == "/consent/quiz"


# --- consent ---------------------------------------------------------------------------


def test_review_shows_exactly_what_will_be_signed(phone):
    answer_screening(phone)
    pass_quiz(phone)
    html = review(phone, full_name="Maria <script>Rossi").get_data(as_text=True)
    assert "Check and agree" in html
    assert "Maria &lt;script&gt;Rossi" in html and "<script>Rossi" not in html
    assert "I agree to have mesotherapy at Clinic A." in visible(html)
    assert "What are the side effects and risks?" in html
    assert re.search(r'name="text_sha256" value="[0-9a-f]{64}"', html)


def test_consent_record_holds_everything_and_never_changes(phone, db, world):
    signature = io.BytesIO()
    Image.new("RGBA", (300, 100), (255, 255, 255, 0)).save(signature, format="PNG")
    import base64

    data_url = "data:image/png;base64," + base64.b64encode(signature.getvalue()).decode()
    response = consent_through_ui(phone, evaluation="y", signature=data_url)
    assert response.headers["Location"] == "/consent/done"
    record = consents.latest(db, course_of(db, world))
    assert record["kind"] == "consent"
    assert record["sheet_version"] == sheet.SHEET_VERSION
    assert record["locale"] == "en"
    assert record["text_sha256"] == hashlib.sha256(record["text"].encode()).hexdigest()
    assert "What is mesotherapy?" in record["text"]
    assert record["agreements"] == {"treatment": True, "data": True, "evaluation": True}
    assert record["full_name"] == "Maria Rossi"
    assert record["signature_png"].startswith(b"\x89PNG")
    assert record["created_at"].endswith("+00:00")
    assert record["user_agent"]
    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE consents SET full_name = 'X'")
    actions = [
        r["action"]
        for r in db.query(
            "SELECT action FROM audit_events WHERE course_id = ? ORDER BY id", [record["course_id"]]
        )
    ]
    for step in ("screening.answered", "quiz.attempted", "consent.reviewed", "consent.given"):
        assert step in actions


def test_typed_name_alone_is_enough(phone, db, world):
    assert consent_through_ui(phone).headers["Location"] == "/consent/done"
    assert consents.latest(db, course_of(db, world))["signature_png"] is None


def test_required_agreements_and_name_are_checked_on_the_server(phone, db, world):
    answer_screening(phone)
    pass_quiz(phone)
    response = post_form(phone, "/consent/agree", {"treatment": "y", "full_name": " "})
    html = response.get_data(as_text=True)
    assert "Tick this box if you agree that your diary answers are kept and used." in html
    assert "Please type your full name." in html
    direct = post_form(phone, "/consent/agree", {"treatment": "y", "data": "y", "full_name": "M R"})
    missing_data = confirm(phone, direct, data="")
    assert missing_data.status_code == 400
    assert consents.latest(db, course_of(db, world)) is None


def test_tampered_text_hash_is_refused(phone, db, world):
    answer_screening(phone)
    pass_quiz(phone)
    response = confirm(phone, review(phone), text_sha256="0" * 64)
    assert response.status_code == 409
    assert "The information changed while you were reading" in response.get_data(as_text=True)
    assert consents.latest(db, course_of(db, world)) is None


def test_bad_signature_is_refused_with_a_clear_message(phone, db, world):
    answer_screening(phone)
    pass_quiz(phone)
    html = review(phone, signature="data:image/png;base64,bm90IGFuIGltYWdl").get_data(as_text=True)
    assert "The signature could not be read" in html
    assert consents.latest(db, course_of(db, world)) is None


def _signature_png() -> bytes:
    image = Image.new("RGBA", (40, 20), (255, 255, 255, 0))
    for x in range(40):
        image.putpixel((x, x % 20), (0, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _broken_chunk(png: bytes) -> bytes:
    """The PNG with its IDAT chunk's length halved: Pillow reads compressed data as the
    next chunk's header and raises SyntaxError ("broken PNG file")."""
    at = png.index(b"IDAT")
    (length,) = struct.unpack(">I", png[at - 4 : at])
    return png[: at - 4] + struct.pack(">I", length // 2) + png[at:]


def test_a_damaged_signature_is_refused_with_the_message_not_a_500(phone, db, world):
    """A damaged PNG chunk: Pillow's SyntaxError escaped as a 500 before WeasyPrint was
    imported; after, Pillow (made tolerant by WeasyPrint) decoded it to a partly blank
    signature, which was stored with the consent."""
    import weasyprint  # noqa: F401 - as in a server that has made a PDF

    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    answer_screening(phone)
    pass_quiz(phone)
    damaged = "data:image/png;base64," + base64.b64encode(_broken_chunk(_signature_png())).decode()
    response = review(phone, signature=damaged)
    assert response.status_code == 200
    assert "The signature could not be read" in response.get_data(as_text=True)
    assert consents.latest(db, course_of(db, world)) is None
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # WeasyPrint's setting is left as it was


def _outcome(url: str) -> bytes | str:
    """What ``signature.parse`` makes of ``url``: clean PNG bytes, or "refused"."""
    try:
        return signature.parse(url)
    except ValueError:
        return "refused"


def _parsed(url: str, tolerant: bool) -> bytes | str:
    """:func:`_outcome` with Pillow strict or tolerant."""
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = tolerant
    try:
        return _outcome(url)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


@settings(max_examples=300, deadline=None, derandomize=True)
@example(cuts=[(36, 1, b"\x10")])  # the IDAT length's last byte: a "broken PNG file"
@given(
    cuts=st.lists(
        st.tuples(st.integers(8, 400), st.integers(0, 8), st.binary(max_size=8)), max_size=4
    )
)
def test_a_damaged_png_is_refused_or_cleaned_the_same_way_whatever_pillow_is_set_to(cuts):
    """Any damage to a signature PNG (bytes replaced, dropped or inserted past the magic
    number) gives ValueError (the pages' message) or a cleaned PNG, and the same one
    whether or not WeasyPrint has made Pillow tolerant of damaged images."""
    data = bytearray(_signature_png())
    for at, drop, insert in cuts:
        at = min(at, len(data))
        data[at : at + drop] = insert
    url = "data:image/png;base64," + base64.b64encode(bytes(data)).decode()
    strict, tolerant = _parsed(url, False), _parsed(url, True)
    assert strict == tolerant
    assert strict == "refused" or strict.startswith(b"\x89PNG")


def test_damaged_signatures_parsed_at_once_are_all_refused_and_the_setting_kept():
    """Consents at once (gunicorn threads), with WeasyPrint's process-wide "tolerant" set
    (once, at start-up: the views import diary.pdf): each parse is strict while it runs,
    none restores "tolerant" while another runs, and WeasyPrint's setting is kept."""
    import weasyprint  # noqa: F401 - as in the app, which imports it at start-up

    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    damaged = "data:image/png;base64," + base64.b64encode(_broken_chunk(_signature_png())).decode()
    assert at_once(lambda: _outcome(damaged), count=8) == ["refused"] * 8
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True


def test_pdf_copy_for_patient_and_clinician(phone, app, db, world):
    consent_through_ui(phone)
    record = consents.latest(db, course_of(db, world))
    response = phone.get(f"/consent/copy/{record['id']}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Maria Rossi" in text
    assert record["text_sha256"] in text.replace("\n", "")
    assert "Information version" in text
    staff = app.test_client()
    login(staff, world.clinician_a)
    same = staff.get(f"/clinic/consents/{record['id']}.pdf")
    assert same.status_code == 200 and same.data[:5] == b"%PDF-"
    other = app.test_client()
    login(other, world.clinician_b)
    assert other.get(f"/clinic/consents/{record['id']}.pdf").status_code == 404
    assert other.get(f"/clinic/courses/{record['course_id']}").status_code == 404


def test_another_patient_cannot_download_the_copy(phone, app, db, world):
    consent_through_ui(phone)
    record = consents.latest(db, course_of(db, world))
    other_phone = app.test_client()
    open_link(other_phone, world.token_b)
    assert other_phone.get(f"/consent/copy/{record['id']}.pdf").status_code == 404


# --- withdrawal and new versions ---------------------------------------------------------


def test_withdrawal_is_a_new_record_and_the_clinician_sees_it(phone, app, db, world):
    consent_through_ui(phone)
    course = course_of(db, world)
    refused = post_form(phone, "/consent/withdraw", {})
    assert "Tick this box to confirm." in refused.get_data(as_text=True)
    assert consents.latest(db, course)["kind"] == "consent"
    response = post_form(phone, "/consent/withdraw", {"confirm": "y"})
    assert response.headers["Location"] == "/consent/"
    rows = consents.history(db, course)
    assert [r["kind"] for r in rows] == ["consent", "withdrawal"]
    assert "The diary is closed." in phone.get("/home").get_data(as_text=True)
    staff = app.test_client()
    login(staff, world.clinician_a)
    assert "Withdrawn" in staff.get("/clinic/patients").get_data(as_text=True)
    assert "Withdrawal" in staff.get(f"/clinic/courses/{course}").get_data(as_text=True)
    # consenting again later is possible, as a third record
    assert confirm(phone, review(phone)).headers["Location"] == "/consent/done"
    assert [r["kind"] for r in consents.history(db, course)] == ["consent", "withdrawal", "consent"]


def test_new_sheet_version_asks_for_consent_again(phone, app, db, world, monkeypatch):
    """A material version 3 after a consent to version 2: asked again, all steps again."""
    consent_through_ui(phone)
    course = course_of(db, world)
    assert consents.is_active(db, course, sheet.SHEET_VERSION)
    from diary.views import consent as consent_views
    from diary.views import patient as patient_views

    monkeypatch.setitem(sheet.REVISIONS, 3, "material")
    monkeypatch.setattr(sheet, "SHEET_VERSION", 3)
    monkeypatch.setattr(consent_views, "VERSION", 3)
    monkeypatch.setattr(patient_views, "SHEET_VERSION", 3)
    from diary.views import clinic as clinic_views

    monkeypatch.setattr(clinic_views.sheet, "SHEET_VERSION", 3)
    assert not consents.is_active(db, course, 3)
    assert "has been updated" in phone.get("/home").get_data(as_text=True)
    # the comprehension check and screening must be done again for version 3
    assert phone.get("/consent/agree").headers["Location"] == "/consent/screening"
    staff = app.test_client()
    login(staff, world.clinician_a)
    assert "Needs new consent (signed v2)" in staff.get("/clinic/").get_data(as_text=True)
    assert "Needs new consent (signed v2)" in staff.get("/clinic/patients").get_data(as_text=True)
    answer_screening(phone)
    pass_quiz(phone)
    assert confirm(phone, review(phone)).headers["Location"] == "/consent/done"
    assert consents.latest(db, course)["sheet_version"] == 3


def test_consent_pages_are_for_patients_only(client, app, world):
    assert client.get("/consent/").status_code == 403
    staff = app.test_client()
    login(staff, world.clinician_a)
    assert staff.get("/consent/").status_code == 403


def test_consent_journey_is_translated(app, world, db):
    client = app.test_client()
    open_link(client, world.token_b)  # patient B reads Arabic
    html = client.get("/consent/sheet/1").get_data(as_text=True)
    assert 'dir="rtl"' in html
    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("ar"):
            title = sheet.sections(accounts.get_clinic(db, world.clinic_b))[0].title
    assert title != "What is mesotherapy?" and title in html
