"""The consent journey in Debian's Chromium at phone width, in English and Arabic:
sheet -> screening -> quiz with one wrong answer -> consent -> PDF download."""

import io

import pytest
from pypdf import PdfReader

from diary import sheet
from diary.queries import consents, patients
from tests.helpers import has_horizontal_overflow, screenshot

pytestmark = pytest.mark.browser


def walk_consent(page, base, lang, *, wrong_first=True, sign=False):
    page.goto(base + "/consent/")
    screenshot(page, f"consent-start-360-{lang}")
    page.locator("a.button-large").click()
    for n in range(1, 11):
        page.wait_for_url(f"{base}/consent/sheet/{n}")
        assert page.locator(".progress-text").inner_text().strip()
        assert not has_horizontal_overflow(page), f"overflow on section {n}"
        if n in (1, 4):
            screenshot(page, f"consent-section{n}-360-{lang}")
        page.locator(".pager button[type=submit]").click()
    page.wait_for_url(base + "/consent/screening")
    for key in sheet.SCREENING:
        page.locator(f"input[name={key}][value={'yes' if key == 'allergy' else 'no'}]").check()
    page.locator("#allergy_detail").fill("Rash after ibuprofen")
    screenshot(page, f"consent-screening-360-{lang}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + "/consent/quiz")
    answers = {
        "works": "maybe",
        "side_effects": "local",
        "sessions": "regular",
        "withdraw": "any_time",
    }
    if wrong_first:
        page.locator("input[name=works][value=always]").check()
        for key in ("side_effects", "sessions", "withdraw"):
            page.locator(f"input[name={key}][value={answers[key]}]").check()
        # the answer comes back on the same URL: wait for the page it sends, not the URL
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        assert page.locator(".feedback.wrong").count() == 1
        read_again = page.locator(".feedback.wrong a")
        assert read_again.get_attribute("href") == "/consent/sheet/4?back=quiz"
        assert not has_horizontal_overflow(page)
        screenshot(page, f"consent-quiz-wrong-360-{lang}")
        read_again.click()  # the risks part, then straight back with the right answers kept
        page.wait_for_url(base + "/consent/sheet/4?back=quiz")
        page.locator(".pager a.button").click()
        page.wait_for_url(base + "/consent/quiz")
        for key in ("side_effects", "sessions", "withdraw"):
            assert page.locator(f"input[name={key}][value={answers[key]}]").is_checked(), key
        assert not page.locator("input[name=works]:checked").count()
    for key, value in answers.items():
        page.locator(f"input[name={key}][value={value}]").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + "/consent/agree")
    page.locator("#treatment").check()
    page.locator("#data").check()
    page.locator("#full_name").fill("Maria Rossi")
    if sign:
        pad = page.locator("canvas.signature-pad")
        assert pad.is_visible()
        pad.scroll_into_view_if_needed()
        box = pad.bounding_box()
        page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
        page.mouse.down()
        for step in range(1, 12):
            page.mouse.move(
                box["x"] + 20 + step * 20, box["y"] + box["height"] / 2 + (-1) ** step * 15
            )
        page.mouse.up()
    screenshot(page, f"consent-agree-360-{lang}")
    page.locator("main form button[type=submit]").last.click()
    assert page.locator("h1").count() == 1
    screenshot(page, f"consent-review-360-{lang}")
    assert not has_horizontal_overflow(page)
    if sign:
        assert page.locator("img.signature-image").is_visible()
    page.locator("form.stack button[type=submit]").first.click()
    page.wait_for_url(base + "/consent/done")
    screenshot(page, f"consent-done-360-{lang}")
    with page.expect_download() as download:
        page.locator("a[href$='.pdf']").click()
    return download.value.path()


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_consent_journey_on_a_phone(lang, live_server, page_at, world, db, browser):
    db.execute("UPDATE patients SET locale = ? WHERE id = ?", [lang, world.patient_a])
    page = page_at(360, 740)
    page.goto(f"{live_server}/p/{world.token_a}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server + "/home")
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    pdf_path = walk_consent(page, live_server, lang, sign=(lang == "en"))
    course = patients.current_course(db, world.patient_a)["id"]
    record = consents.latest(db, course)
    assert record["locale"] == lang and record["full_name"] == "Maria Rossi"
    assert (record["signature_png"] is not None) == (lang == "en")
    attempts = consents.quiz_attempts(db, course)
    assert [a["passed"] for a in attempts] == [0, 1]
    with open(pdf_path, "rb") as fh:
        data = fh.read()
    (screenshot.__globals__["OUTPUT"] / f"consent-{lang}.pdf").write_bytes(data)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    flat = text.replace("\n", "")
    assert "Maria Rossi" in text
    assert record["text_sha256"] in flat
    assert str(record["sheet_version"]) in text
    if lang == "ar":
        assert any("\u0600" <= ch <= "\u06ff" for ch in text)


def test_reconsent_after_v1_countersign_and_verify(live_server, page_at, world, db, tmp_path):
    """A patient who agreed to version 1 is asked again and first sees what changed; a
    clinician countersigns the consent; the code on its PDF verifies at /verify."""
    import re
    import subprocess
    from pathlib import Path

    from tests.helpers import PASSWORD

    data = Path(__file__).parent / "data" / "sheet_v1_en.txt"
    course = patients.current_course(db, world.patient_a)["id"]
    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_a])
    consents.give(
        db, course, sheet_version=1, locale="en", text=data.read_text(encoding="utf-8"),
        agreements={"treatment": True, "data": True}, full_name="Maria Rossi",
        signature_png=None, user_agent="pytest",
    )  # fmt: skip
    phone = page_at(360, 740)
    phone.goto(f"{live_server}/p/{world.token_a}")
    phone.locator("main form button[type=submit]").click()
    phone.wait_for_url(live_server + "/home")
    assert "has been updated" in phone.locator("main").inner_text()
    phone.goto(live_server + "/consent/")
    phone.get_by_role("link", name="See what changed").click()
    phone.wait_for_url(live_server + "/consent/changes")
    assert phone.locator(".change del").count() and phone.locator(".change ins").count()
    assert "rare but can be serious" in phone.locator(".change del").all_inner_texts().__str__()
    assert not has_horizontal_overflow(phone)
    screenshot(phone, "consent-changes-360")
    phone.get_by_role("link", name="Read the updated information").click()
    phone.wait_for_url(live_server + "/consent/sheet/1")

    latest = consents.latest(db, course)
    staff = page_at(1280, 900)
    staff.goto(live_server + "/login")
    staff.get_by_label("Email address").fill(world.clinician_a)
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.goto(f"{live_server}/clinic/courses/{course}?lang=en")
    staff.get_by_label("I discussed this with the patient and answered their questions.").check()
    staff.get_by_label("Witness's name (if there was one)").fill("Anna Bianchi")
    staff.get_by_role("button", name="Countersign").click()
    staff.wait_for_url(f"{live_server}/clinic/courses/{course}")
    assert "Countersigned by Dario Doc" in staff.locator("#countersign").inner_text()
    screenshot(staff, "clinic-countersigned-1280")
    with staff.expect_download() as download:
        staff.evaluate(
            "url => { const a = document.createElement('a'); a.href = url; a.download = '';"
            " document.body.appendChild(a); a.click(); }",
            f"/clinic/consents/{latest['id']}.pdf",
        )
    path = tmp_path / "copy.pdf"
    download.value.save_as(path)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    code = re.search(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b", text).group(0)
    assert "Anna Bianchi" in text and "Dario Doc" in text

    anyone = page_at(360, 740)
    anyone.goto(live_server + "/verify?lang=en")
    anyone.get_by_label("Verification code").fill(code.lower())
    with anyone.expect_navigation():
        anyone.get_by_role("button", name="Check", exact=True).click()
    result = anyone.locator(".verify-result").inner_text()
    # version 1 was agreed to and version 2 is material: it is on record, and out of date
    assert "a new consent is needed" in result and "Clinic A" in result
    assert "Maria" not in anyone.locator("main").inner_text()
    screenshot(anyone, "verify-360")
    # the downloaded file itself, uploaded: an unchanged copy; one changed byte: no match
    anyone.get_by_label("PDF copy of the consent").set_input_files(str(path))
    with anyone.expect_navigation():  # the page already shows a result: wait for the new one
        anyone.get_by_role("button", name="Check the file").click()
    result = anyone.locator(".verify-result").inner_text()
    assert "This file is an unchanged copy" in result and "a new consent is needed" in result
    screenshot(anyone, "verify-file-360")
    data = path.read_bytes()
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(data[:300] + bytes([data[300] ^ 1]) + data[301:])
    anyone.get_by_label("PDF copy of the consent").set_input_files(str(changed))
    with anyone.expect_navigation():
        anyone.get_by_role("button", name="Check the file").click()
    assert "does not match any copy" in anyone.locator(".verify-result").inner_text()
    assert not has_horizontal_overflow(anyone)


def test_an_admin_names_a_drug_in_arabic_and_the_arabic_sheet_shows_it(
    app, live_server, page_at, world, db
):
    """Clinic settings at desk width: the drug-names table (a labelled box per language,
    the standard name as a grey placeholder); the patient's Arabic sheet uses the name."""
    from diary.queries import accounts
    from tests.helpers import browser_login

    admin = page_at(1280, 900)
    browser_login(admin, live_server, world.admin_a, app.config["DATABASE"])
    admin.goto(live_server + "/clinic/settings?lang=en")
    admin.get_by_label("Drugs the clinic uses (one per line)").fill("mepivacaine 1%\nTraumeel")
    admin.get_by_role("button", name="Save the settings").click()
    box = admin.get_by_label("Traumeel · العربية")
    assert admin.get_by_label("mepivacaine 1% · Italiano").get_attribute("placeholder") == (
        "mepivacaina 1%"
    )
    box.fill("تراوميل")
    box.focus()
    screenshot(admin, "clinic-settings-drug-names-1280")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Save the settings").click()
    assert "The settings are saved." in admin.locator("main").inner_text()
    assert accounts.get_clinic(db, world.clinic_a)["drug_names"] == {"Traumeel": {"ar": "تراوميل"}}

    db.execute("UPDATE patients SET locale = 'ar' WHERE id = ?", [world.patient_a])
    phone = page_at(360, 740, locale="ar")
    phone.goto(f"{live_server}/p/{world.token_a}")
    phone.locator("main form button[type=submit]").click()
    phone.wait_for_url(live_server + "/home")
    texts = []
    for n in range(1, len(sheet.sections(accounts.get_clinic(db, world.clinic_a))) + 1):
        phone.goto(f"{live_server}/consent/sheet/{n}")
        texts.append(phone.locator("main").inner_text())
    joined = "\n".join(texts)
    assert "تراوميل" in joined and "ميبيفاكائين 1%" in joined and "Traumeel" not in joined
