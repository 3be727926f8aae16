"""WCAG 2.2 AA checks in Debian's Chromium: axe-core on every page (English and Arabic),
the whole patient journey by keyboard with visible focus, 44 px touch targets on patient
pages, and reflow at 200 % and 400 % zoom."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.helpers import has_horizontal_overflow, screenshot
from tests.tour import tour

pytestmark = pytest.mark.browser
PATIENT_PAGES = {
    "continue",
    "home-before-consent",
    "consent-start",
    "screening",
    "quiz-with-errors",
    "agree",
    "agree-with-errors",
    "review",
    "consent-done",
    "withdraw",
    "home",
    "entry",
    "entry-with-errors",
    "history",
    "install",
    "reminder",
    "reminder-saved",
    "urgent",
    "phones",
    "offline",
    "signed-out",
    "link-invalid",
    *(f"consent-section-{n}" for n in range(1, 11)),
}


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_axe_finds_no_serious_or_critical_violation(lang, live_server, page_at, world, db):
    axe = Axe()
    problems = []
    for name, page in tour(page_at, live_server, world, db, lang):
        result = axe.run(page)
        for violation in result.response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                targets = [n["target"] for n in violation["nodes"]][:3]
                problems.append(f"{name}: {violation['id']} {targets}")
    assert problems == []


TARGETS = """() => {
  const small = [];
  const selector = 'button, .button, summary, label.option, label.check-label, label.nrs-option,'
    + ' select, textarea, input:not([type=hidden]):not([type=radio]):not([type=checkbox])';
  const measure = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return;
    if (r.width < 44 || r.height < 44)
      small.push(el.tagName.toLowerCase() + '.' + el.className + ' ' + Math.round(r.width) + 'x'
                 + Math.round(r.height) + ' ' + (el.textContent || '').trim().slice(0, 30));
  };
  for (const el of document.querySelectorAll(selector)) {
    if (!el.closest('[hidden]')) measure(el);
  }
  // a link on its own ("Back to my diary", "See all my entries", an error's link) is a
  // target too; a link inside a sentence is exempt (WCAG 2.5.5, inline)
  for (const a of document.querySelectorAll('main a:not(.button)')) {
    if (a.closest('[hidden]')) continue;
    const block = a.parentElement.closest('p, li, div, dd, td, section') || a.parentElement;
    let rest = block.textContent;
    for (const other of block.querySelectorAll('a')) rest = rest.replace(other.textContent, '');
    if (rest.replace(/[\\s·|]/g, '') === '') measure(a);
  }
  return small;
}"""


@pytest.mark.parametrize("lang", ["en", "ar", "zh_Hans"])
def test_touch_targets_are_at_least_44_px_on_patient_pages(lang, live_server, page_at, world, db):
    """Every control and every link on its own on a patient page is 44 x 44 px or more at
    360 px (WCAG 2.5.5), nothing sticks out sideways, in English, Arabic and Chinese."""
    small, wide = {}, {}
    for name, page in tour(page_at, live_server, world, db, lang):
        if name in PATIENT_PAGES:
            found = page.evaluate(TARGETS)
            if found:
                small[name] = found
            overflow = has_horizontal_overflow(page)
            if overflow:
                wide[name] = overflow
            screenshot(page, f"walk-360/{lang}/{name}")
    assert small == {}
    assert wide == {}


@pytest.mark.parametrize("width", [320, 640])
def test_pages_reflow_at_400_and_200_percent_zoom(width, live_server, page_at, world, db):
    """A 1280 px window at 400 % and 200 % zoom is 320 and 640 CSS pixels wide."""
    for name, page in tour(page_at, live_server, world, db, "en", width=width):
        overflow = has_horizontal_overflow(page)
        assert not overflow, f"{name} at {width} px: {overflow}"


FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  const shows = (node) => {
    const s = getComputedStyle(node);
    return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
      || s.boxShadow !== 'none';
  };
  return shows(el) || (el.closest('label') && shows(el.closest('label')));
}"""


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until ``selector`` has focus; every stop must show where the focus is."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUS_VISIBLE), "focus is not visible on " + page.evaluate(
            "document.activeElement.outerHTML.slice(0, 80)"
        )
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"could not reach {selector} with the keyboard")


def test_whole_patient_journey_by_keyboard(live_server, page_at, world, db):
    """Enrol link -> consent -> diary entry, with the keyboard only and visible focus."""
    from diary.queries import entries, patients

    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_a])
    page = page_at(360, 740)
    page.goto(f"{live_server}/p/{world.token_a}")
    tab_to(page, "form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/home")
    tab_to(page, "a[href='/consent/']")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/consent/")
    tab_to(page, "a[href='/consent/sheet/1']")
    page.keyboard.press("Enter")
    for n in range(1, 11):
        page.wait_for_url(f"{live_server}/consent/sheet/{n}")
        tab_to(page, ".pager button[type=submit]")
        page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/consent/screening")
    for key in ("allergy", "blood_thinners", "skin", "reaction", "pregnancy"):
        tab_to(page, f"input[name={key}]")
        page.keyboard.press("ArrowRight")  # yes -> no: the group's first radio is "yes"
        assert page.locator(f"input[name={key}][value=no]").is_checked()
    tab_to(page, "form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/consent/quiz")
    answers = {
        "works": "maybe",
        "side_effects": "local",
        "sessions": "regular",
        "withdraw": "any_time",
    }
    for key, value in answers.items():
        tab_to(page, f"input[name={key}]")
        page.keyboard.press("Space")
        for _ in range(3):
            if page.locator(f"input[name={key}][value={value}]").is_checked():
                break
            page.keyboard.press("ArrowDown")
        assert page.locator(f"input[name={key}][value={value}]").is_checked()
    tab_to(page, "form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/consent/agree")
    for box in ("#treatment", "#data"):
        tab_to(page, box)
        page.keyboard.press("Space")
    tab_to(page, "#full_name")
    page.keyboard.type("Maria Rossi")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Check and agree")
    tab_to(page, "form.stack button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/consent/done")
    tab_to(page, "a[href='/home']")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/home")
    tab_to(page, "a[href='/diary/entry']")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/diary/entry")
    for name, value in (("avg", 3), ("worst", 5)):
        tab_to(page, f"input[name={name}]")
        page.keyboard.press("Space")
        for _ in range(value):
            page.keyboard.press("ArrowRight")
        assert page.locator(f"#{name}-{value}").is_checked()
    tab_to(page, "form.entry-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/home?saved=1")
    course = patients.current_course(db, world.patient_a)["id"]
    assert [(e["avg_nrs"], e["worst_nrs"]) for e in entries.for_course(db, course)] == [(3, 5)]


def test_form_errors_are_linked_and_announced(live_server, page_at, world):
    page = page_at(360, 740)
    page.goto(live_server + "/login")
    page.locator("main form button[type=submit]").click()
    summary = page.locator(".error-summary")
    assert summary.get_attribute("role") == "alert"
    for field in ("email", "password"):
        described = page.locator(f"#{field}").get_attribute("aria-describedby")
        assert f"{field}-error" in described
        assert page.locator(f"#{field}-error").inner_text().strip()
    link = summary.locator("a").first
    assert link.get_attribute("href") == "#email"
