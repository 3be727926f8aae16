"""A walk through every page of the app in a real browser, for the language, layout and
accessibility tests. Each stop yields (name, page) after the page has loaded."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

from diary import clock, sheet
from diary.queries import consents, patients, seed, treatments
from tests.factories import give_consent
from tests.helpers import PASSWORD, fresh_code

Stop = tuple[str, object]


def prepare(db, world, lang: str) -> dict:
    """Patient A: consented, with sessions and a week of entries. Patient B: new."""
    for pid in (world.patient_a, world.patient_b):
        db.execute("UPDATE patients SET locale = ? WHERE id = ?", [lang, pid])
    db.execute("UPDATE clinicians SET locale = ?", [lang])
    course_a = patients.current_course(db, world.patient_a)["id"]
    course_b = patients.current_course(db, world.patient_b)["id"]
    give_consent(db, course_a, locale=lang)
    today = clock.now().date()
    db.execute(
        "UPDATE courses SET start_date = ? WHERE id = ?",
        [(today - timedelta(days=14)).isoformat(), course_a],
    )
    session = treatments.add_session(
        db,
        course_a,
        (today - timedelta(days=10)).isoformat(),
        nrs_before=8,
        drugs=[{"name": "lidocaine", "dose": "20 mg", "volume_ml": 2}],
    )
    for k in range(2, 9):
        seed.insert_entry(
            db,
            course_a,
            (today - timedelta(days=k)).isoformat(),
            f"t-{k}",
            8 - k // 2,
            9 - k // 2,
            site_effects=["redness"],
            note="ok",
        )
    consents.record_screening(
        db, course_b, sheet.SHEET_VERSION, {key: ("no", "") for key in sheet.SCREENING}
    )
    consents.record_quiz(db, course_b, sheet.SHEET_VERSION, {}, [])
    return {"course_a": course_a, "course_b": course_b, "session": session}


def submit(page, button) -> None:
    """Click a form's submit button and wait for the next page to load completely."""
    with page.expect_navigation(wait_until="load"):
        button.click()


def tour(open_page: Callable, base: str, world, db, lang: str, width: int = 360) -> Iterator[Stop]:
    """Visit every page in ``lang``; yields after each page is loaded."""
    ids = prepare(db, world, lang)
    page = open_page(width, 800)

    def visit(name: str, path: str) -> Stop:
        page.goto(base + path)
        return name, page

    yield visit("landing", f"/?lang={lang}")
    yield visit("not-found", "/no-such-page")
    yield visit("link-invalid", "/p/not-a-valid-token")
    yield visit("signed-out", "/home")
    yield visit("offline", "/offline")
    yield visit("verify-unknown", "/verify?code=ZZZZ-ZZZZ-ZZZZ")
    # patient B: the consent journey
    yield visit("continue", f"/p/{world.token_b}")
    submit(page, page.locator("main form button[type=submit]"))
    page.wait_for_url(base + "/home")
    yield "home-before-consent", page
    yield visit("consent-start", "/consent/")
    for n in range(1, 11):
        yield visit(f"consent-section-{n}", f"/consent/sheet/{n}")
    yield visit("screening", "/consent/screening")
    page.goto(base + "/consent/quiz")
    page.locator("input[name=works][value=always]").check()
    submit(page, page.locator("main form button[type=submit]"))
    yield "quiz-with-errors", page
    yield visit("agree", "/consent/agree")
    submit(page, page.locator("main form button[type=submit]").last)
    yield "agree-with-errors", page
    page.locator("#treatment").check()
    page.locator("#data").check()
    page.locator("#full_name").fill("Maria Rossi")
    submit(page, page.locator("main form button[type=submit]").last)
    yield "review", page
    submit(page, page.locator("form.stack button[type=submit]").first)
    page.wait_for_url(base + "/consent/done")
    yield "consent-done", page
    yield visit("withdraw", "/consent/withdraw")
    # patient A: the diary
    page.context.clear_cookies()
    page.goto(f"{base}/p/{world.token_a}")
    submit(page, page.locator("main form button[type=submit]"))
    page.wait_for_url(base + "/home")
    yield "home", page
    yield visit("entry", "/diary/entry")
    page.locator("form.entry-form button[type=submit]").click()
    page.locator("[data-entry-status]").filter(has_text="0").wait_for()
    yield "entry-with-errors", page
    yield visit("history", "/diary/history")
    yield visit("install", "/diary/install")
    yield visit("reminder", "/diary/reminder")
    page.locator("#time").fill("19:30")
    submit(page, page.locator("form.stack button[type=submit]"))
    yield "reminder-saved", page
    yield visit("urgent", "/diary/urgent")
    yield visit("phones", "/me/phones")
    # the clinician
    page.context.clear_cookies()
    yield visit("login", f"/login?lang={lang}")
    page.locator("#email").fill(world.admin_a)
    page.locator("#password").fill(PASSWORD)
    submit(page, page.locator("main form button[type=submit]"))
    page.wait_for_url(re.compile(r".*/login/code$"))
    yield "second-factor", page
    database = db.execute("PRAGMA database_list").fetchone()[2]
    page.locator("#code").fill(fresh_code(database, world.admin_a))
    submit(page, page.locator("form.stack button[type=submit]"))
    page.wait_for_url(re.compile(r".*/clinic/$"))
    yield "dashboard", page
    yield visit("patients", "/clinic/patients")
    yield visit("attention", "/clinic/attention")
    yield visit("enrol", "/clinic/patients/new")
    page.locator("#code").fill(f"T-{lang}")
    page.locator("#locale").select_option(lang)
    submit(page, page.locator("form.form-grid button[type=submit]"))
    yield "handout", page
    yield visit("course", f"/clinic/courses/{ids['course_a']}")
    yield visit("session-new", f"/clinic/courses/{ids['course_a']}/sessions/new")
    yield visit("session-edit", f"/clinic/sessions/{ids['session']}/edit")
    yield visit("new-course", f"/clinic/patients/{world.patient_a}/courses/new")
    yield visit("cohort", "/clinic/cohort")
    yield visit("settings", "/clinic/settings")
    yield visit("team", "/clinic/team")
    yield visit("account", "/clinic/account")
    submit(page, page.locator("form[action$='/recovery-codes'] button[type=submit]"))
    yield "recovery-codes", page
    yield visit("two-step-setup", "/clinic/account/authenticator")
    yield visit("erase", f"/clinic/patients/{world.patient_b}/erase")
