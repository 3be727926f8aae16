"""Attacks from the security review (issue 16), each reproduced here or, where the test
needs another module's fixtures, in the test named below. Every one failed before its fix.

Here: every PDF route waits for the render limit; per-user rate limits on PDFs, exports and
sign-in, holding across gunicorn workers; open redirects (``next=/%09/evil.example``); the
personal link in Referer (and ``test_browser.py::test_the_personal_link_never_leaves_in_a_
referer``); the Host header in the calendar feed; NUL in staff fields; security events
without a client address; unused links that never expire; phones the patient could not
sign out. ``test_i18n.py::test_a_language_link_does_not_change_the_saved_language``: a GET
with ``?lang=`` wrote the account's language.

Elsewhere:
* one patient's offline entries filed under another:
  ``test_browser_diary.py::test_an_offline_entry_is_never_filed_under_another_patient``,
  ``test_entries.py::test_an_entry_queued_for_another_diary_is_refused``;
* client ids deduplicated across patients: ``test_entries.py::test_client_ids_are_per_patient``;
* device times of year 1 and 9999: ``test_entries.py::test_a_phone_time_far_from_now_is_
  refused_with_400`` and ``::test_a_phone_clock_running_ahead_cannot_freeze_the_day``;
* deeply nested JSON: ``test_entries.py::test_deeply_nested_json_is_a_400_without_traceback``,
  and on the other JSON routes (both push routes, adding and using a passkey, which gave
  500 until ``diary.JSONProvider``): ``test_push.py::test_a_subscription_that_is_not_readable_
  json_is_a_400``, ``test_mfa.py::test_a_passkey_answer_nested_deeper_than_json_goes_
  is_a_400``;
* a lone UTF-16 surrogate in JSON (a 500 that stopped the phone's queue for good):
  ``test_entries.py::test_a_note_that_is_not_text_is_refused_and_does_not_hold_up_the_queue``;
* a damaged signature PNG (a 500, or, once WeasyPrint had made Pillow tolerant, a partly
  blank signature stored with the consent): ``test_consent.py::test_a_damaged_signature_is_
  refused_with_the_message_not_a_500`` and the property test below it;
* the earlier session alive after a new sign-in:
  ``test_mfa.py::test_every_sign_in_ends_the_session_the_browser_held``;
* 7 of 40 parallel wrong passwords checked against a limit of 5:
  ``test_mfa.py::test_parallel_wrong_passwords_under_gunicorn_are_checked_at_most_the_limit``;
* lockout by a third party: ``test_mfa.py::test_throttled_account_signs_in_with_password_
  and_code_while_wrong_passwords_wait``.
"""

from __future__ import annotations

import html
import os
import re
import signal
import threading
from datetime import timedelta
from pathlib import Path

import limits
import pytest

from diary import clock, migrations, pdf
from diary.db import connect
from diary.queries import accounts, patients
from tests.factories import give_consent
from tests.helpers import PASSWORD, csrf_from, login, open_link, visible

ROOT = Path(__file__).resolve().parent.parent


def _limit(app, name: str) -> int:
    return limits.parse(app.config[f"RATE_LIMIT_{name}"]).amount


# --- expensive requests: the render limit and per-user rate limits -------------------------


def _pdf_routes(app, db, world) -> list[tuple[object, str]]:
    """Every PDF route, each with a client allowed to open it."""
    course = patients.current_course(db, world.patient_a)["id"]
    consent_id = give_consent(db, course)
    staff = app.test_client()
    login(staff, world.clinician_a)
    phone = app.test_client()
    open_link(phone, world.token_a)
    return [
        (staff, f"/clinic/courses/{course}/summary.pdf"),
        (staff, f"/clinic/consents/{consent_id}.pdf"),
        (phone, f"/consent/copy/{consent_id}.pdf"),
    ]


