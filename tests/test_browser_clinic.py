"""The clinician workspace in Debian's Chromium: enrol, patient opens the link in a second
browser, two sessions recorded, the dashboard follows. Screenshots at 1280 and 768 px."""

import re
from datetime import timedelta

import pytest

from diary import clock, sheet
from diary.queries import patients
from tests.factories import give_consent
from tests.helpers import PASSWORD, has_horizontal_overflow, screenshot

pytestmark = pytest.mark.browser


def sign_in(page, base, email):
    page.goto(base + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/clinic/")


def record_session(page, day, nrs, drugs):
    page.get_by_role("link", name="Record a session").first.click()
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Pain before the session (NRS 0-10)").fill(str(nrs))
    for i, (name, dose) in enumerate(drugs):
        page.locator(f"#drugs-{i}-name").fill(name)
        page.locator(f"#drugs-{i}-dose").fill(dose)
    reminder = page.locator("[data-syringe-reminder]")
    assert reminder.is_visible() == (len(drugs) > 1)
    page.get_by_role("button", name="Save the session").click()


@pytest.mark.parametrize("width", [1280, 768])
def test_enrol_link_sessions_and_dashboard(width, live_server, page_at, world, db):
    staff = page_at(width, 900)
    sign_in(staff, live_server, world.clinician_a)
    staff.get_by_role("link", name="Enrol a patient").first.click()
    staff.get_by_label("Patient code").fill(f"W{width}")
    staff.get_by_label("Patient's language").select_option("en")
    staff.get_by_label("Area treated").select_option("knee")
    today = clock.today("Europe/Rome")  # clinic A's
    staff.get_by_label("Course start").fill((today - timedelta(days=7)).isoformat())
    with staff.expect_navigation():
        staff.get_by_role("button", name="Enrol and print the handout").click()
    assert staff.locator(".handout svg").is_visible()
    link = re.search(r"http://localhost/p/[\w-]+", staff.locator(".handout .link").inner_text())
    assert link
    screenshot(staff, f"clinic-handout-{width}")
    token = link.group(0).rsplit("/", 1)[1]

    phone = page_at(360, 740)  # a second browser context: the patient's phone
    phone.goto(f"{live_server}/p/{token}")
    phone.locator("main form button[type=submit]").click()
    phone.wait_for_url(live_server + "/home")
    patient = patients.find_patient(db, world.clinic_a, f"W{width}")
    course = patients.current_course(db, patient["id"])["id"]
    give_consent(db, course)

    staff.get_by_role("link", name="Go to the patient's course").click()
    record_session(staff, today - timedelta(days=7), 8, [("lidocaine", "20 mg")])
    record_session(staff, today, 5, [("ketorolac", "15 mg"), ("thiocolchicoside", "2 mg")])
    assert "one drug per syringe" in staff.locator(".flashes").inner_text()
    rows = staff.locator("#sessions-heading + .table-wrap tbody tr")
    assert rows.count() == 2
    screenshot(staff, f"clinic-course-{width}")

    staff.get_by_role("link", name="Dashboard").first.click()
    row = staff.locator("tr", has=staff.get_by_role("link", name=f"W{width}"))
    text = row.inner_text()
    assert f"Signed v{sheet.SHEET_VERSION}" in text and "consent not yet countersigned" in text
    assert "2" in row.locator("td.num").nth(2).inner_text()  # sessions so far
    assert not has_horizontal_overflow(staff)
    # the flags are seen without scrolling the table: at 768 px the last column was cut off
    flags = row.locator("td").first.bounding_box()
    table = staff.locator(".dashboard").locator("..").bounding_box()
    assert "consent not yet countersigned" in row.locator("td").first.inner_text()
    assert flags["x"] + flags["width"] <= table["x"] + table["width"]
    screenshot(staff, f"clinic-dashboard-{width}")
    staff.get_by_role("link", name="Cohort").click()
    screenshot(staff, f"clinic-cohort-{width}")


@pytest.mark.parametrize("width", [1280, 360])
def test_dashboard_pager(width, live_server, page_at, world, db):
    from diary.views.clinic import PAGE_SIZE

    for n in range(PAGE_SIZE + 4):
        pid = patients.create_patient(db, world.clinic_a, f"Q-{n:03d}")
        patients.create_course(db, pid, "neck", "2026-11-01")
    staff = page_at(width, 900)
    sign_in(staff, live_server, world.clinician_a)
    staff.get_by_label("Sort by").select_option("code")
    staff.get_by_role("button", name="Apply").click()
    pager = staff.get_by_role("navigation", name="Pages of open courses")
    assert pager.get_by_text("Page 1 of 2").is_visible()
    assert staff.locator("tbody tr").count() == PAGE_SIZE
    next_page = pager.get_by_role("link", name="Next page")
    box = next_page.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    assert not has_horizontal_overflow(staff)
    next_page.focus()
    staff.keyboard.press("Enter")
    staff.wait_for_url(re.compile(r"page=2"))
    assert staff.locator("tbody tr").count() == 5  # A-001 came first: are left
    assert staff.locator("tbody tr").last.inner_text().startswith(f"Q-{PAGE_SIZE + 3:03d}")
    assert staff.get_by_label("Sort by").input_value() == "code"
    screenshot(staff, f"clinic-dashboard-page2-{width}")
    pager.get_by_role("link", name="Previous page").click()
    staff.wait_for_url(re.compile(r"page=1"))
    assert staff.locator("tbody tr").first.inner_text().startswith("A-001")


@pytest.mark.parametrize("width", [1280, 360])
def test_session_form_before_treating(width, live_server, page_at, world, db):
    """No consent in the app, an unreviewed allergy sign and a "yes" screening answer: the
    form says so; an empty form lists every problem; "not measured", "no drug" and consent
    on paper (with its note) are then recorded and shown on the course page."""
    from diary import sheet
    from diary.entry_rules import EntryInput
    from diary.queries import consents
    from diary.queries import entries as diary_entries

    course = patients.current_course(db, world.patient_a)["id"]
    today = clock.today("Europe/Rome")
    diary_entries.save(
        db, course, EntryInput(day=today, avg=4, worst=5, client_id=f"b-{width}",
                               allergy_signs=["face_swelling"]),
        today, patient_id=world.patient_a, clinic_id=world.clinic_a,
    )  # fmt: skip
    consents.record_screening(
        db, course, sheet.SHEET_VERSION, {"blood_thinners": ("yes", "warfarin 5 mg")}
    )
    staff = page_at(width, 900)
    sign_in(staff, live_server, world.clinician_a)
    staff.goto(f"{live_server}/clinic/courses/{course}/sessions/new?lang=en")
    before = staff.get_by_role("region", name="Before treating")
    assert "has not given consent in the app yet" in before.inner_text()
    assert "Swelling of the face, lips or tongue" in before.inner_text()
    assert "warfarin 5 mg" in before.inner_text()
    staff.get_by_role("button", name="Save the session").click()
    summary = staff.locator(".error-summary")
    assert summary.is_visible()
    problems = summary.locator("li").all_inner_texts()
    assert len(problems) == 3, problems
    # in the order of the form: the pain, the drugs, the consent on paper at the end
    assert "Not measured" in problems[0] and "No drug was given" in problems[1]
    assert "consent was given on paper" in problems[2]
    screenshot(staff, f"clinic-session-errors-{width}")

    staff.get_by_label("Not measured").check()
    staff.get_by_label("No drug was given at this session").check()
    staff.get_by_label("The patient gave consent on paper", exact=False).check()
    staff.get_by_label("Note on the paper consent").fill("Explained by Dr Rossi, form in chart 12")
    for target in (
        staff.get_by_label("Not measured"),
        staff.get_by_role("button", name="Save the session"),
    ):
        box = target.bounding_box()
        assert box and box["height"] >= 24  # clinician page: WCAG 2.2 AA minimum target
    staff.get_by_role("button", name="Save the session").click()
    staff.wait_for_url(f"{live_server}/clinic/courses/{course}")
    row = staff.locator("#sessions-heading + .table-wrap tbody tr").first
    text = row.inner_text()
    assert "not measured" in text and "no drug" in text
    assert "Consent on paper" in text and "Dr Rossi" in text
    assert not has_horizontal_overflow(staff)
    screenshot(staff, f"clinic-course-paper-consent-{width}")


CHAR_BOXES = """(el) => {
  const node = el.firstChild, range = document.createRange(), boxes = [];
  for (let i = 0; i < node.length; i++) {
    range.setStart(node, i); range.setEnd(node, i + 1);
    const r = range.getBoundingClientRect();
    boxes.push([node.data[i], r.x, r.y]);
  }
  return boxes;
}"""


def reads_left_to_right(boxes) -> int:
    """Assert that the characters of each visual line run left to right; return how many
    pairs were compared (a value may wrap onto several lines in a narrow column)."""
    letters = [(x, y) for char, x, y in boxes if not char.isspace()]
    pairs = [(a, b) for a, b in zip(letters, letters[1:], strict=False) if abs(a[1] - b[1]) < 2]
    for a, b in pairs:
        assert a[0] < b[0], boxes
    return len(pairs)


@pytest.mark.parametrize("width", [1280, 360])
def test_arabic_course_page_keeps_needle_and_doses_in_order(width, live_server, page_at, world, db):
    """In the Arabic course page the needle "4 mm 27 G", the dose "2% 1 ml" and the patient
    code "1-A" read as typed, left to right (unisolated, "4" went to the right end)."""
    patient = patients.create_patient(db, world.clinic_a, "1-A", locale="ar")
    start = clock.today("Europe/Rome") - timedelta(days=7)
    course = patients.create_course(db, patient, "knee", start)
    give_consent(db, course, locale="ar")
    from diary.queries import treatments

    treatments.add_session(
        db, course, start, nrs_before=7, needle="4 mm 27 G",
        drugs=[{"name": "lidocaine", "dose": "2% 1 ml", "volume_ml": 1.5}],
    )  # fmt: skip
    staff = page_at(width, 900)
    sign_in(staff, live_server, world.clinician_a)
    staff.goto(f"{live_server}/clinic/courses/{course}?lang=ar")
    assert staff.locator("html").get_attribute("dir") == "rtl"
    row = staff.locator("#sessions-heading + .table-wrap tbody tr").first
    row.scroll_into_view_if_needed()
    for text in ("4 mm 27 G", "2% 1 ml", "1-A"):
        scope = row if text != "1-A" else staff.locator("h1")
        boxes = scope.locator("bdi", has_text=text).first.evaluate(CHAR_BOXES)
        assert "".join(b[0] for b in boxes) == text
        assert reads_left_to_right(boxes) >= 2, (text, boxes)
    screenshot(staff, f"clinic-course-ar-{width}")