def test_every_pdf_route_waits_for_the_render_limit(app, db, world):
    """With the only render slot taken (a patient looping on their PDF), every PDF route
    answers 503 with Retry-After instead of rendering beside it."""
    routes = _pdf_routes(app, db, world)
    for client, path in routes:  # each renders when a slot is free
        assert client.get(path).data[:5] == b"%PDF-", path
    app.config["PDF_CONCURRENCY"] = 1
    with app.app_context(), pdf.render_slot():
        for client, path in routes:
            response = client.get(path + "?lang=en")
            assert response.status_code == 503, path
            assert response.headers["Retry-After"] == "5"
            assert "Many documents are being prepared" in visible(response.get_data(as_text=True))


@pytest.mark.parametrize("route", [0, 1, 2], ids=["summary", "clinic-copy", "patient-copy"])
def test_pdfs_are_rate_limited_per_user(app, db, world, route):
    app.config["RATE_LIMIT_PDF"] = "3 per minute"
    client, path = _pdf_routes(app, db, world)[route]
    for _ in range(3):
        assert client.get(path).status_code == 200
    refused = client.get(path + "?lang=en")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many attempts" in visible(refused.get_data(as_text=True))
    # per user: someone else in the same clinic (or another patient) is not held up
    if route < 2:
        other = app.test_client()
        login(other, world.admin_a)
        assert other.get(path).status_code == 200


def test_exports_are_rate_limited_per_user(app, db, world):
    app.config["RATE_LIMIT_EXPORT"] = "3 per minute"
    course = patients.current_course(db, world.patient_a)["id"]
    staff = app.test_client()
    login(staff, world.clinician_a)
    for path in (f"/clinic/courses/{course}/export.csv", f"/clinic/courses/{course}/fhir.json",
                 "/clinic/cohort.csv"):  # fmt: skip
        assert staff.get(path).status_code == 200
    # one budget across the export routes of one user
    assert staff.get("/clinic/cohort.csv").status_code == 429
    phone = app.test_client()
    open_link(phone, world.token_a)
    assert [phone.get(p).status_code for p in ("/me/export.json", "/me/export.csv",
            "/me/export.json", "/me/export.csv")] == [200, 200, 200, 429]  # fmt: skip


def test_sign_in_and_patient_links_are_rate_limited_per_address(app, db, world):
    app.config["RATE_LIMIT_SIGNIN"] = "4 per minute"
    guesser = app.test_client()
    for k in range(4):
        assert guesser.get(f"/p/not-a-token-{k}").status_code == 404
    assert guesser.get("/p/not-a-token-x").status_code == 429
    # the limit is the address's: a fresh cookie does not reset it
    assert app.test_client().get(f"/p/{world.token_a}").status_code == 429
    # another address is not held up
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert other.get(f"/p/{world.token_a}").status_code == 200
    # the login form is counted on POST only (reading it costs nothing)
    app.config["RATE_LIMIT_SIGNIN"] = "2 per minute"
    desk = app.test_client()
    desk.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    for _ in range(5):
        assert desk.get("/login").status_code == 200
    token = csrf_from(desk.get("/login").get_data(as_text=True))
    wrong = {"csrf_token": token, "email": "x@example.org", "password": "wrong password"}
    posts = [desk.post("/login", data=wrong).status_code for _ in range(3)]
    assert posts[-1] == 429 and 429 not in posts[:2], posts


def test_limits_hold_across_gunicorn_workers(tmp_path):
    """Ten checks at once, over ten connections to two workers of two threads, against a
    limit of four: exactly four are answered, six refused (counts live in the database)."""
    from tests.live_server import Session, app_env, free_port, start_gunicorn

    db = connect(tmp_path / "l.sqlite")
    migrations.apply(db)
    db.conn.close()
    port = free_port()
    env = dict(app_env(tmp_path, "l.sqlite"), DIARY_RATE_LIMIT_VERIFY="4 per 15 minutes")
    server = start_gunicorn("diary:create_app()", port, env, ROOT, workers=2, threads=2)
    results: list[int] = []
    barrier = threading.Barrier(10)

    def check() -> None:
        session = Session(port)
        barrier.wait()
        status, _ = session.request("GET", "/verify?code=AAAA-BBBB-CCCC")
        results.append(status)
        session.close()

    try:
        threads = [threading.Thread(target=check) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    assert sorted(results) == [200] * 4 + [429] * 6, results


# --- small holes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["/%09/evil.example", "/%0a/evil.example", "/%0d%0a/evil.example", "/%20/evil.example",
     "//evil.example", "/%5Cevil.example", "https://evil.example"],
)  # fmt: skip
def test_sign_in_never_redirects_off_site(client, world, target):
    """Browsers drop tabs and line breaks from a URL: ``/<tab>/evil.example`` is
    ``//evil.example``, another site. Such a ``next`` falls back to the dashboard."""
    page = client.get(f"/login?next={target}")
    response = client.post(
        f"/login?next={target}",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)),
              "email": world.clinician_a, "password": PASSWORD},
    )  # fmt: skip
    assert response.status_code == 302
    assert response.location == "/clinic/", response.location


def test_a_safe_next_is_still_followed(client, world):
    page = client.get("/login?next=/clinic/patients%3Fq%3DA")
    response = client.post(
        "/login?next=/clinic/patients%3Fq%3DA",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)),
              "email": world.clinician_a, "password": PASSWORD},
    )  # fmt: skip
    assert response.location == "/clinic/patients?q=A"


def test_the_personal_link_is_never_sent_as_referer(client, world):
    page = client.get(f"/p/{world.token_a}")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    signed_in = client.post(
        f"/p/{world.token_a}", data={"csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    # the redirect to /home is made from the link's page: it must not name the link either
    assert signed_in.status_code == 302 and signed_in.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/home").headers["Referrer-Policy"] == "same-origin"


def test_the_calendar_feed_address_ignores_the_host_header(app, client, db, world):
    """Requests whose Host header says evil.example (a misrouted proxy, a forged request):
    the feed address the patient copies into their calendar, and the reminder's link to
    the diary, are still on DIARY_BASE_URL."""
    give_consent(db, patients.current_course(db, world.patient_a)["id"])  # a diary to remind of
    evil = "http://evil.example"
    page = client.get(f"/p/{world.token_a}", base_url=evil).get_data(as_text=True)
    client.post(f"/p/{world.token_a}", data={"csrf_token": csrf_from(page)}, base_url=evil)
    page = client.get("/diary/reminder", base_url=evil)
    assert page.status_code == 200  # signed in on that host
    html = client.post(
        "/diary/reminder",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "time": "20:00"},
        base_url=evil,
    ).get_data(as_text=True)
    base = app.config["BASE_URL"].rstrip("/")
    assert f"{base}/cal/" in html and "evil.example" not in html
    ics = client.get("/diary/reminder.ics", base_url=evil).get_data(as_text=True)
    assert f"{base}/diary/entry" in ics and "evil.example" not in ics


@pytest.mark.parametrize(
    ("path", "field"),
    [("/clinic/team", "name"), ("/clinic/patients/new", "code"), ("/clinic/settings", "phone")],
)
def test_staff_fields_refuse_nul_and_other_control_characters(app, db, world, path, field):
    admin = app.test_client()
    login(admin, world.admin_a)
    page = admin.get(path + "?lang=en").get_data(as_text=True)
    data = _form_fields(page)
    data[field] = "Anna\x00Bianchi"
    response = admin.post(path + "?lang=en", data=data)
    assert "Remove the control characters" in visible(response.get_data(as_text=True))
    dump = "\n".join(db.conn.iterdump())
    assert "Anna\x00Bianchi" not in dump and "Anna" + "\\x00" not in dump


def test_free_text_refuses_nul_but_keeps_line_breaks(app, db, world):
    from diary.forms import SessionForm

    with app.test_request_context(method="POST", data={"notes": "a\x00b"}):
        form = SessionForm(meta={"csrf": False})
        form.validate()
        assert "control characters" in str(form.notes.errors)
    with app.test_request_context(method="POST", data={"notes": "line 1\r\nline 2"}):
        form = SessionForm(meta={"csrf": False})
        form.validate()
        assert not form.notes.errors


def test_security_events_carry_the_client_address(app, client, world, caplog):
    import json
    import logging

    caplog.set_level(logging.INFO, logger=app.logger.name)
    client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"csrf_token": csrf_from(page), "email": world.clinician_a,
                                "password": "not the password"})  # fmt: skip
    client.get("/clinic/")  # refused: not signed in
    client.post("/login", data={"email": "x"})  # no form token
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    security = {line["event"]: line for line in lines if line["event"] != "request"}
    for name in ("signin.failed", "access.refused", "csrf.refused"):
        assert security[name]["address"] == "203.0.113.77", (name, security.get(name))
    # ordinary lines stay without it
    assert all("address" not in line for line in lines if line["event"] == "request")


def _form_fields(page: str) -> dict[str, str]:
    """The values a browser would send for a page's first POST form (inputs, selects,
    textareas), enough to change one field and submit."""
    form = re.search(r'<form method="post"(?! action="/(language|logout)).*?</form>', page, re.S)[0]
    data = {
        m[0]: html.unescape(m[1])
        for m in re.findall(r'<input[^>]*name="([\w-]+)"[^>]*value="([^"]*)"', form)
    }
    for name, body in re.findall(r'<select[^>]*name="([\w-]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(
            r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body
        )
        first = re.search(r'<option[^>]*value="([^"]*)"', body)
        data[name] = html.unescape(
            (chosen and (chosen[1] or chosen[2])) or (first and first[1]) or ""
        )
    for name, body in re.findall(
        r'<textarea[^>]*name="([\w-]+)"[^>]*>(.*?)</textarea>', form, re.S
    ):
        data[name] = html.unescape(body.strip("\n"))
    return data


# --- links that expire, phones the patient can sign out --------------------------------------


def test_an_unused_link_expires(app, db, world):
    days = app.config["LINK_UNUSED_DAYS"]
    assert days == 30  # the documented default
    old = clock.iso(clock.now() - timedelta(days=days, minutes=1))
    db.execute(
        "UPDATE access_tokens SET created_at = ? WHERE patient_id = ?", [old, world.patient_a]
    )
    phone = app.test_client()
    page = phone.get(f"/p/{world.token_a}?lang=en")
    assert page.status_code == 404
    assert "This link has expired" in visible(page.get_data(as_text=True))
    token = csrf_from(phone.get("/?lang=en").get_data(as_text=True))
    refused = phone.post(f"/p/{world.token_a}", data={"csrf_token": token})
    assert refused.status_code == 404 and phone.get("/home").status_code == 403
    # a link used within the window keeps working; using it starts the window again
    fresh = app.test_client()
    db.execute(
        "UPDATE access_tokens SET created_at = ? WHERE patient_id = ?",
        [clock.iso(), world.patient_a],
    )
    open_link(fresh, world.token_a)
    used = db.execute(
        "SELECT last_used_at FROM access_tokens WHERE patient_id = ? AND purpose = 'link'",
        [world.patient_a],
    ).fetchone()[0]
    assert used and clock.now() - clock.parse(used) < timedelta(minutes=1)
    db.execute(
        "UPDATE access_tokens SET created_at = ? WHERE patient_id = ?", [old, world.patient_a]
    )
    assert app.test_client().get(f"/p/{world.token_a}").status_code == 200  # used just now


ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
SAMSUNG = (
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like "
    "Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"
)


def test_the_patient_sees_and_signs_out_their_other_phones(app, db, world):
    android = ANDROID_CHROME
    iphone = IPHONE_SAFARI
    mine, lost = app.test_client(), app.test_client()
    mine.environ_base["HTTP_USER_AGENT"] = android
    lost.environ_base["HTTP_USER_AGENT"] = iphone
    open_link(mine, world.token_a)
    open_link(lost, world.token_a)
    other_patient = app.test_client()
    open_link(other_patient, world.token_b)
    page = visible(mine.get("/me/phones?lang=en").get_data(as_text=True))
    assert "Chrome · Android" in page and "Safari · iPhone" in page and "This phone" in page
    # another patient's phones are neither listed nor reachable
    theirs = accounts.open_patient_sessions(db, world.patient_b)
    assert len(theirs) == 1 and "Safari · iPhone" not in visible(
        other_patient.get("/me/phones?lang=en").get_data(as_text=True)
    )
    token = csrf_from(mine.get("/me/phones").get_data(as_text=True))
    assert (
        mine.post(f"/me/phones/{theirs[0]['id']}/signout", data={"csrf_token": token}).status_code
        == 404
    )
    assert other_patient.get("/home").status_code == 200
    # without the form's token nothing happens
    [lost_session] = [
        d
        for d in accounts.open_patient_sessions(db, world.patient_a)
        if d["device"].endswith("iPhone")
    ]
    assert mine.post(f"/me/phones/{lost_session['id']}/signout").status_code == 400
    assert lost.get("/home").status_code == 200
    # with it, the lost phone is signed out at once; this phone stays
    done = mine.post(f"/me/phones/{lost_session['id']}/signout", data={"csrf_token": token})
    assert done.status_code == 302
    assert lost.get("/home").status_code == 403 and mine.get("/home").status_code == 200
    events = db.execute(
        "SELECT detail FROM audit_events WHERE action = 'signout.other_phones'"
    ).fetchall()
    assert len(events) == 1 and '"count": 1' in events[0][0]


def test_sign_out_all_other_phones_keeps_this_one(app, db, world):
    phones = [app.test_client() for _ in range(3)]
    for phone in phones:
        open_link(phone, world.token_a)
    token = csrf_from(phones[0].get("/me/phones").get_data(as_text=True))
    phones[0].post("/me/phones/signout-others", data={"csrf_token": token})
    assert [p.get("/home").status_code for p in phones] == [200, 403, 403]
    assert len(accounts.open_patient_sessions(db, world.patient_a)) == 1


def test_device_descriptions():
    from diary.devices import describe

    assert describe(EDGE_WINDOWS) == "Edge · Windows"
    assert describe(SAMSUNG) == "Samsung Internet · Android"
    assert describe(ANDROID_CHROME) == "Chrome · Android"
    assert describe(IPHONE_SAFARI) == "Safari · iPhone"
    firefox = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:132.0) Gecko/20100101 Firefox/132.0"
    assert describe(firefox) == "Firefox · macOS"
    assert describe("curl/8.5") == "" and describe(None) == ""


def test_phones_signed_in_for_a_patient_coded_in_arabic(app, db, world):
    patient = patients.create_patient(db, world.clinic_a, "مريض-1", locale="ar")
    course = patients.create_course(db, patient, "knee", clock.now().date().isoformat())
    give_consent(db, course)
    token = patients.issue_link(db, patient)
    mine, lost = app.test_client(), app.test_client()
    mine.environ_base["HTTP_USER_AGENT"] = ANDROID_CHROME
    lost.environ_base["HTTP_USER_AGENT"] = IPHONE_SAFARI
    open_link(mine, token)
    open_link(lost, token)
    page = mine.get("/me/phones").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in page
    # each device name is a Latin run isolated inside the Arabic heading
    assert '<bdi dir="ltr" translate="no">Chrome · Android</bdi>' in page
    assert '<bdi dir="ltr" translate="no">Safari · iPhone</bdi>' in page
    [lost_session] = [
        d for d in accounts.open_patient_sessions(db, patient) if d["device"].endswith("iPhone")
    ]
    done = mine.post(
        f"/me/phones/{lost_session['id']}/signout", data={"csrf_token": csrf_from(page)}
    )
    assert done.status_code == 302
    assert lost.get("/home").status_code == 403 and mine.get("/home").status_code == 200
