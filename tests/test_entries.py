"""The daily diary: date rules, validation, idempotent sync, consent enforced on the server."""

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from flask_babel import force_locale
from icalendar import Calendar

from diary import clock, entry_rules
from diary.entry_rules import EntryError, patient_today, timing
from diary.queries import consents, entries, patients, seed
from tests.factories import give_consent
from tests.helpers import DEEP_JSON, csrf_from, login, open_link, phone_queue_id

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)


# --- pure rules ------------------------------------------------------------------------


def test_today_is_on_time_yesterday_is_late_others_refused(app):
    with app.test_request_context():
        assert timing(TODAY, TODAY) == "on_time"
        assert timing(TODAY - timedelta(days=1), TODAY) == "late"
        with pytest.raises(EntryError, match="too long ago"):
            timing(TODAY - timedelta(days=2), TODAY)
        with pytest.raises(EntryError, match="has not come yet"):
            timing(TODAY + timedelta(days=1), TODAY)


def test_today_follows_the_clinic_time_zone():
    late_evening_utc = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert patient_today(late_evening_utc, None, "Europe/Rome") == date(2026, 11, 23)
    assert patient_today(late_evening_utc, None, "America/New_York") == date(2026, 11, 22)


def test_a_queued_entry_is_judged_by_when_it_was_saved_on_the_phone():
    server = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    saved_offline = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    assert patient_today(server, saved_offline, "UTC") == date(2026, 11, 22)
    # a phone clock in the future, or a month-old "device time", is not believed
    assert patient_today(server, server + timedelta(days=2), "UTC") == date(2026, 11, 25)
    assert patient_today(server, server - timedelta(days=45), "UTC") == date(2026, 11, 25)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"worst": "5"}, "avg"),
        ({"avg": "11", "worst": "11"}, "avg"),
        ({"avg": "-1", "worst": "3"}, "avg"),
        ({"avg": "3.5", "worst": "5"}, "avg"),
        ({"avg": "٣", "worst": "5"}, "avg"),
        ({"avg": True, "worst": 5}, "avg"),
        ({"avg": "6", "worst": "4"}, "worst"),
        ({"avg": "3", "worst": "4", "site_effects": ["fire"]}, "site_effects"),
        ({"avg": "3", "worst": "4", "allergy_signs": "hives,breathing"}, "allergy_signs"),
        ({"avg": "3", "worst": "4", "note": "x" * 501}, "note"),
        ({"avg": "3", "worst": "4", "note": 12}, "note"),
        ({"avg": "3", "worst": "4", "medication_taken": "maybe"}, "medication_taken"),
        ({"avg": "3", "worst": "4", "day": "22/11/2026"}, "day"),
        ({"avg": "3", "worst": "4", "client_id": "bad id!"}, "client_id"),
        ({"avg": "3", "worst": "4", "device_time": "2026-11-22T10:00:00"}, "device_time"),
    ],
)
def test_invalid_fields_are_refused_with_a_translated_message(app, data, field):
    with app.test_request_context():
        with pytest.raises(EntryError) as english:
            entry_rules.parse(data, default_day=TODAY, now=NOW)
        with force_locale("it"), pytest.raises(EntryError) as italian:
            entry_rules.parse(data, default_day=TODAY, now=NOW)
    assert english.value.field == field
    assert english.value.message and italian.value.message != english.value.message


def test_a_valid_entry_is_parsed(app):
    with app.test_request_context():
        entry = entry_rules.parse(
            {
                "avg": "4",
                "worst": 7,
                "site_effects": ["redness", "bruising"],
                "note": " ok \r\n",
                "medication_taken": "no",
                "medication": "ignored",
                "client_id": "abcdef12",
                "device_time": "2026-11-22T18:00:00Z",
            },
            default_day=TODAY,
            now=NOW,
        )
    assert (entry.avg, entry.worst, entry.day) == (4, 7, TODAY)
    assert entry.site_effects == ["bruising", "redness"]
    assert entry.medication == "" and entry.medication_taken is False
    assert entry.note == "ok" and entry.client_id == "abcdef12"
    assert entry.device_time == datetime(2026, 11, 22, 18, tzinfo=UTC)


# --- through the app --------------------------------------------------------------------


@pytest.fixture
def course(db, world):
    return patients.current_course(db, world.patient_a)["id"]


@pytest.fixture
def consented(db, course):
    give_consent(db, course)
    return course


def today_here() -> date:
    return clock.now().astimezone(__import__("zoneinfo").ZoneInfo("Europe/Rome")).date()


def sync(client, body, **headers):
    """POST an entry as the phone's queue does, stamped with the phone's queue id (the
    signed-in patient's, as its pages show it) unless the body has one."""
    if "queue_id" not in body and getattr(client, "queue_id", None):
        body = {**body, "queue_id": client.queue_id}
    return client.post(
        "/api/entries",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Sec-Fetch-Site": "same-origin", **headers},
    )


def entry_body(**fields):
    return {
        "client_id": fields.pop("client_id", "client-0001"),
        "avg": 4,
        "worst": 6,
        "day": today_here().isoformat(),
        **fields,
    }


def test_form_entry_is_stored_and_shown_on_home(phone, consented, db):
    page = phone.get("/diary/entry")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "0 — no pain" in html and "10 — worst pain imaginable" in html
    assert "not watched in real time" in html
    response = phone.post(
        "/diary/entry",
        data={
            "csrf_token": csrf_from(html),
            "avg": "3",
            "worst": "5",
            "site_effects": ["redness"],
            "note": "<script>alert(1)</script>",
        },
    )
    assert response.status_code == 302
    stored = entries.for_course(db, consented)
    assert [(e["avg_nrs"], e["worst_nrs"], e["late"]) for e in stored] == [(3, 5, 0)]
    home = phone.get("/home").get_data(as_text=True)
    assert "Done. Average pain 3, worst pain 5." in home
    history = phone.get("/diary/history").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in history and "<script>alert" not in history


def test_form_errors_are_shown_and_nothing_is_stored(phone, consented, db):
    html = phone.get("/diary/entry").get_data(as_text=True)
    response = phone.post(
        "/diary/entry", data={"csrf_token": csrf_from(html), "avg": "7", "worst": "2"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Your worst pain cannot be lower than your average pain." in page
    assert 'aria-describedby="worst-anchors worst-error"' in page
    assert entries.for_course(db, consented) == []


def test_no_entry_without_consent_even_by_direct_post(phone, course, db):
    assert phone.get("/diary/entry").status_code == 302  # sent home, to the consent card
    html = phone.get("/home").get_data(as_text=True)
    token = csrf_from(html)
    assert (
        phone.post("/diary/entry", data={"csrf_token": token, "avg": "3", "worst": "4"}).status_code
        == 403
    )
    response = sync(phone, entry_body())
    assert response.status_code == 403
    assert "consent" in response.json["error"]
    assert entries.for_course(db, course) == []


def test_withdrawn_consent_closes_the_diary(phone, consented, db):
    from diary.queries import consents

    consents.withdraw(db, consented, locale="en", text="withdrawn", user_agent="t")
    assert sync(phone, entry_body()).status_code == 403


def test_sync_is_idempotent_on_the_client_id(phone, consented, db):
    first = sync(phone, entry_body())
    assert first.status_code == 201 and first.json["status"] == "created"
    again = sync(phone, entry_body())
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert len(entries.for_course(db, consented)) == 1


def test_same_day_correction_updates_and_is_audited(phone, consented, db):
    # a month-and-a-half-old phone time is not believed: the server's time counts
    sync(phone, entry_body(device_time=(clock.now() - timedelta(days=45)).isoformat()))
    corrected = sync(phone, entry_body(client_id="client-0002", avg=2, worst=3))
    assert corrected.json["status"] == "updated"
    rows = entries.for_course(db, consented)
    assert [(r["avg_nrs"], r["worst_nrs"]) for r in rows] == [(2, 3)]
    events = list(
        db.query(
            "SELECT action, detail FROM audit_events WHERE course_id = ?"
            " AND action LIKE 'entry.%' ORDER BY id",
            [consented],
        )
    )
    assert [e["action"] for e in events] == ["entry.created", "entry.corrected"]
    assert json.loads(events[1]["detail"])["changed"] == ["avg_nrs", "worst_nrs"]
    assert entries.corrections(db, consented) == {rows[0]["id"]: 1}


def test_an_older_save_arriving_late_does_not_overwrite_a_newer_one(
    phone, consented, db, monkeypatch
):
    # noon in the clinic, so both saves fall on the same day whatever the time of the run
    now = datetime.combine(today_here(), time(12), tzinfo=ZoneInfo("Europe/Rome"))
    monkeypatch.setattr(clock, "now", lambda: now.astimezone(UTC))
    sync(phone, entry_body(client_id="client-new", avg=2, worst=2, device_time=now.isoformat()))
    stale = sync(
        phone,
        entry_body(
            client_id="client-old",
            avg=9,
            worst=9,
            device_time=(now - timedelta(minutes=5)).isoformat(),
        ),
    )
    assert stale.json["status"] == "stale"
    assert entries.for_course(db, consented)[0]["avg_nrs"] == 2


def test_yesterday_is_late_and_older_days_are_refused(phone, consented, db):
    yesterday = (today_here() - timedelta(days=1)).isoformat()
    late = sync(phone, entry_body(day=yesterday))
    assert late.status_code == 201 and late.json["late"] is True
    old = sync(
        phone,
        entry_body(client_id="client-0009", day=(today_here() - timedelta(days=2)).isoformat()),
    )
    assert old.status_code == 422 and "too long ago" in old.json["error"]
    future = sync(
        phone,
        entry_body(client_id="client-0010", day=(today_here() + timedelta(days=1)).isoformat()),
    )
    assert future.status_code == 422
    assert len(entries.for_course(db, consented)) == 1


def test_an_on_time_entry_cannot_be_changed_the_next_day(phone, consented, db, monkeypatch):
    day = today_here().isoformat()
    sync(phone, entry_body(day=day))
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + timedelta(days=1))
    response = sync(phone, entry_body(client_id="client-0003", avg=1, worst=1, day=day))
    assert response.status_code == 422
    assert entries.for_course(db, consented)[0]["avg_nrs"] == 4


def test_entry_saved_offline_and_sent_days_later_keeps_its_day(phone, consented, db, monkeypatch):
    saved_at = clock.now()
    day = today_here().isoformat()
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + timedelta(days=3))
    response = sync(phone, entry_body(day=day, device_time=saved_at.isoformat()))
    assert response.status_code == 201 and response.json["late"] is False
    row = entries.for_course(db, consented)[0]
    assert row["device_time"] == clock.iso(saved_at)
    assert row["created_at"] > row["device_time"]


def test_sync_refuses_cross_site_requests(phone, consented, db):
    assert sync(phone, entry_body(), **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    no_headers = phone.post(
        "/api/entries", data=json.dumps(entry_body()), content_type="application/json"
    )
    assert no_headers.status_code == 403
    origin = phone.post(
        "/api/entries",
        data=json.dumps({**entry_body(), "queue_id": phone.queue_id}),
        content_type="application/json",
        headers={"Origin": "http://localhost"},
    )
    assert origin.status_code == 201
    form_encoded = phone.post(
        "/api/entries", data={"avg": "3"}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert form_encoded.status_code == 400
    assert len(entries.for_course(db, consented)) == 1


def test_sync_when_signed_out_answers_401_json(app, consented):
    response = sync(app.test_client(), entry_body())
    assert response.status_code == 401 and "personal link" in response.json["error"]


def test_possible_allergic_reaction_flags_the_course_and_shows_advice(
    phone, consented, db, app, world
):
    html = phone.get("/diary/entry").get_data(as_text=True)
    response = phone.post(
        "/diary/entry",
        data={
            "csrf_token": csrf_from(html),
            "avg": "3",
            "worst": "4",
            "allergy_signs": ["face_swelling"],
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This may be an allergic reaction" in page and "tel:+39061111" in page
    assert patients.get_course(db, consented)["flagged"] == 1
    api = sync(phone, entry_body(client_id="client-0042", allergy_signs=["breathing"]))
    assert api.json["urgent"] is True


def test_the_entry_page_says_the_diary_is_not_watched(phone, consented):
    page = phone.get("/diary/entry")
    assert page.status_code == 200
    assert "not watched in real time" in page.get_data(as_text=True)


def test_home_shows_trend_chart_summary_and_week(phone, consented, db):
    today = today_here()
    for k in range(5):
        seed.insert_entry(
            db, consented, (today - timedelta(days=k + 1)).isoformat(), f"seed-{k}", 8 - k, 9 - k
        )
    from diary.queries import treatments

    treatments.add_session(db, consented, (today - timedelta(days=5)).isoformat(), nrs_before=8)
    html = phone.get("/home").get_data(as_text=True)
    assert "<svg" in html and 'role="img"' in html
    # now: yesterday's 8, the latest measurement after the baseline session
    yesterday = format_date(today - timedelta(days=1), "long", locale="en")
    assert f"Your pain went from 8 at the start to 8 on {yesterday}." in html
    # the diary is 6 days old (today, not filled in yet, is not counted): not "out of 7"
    assert "Since your diary started: 5 of 5 days filled in." in html
    assert "Next session expected around" in html
    assert "S1" in html


def test_ics_download_and_calendar_feed(phone, consented, app, db, world):
    from icalendar import Calendar

    page = phone.get("/diary/reminder").get_data(as_text=True)
    response = phone.post("/diary/reminder", data={"csrf_token": csrf_from(page), "time": "19:30"})
    html = response.get_data(as_text=True)
    feed = html.split("/cal/")[1].split(".ics")[0]
    ics = phone.get("/diary/reminder.ics")
    assert ics.mimetype == "text/calendar"
    for body in (ics.data, app.test_client().get(f"/cal/{feed}.ics").data):
        cal = Calendar.from_ical(body)
        event = next(iter(cal.walk("VEVENT")))
        assert event.decoded("dtstart").strftime("%H:%M") == "19:30"
        assert str(event.get("rrule")["FREQ"][0]) == "DAILY"
        assert [a.get("action") for a in event.walk("VALARM")] == ["DISPLAY"]
        assert b"avg" not in body and b"Clinic A" not in body and b"A-001" not in body
    dump = "\n".join(db.conn.iterdump())
    assert feed not in dump  # the feed token is stored only as a hash
    stop = phone.get("/diary/reminder").get_data(as_text=True)
    phone.post("/diary/reminder/stop", data={"csrf_token": csrf_from(stop)})
    assert app.test_client().get(f"/cal/{feed}.ics").status_code == 404


def _feed(phone, app) -> tuple[str, Callable[[], Calendar]]:
    """Subscribe at 19:30; the page, and a function reading the feed as parsed."""
    page = phone.get("/diary/reminder").get_data(as_text=True)
    html = phone.post(
        "/diary/reminder", data={"csrf_token": csrf_from(page), "time": "19:30"}
    ).get_data(as_text=True)
    token = html.split("/cal/")[1].split(".ics")[0]
    return html, lambda: Calendar.from_ical(app.test_client().get(f"/cal/{token}.ics").data)


def test_the_feed_follows_the_course(phone, consented, app, db, world):
    """Daily reminder plus the next expected visit; a VTIMEZONE for the zone it names; the
    series ends on the course's end date; an empty calendar after withdrawal."""
    today = today_here()
    last = today - timedelta(days=3)
    from diary.queries import treatments

    treatments.add_session(db, consented, last.isoformat(), nrs_before=7)
    html, read = _feed(phone, app)
    cal = read()
    [daily] = [e for e in cal.walk("VEVENT") if "RRULE" in e]
    [visit] = [e for e in cal.walk("VEVENT") if "RRULE" not in e]
    assert daily.decoded("dtstart").tzinfo.key == "Europe/Rome"
    assert daily["dtstart"].params["TZID"] == "Europe/Rome"
    zones = [str(z["TZID"]) for z in cal.walk("VTIMEZONE")]
    assert zones == ["Europe/Rome"]
    assert visit.decoded("dtstart") == last + timedelta(days=7)  # the clinic's interval
    # the titles say nothing of health, and are what the page promises
    titles = {str(daily["SUMMARY"]), str(visit["SUMMARY"])}
    assert titles == {"Daily diary", "Visit"}
    assert "“Daily diary”" in html and "“Visit”" in html
    # a closing date ends the series there (UNTIL in UTC, at the reminder's time)
    end = today + timedelta(days=3)  # the day before the expected visit
    db.execute("UPDATE courses SET end_date = ? WHERE id = ?", [end.isoformat(), consented])
    [daily] = [e for e in read().walk("VEVENT") if "RRULE" in e]
    until = daily["RRULE"]["UNTIL"][0]
    assert until.tzinfo is not None and until.utcoffset() == timedelta(0)
    rome = until.astimezone(ZoneInfo("Europe/Rome"))
    assert (rome.date(), rome.strftime("%H:%M")) == (end, "19:30")
    # a visit after the end is not announced; a course closed in the past: nothing at all
    assert [e for e in read().walk("VEVENT") if "RRULE" not in e] == []
    db.execute("UPDATE courses SET end_date = NULL WHERE id = ?", [consented])
    consents.withdraw(db, consented, locale="en", text="w", user_agent="pytest")
    after = read()
    assert list(after.walk("VEVENT")) == [] and str(after["X-WR-CALNAME"])
    assert list(Calendar.from_ical(phone.get("/diary/reminder.ics").data).walk("VEVENT")) == []


def test_the_feed_is_empty_for_a_closed_course(phone, consented, app, db):
    _html, read = _feed(phone, app)
    assert len(list(read().walk("VEVENT"))) == 1
    yesterday = (today_here() - timedelta(days=1)).isoformat()
    db.execute("UPDATE courses SET end_date = ? WHERE id = ?", [yesterday, consented])
    assert list(read().walk("VEVENT")) == []


def test_manifest_and_service_worker(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.json
    assert body["display"] == "standalone" and body["scope"] == "/"
    assert body["start_url"] == "/home" and body["theme_color"]
    sizes = {(i["sizes"], i["purpose"]) for i in body["icons"]}
    assert {
        ("192x192", "any"),
        ("512x512", "any"),
        ("192x192", "maskable"),
        ("512x512", "maskable"),
    } <= sizes
    for icon in body["icons"]:
        assert client.get(icon["src"]).status_code == 200
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and "javascript" in sw.mimetype
    assert sw.headers["Service-Worker-Allowed"] == "/"
    assert client.get("/offline").status_code == 200


def test_clinician_cannot_use_the_patient_diary(app, world):
    staff = app.test_client()
    login(staff, world.clinician_a)
    assert staff.get("/diary/entry").status_code == 403
    assert sync(staff, entry_body()).status_code == 403


# --- one patient's queue never acts for another ---------------------------------------


@pytest.fixture
def phone_b(app, world, db):
    """Patient B (clinic B) signed in on a second phone, with a consented course."""
    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [world.patient_b])
    give_consent(db, patients.current_course(db, world.patient_b)["id"])
    client = app.test_client()
    open_link(client, world.token_b)
    client.queue_id = phone_queue_id(client)
    return client


def gettext_ids(path: str) -> set[str]:
    """The messages of a source file marked for translation (what babel extracts)."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file

    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    return {m[1] for m in extract_from_file("python", path, keywords=keywords)}


def today_in_paris() -> date:
    return clock.now().astimezone(ZoneInfo("Europe/Paris")).date()


def test_client_ids_are_per_patient(phone, phone_b, consented, db, world):
    first = sync(phone, entry_body(client_id="same-id-0001", avg=2, worst=3, note="A's note"))
    assert first.status_code == 201
    # B's phone happens to use (or guesses) the same client id: B's own entry is stored,
    # and nothing of A's entry comes back
    other = sync(
        phone_b,
        entry_body(client_id="same-id-0001", avg=7, worst=9, day=today_in_paris().isoformat()),
    )
    assert other.status_code == 201 and other.json["status"] == "created"
    assert "A's note" not in other.get_data(as_text=True)
    course_b = patients.current_course(db, world.patient_b)["id"]
    assert [(r["avg_nrs"], r["worst_nrs"]) for r in entries.for_course(db, course_b)] == [(7, 9)]
    assert [(r["avg_nrs"], r["note"]) for r in entries.for_course(db, consented)] == [
        (2, "A's note")
    ]
    # and each patient's retry is still a duplicate of their own entry only
    again = sync(phone_b, entry_body(client_id="same-id-0001", avg=7, worst=9))
    assert again.json["status"] == "duplicate" and again.json["day"] == today_in_paris().isoformat()
    assert sync(phone, entry_body(client_id="same-id-0001")).json["status"] == "duplicate"


def test_an_entry_queued_for_another_diary_is_refused(phone, phone_b, consented, db, world):
    # A's phone queue stamped the entry with A's queue id; B is signed in now
    response = sync(phone_b, entry_body(queue_id=phone.queue_id, note="A's note"))
    assert response.status_code == 409
    assert (
        response.json["error"]
        == "This entry was saved on this phone for another diary. It was not sent."
    )
    assert phone.queue_id != phone_b.queue_id
    # an entry that does not say whose it is (queued by an older version) is not stored either
    response = phone_b.post(
        "/api/entries",
        data=json.dumps(entry_body(client_id="client-0099")),
        content_type="application/json",
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 409 and "older version" in response.json["error"]
    assert db.execute("SELECT count(*) FROM diary_entries").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM entry_submissions").fetchone()[0] == 0
    # the queue id is the patient's, not the link's: a re-issued link keeps it
    open_link(phone, patients.issue_link(db, world.patient_a))
    assert phone_queue_id(phone) == phone.queue_id
    assert world.token_a not in phone.queue_id


@pytest.mark.parametrize(
    "device_time",
    [
        "0001-01-01T00:00:00+05:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T20:00:00-05:00",
    ],  # fmt: skip
)
def test_a_phone_time_far_from_now_is_refused_with_400(phone, consented, db, device_time):
    response = sync(phone, entry_body(device_time=device_time))
    assert response.status_code == 400
    assert response.json["field"] == "device_time"
    assert "date and time on this phone" in response.json["error"]
    assert entries.for_course(db, consented) == []
    assert response.json["error"] in gettext_ids("diary/entry_rules.py")  # translatable


def test_a_phone_clock_running_ahead_cannot_freeze_the_day(phone, consented, db, monkeypatch):
    now = datetime.combine(today_here(), time(9), tzinfo=ZoneInfo("Europe/Rome"))
    monkeypatch.setattr(clock, "now", lambda: now.astimezone(UTC))
    ahead = (now + timedelta(hours=12)).isoformat()  # within the window, not believed
    assert sync(phone, entry_body(client_id="ahead-0001", device_time=ahead)).status_code == 201
    # a correction made on the form a minute later is applied, not taken as older
    monkeypatch.setattr(clock, "now", lambda: (now + timedelta(minutes=1)).astimezone(UTC))
    corrected = sync(phone, entry_body(client_id="fix-0001", avg=1, worst=2))
    assert corrected.json["status"] == "updated"
    assert entries.for_course(db, consented)[0]["avg_nrs"] == 1


@pytest.mark.parametrize(
    "raw",
    [
        DEEP_JSON,
        b'{"client_id": "deep-0001", "avg": 1, "worst": 1, "note": '
        + b"[" * 50_000
        + b"]" * 50_000
        + b"}",
    ],  # fmt: skip
)
def test_deeply_nested_json_is_a_400_without_traceback(phone, consented, db, caplog, raw):
    caplog.set_level(logging.DEBUG)
    response = phone.post(
        "/api/entries",
        data=raw,
        content_type="application/json",
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 400
    assert response.json == {"error": "This entry could not be read. Please try again."}
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text
    assert entries.for_course(db, consented) == []


@pytest.mark.parametrize(
    "note",
    [
        b'"\\ud800 half an emoji"',  # a lone surrogate, escaped as JSON.stringify writes it
        b'"\\udfff"',
        b'"\xed\xa0\x80 raw"',  # the same as raw bytes, which the JSON parser lets through
    ],
)
def test_a_note_that_is_not_text_is_refused_and_does_not_hold_up_the_queue(
    phone, consented, db, caplog, note
):
    """A lone UTF-16 surrogate is valid JSON but not text. SQLite refused it, a 500, and
    the phone's queue stops at a 500 and keeps the entry: every later entry waited behind
    it for good. Now a 400 (the queue files it as refused and goes on), nothing stored."""
    body = json.dumps(entry_body(queue_id=phone.queue_id, note="NOTE")).encode()
    raw = body.replace(b'"NOTE"', note)
    response = phone.post(
        "/api/entries", data=raw, content_type="application/json",
        headers={"Sec-Fetch-Site": "same-origin"},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json == {"error": "This entry could not be read. Please try again."}
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert entries.for_course(db, consented) == []
    # the next entry in the queue goes through
    assert sync(phone, entry_body(client_id="client-0002", note="ok 😀")).status_code == 201


# --- issue 17: what a patient sees ----------------------------------------------------------


def test_an_identical_resend_is_not_a_correction(phone, consented, db):
    """A double tap on Save (two client ids, the same answers) stores one entry: the second
    is "unchanged", not audited as a correction, and the history shows no "changed"."""
    first = sync(phone, entry_body(note="same"))
    again = sync(phone, entry_body(client_id="client-0002", note="same"))
    assert first.json["status"] == "created"
    assert again.status_code == 200 and again.json["status"] == "unchanged"
    [row] = entries.for_course(db, consented)
    assert entries.corrections(db, consented) == {}
    actions = [
        r["action"]
        for r in db.query(
            "SELECT action FROM audit_events WHERE course_id = ? AND action LIKE 'entry.%'",
            [consented],
        )
    ]
    assert actions == ["entry.created"]
    outcomes = [
        r[0] for r in db.execute("SELECT outcome FROM entry_submissions ORDER BY received_at")
    ]
    assert outcomes == ["created", "unchanged"]
    assert ">changed<" not in phone.get("/diary/history").get_data(as_text=True)
    # a real change is still a correction
    changed = sync(phone, entry_body(client_id="client-0003", note="different"))
    assert changed.json["status"] == "updated"
    assert entries.corrections(db, consented) == {row["id"]: 1}


def test_the_same_form_sent_twice_without_javascript_is_one_entry(phone, consented, db):
    for _ in range(2):
        html = phone.get("/diary/entry").get_data(as_text=True)
        response = phone.post(
            "/diary/entry", data={"csrf_token": csrf_from(html), "avg": "3", "worst": "5"}
        )
        assert response.status_code == 302
    assert entries.corrections(db, consented) == {}
    assert ">changed<" not in phone.get("/diary/history").get_data(as_text=True)


def test_history_shows_allergy_signs_and_pain_medicine(phone, consented, db):
    today = today_here()
    yesterday = today - timedelta(days=1)
    sync(
        phone,
        entry_body(
            allergy_signs=["face_swelling"],
            medication_taken="yes",
            medication="ibuprofen 400 mg",
        ),
    )
    seed.insert_entry(db, consented, yesterday.isoformat(), "seed-y", 3, 4, medication_taken=False)
    html = phone.get("/diary/history").get_data(as_text=True)
    assert "Signs of an allergic reaction: Swelling of the face, lips or tongue" in html
    assert "Pain medicine: ibuprofen 400 mg" in html
    assert "No pain medicine" in html


def test_a_missed_yesterday_comes_first_on_home(phone, consented, db):
    yesterday = today_here() - timedelta(days=1)
    html = phone.get("/home").get_data(as_text=True)
    assert html.index("Yesterday is not filled in") < html.index('id="today-heading"')
    assert f'href="/diary/entry?day={yesterday.isoformat()}"' in html
    assert "It will be marked as filled in late." in html
    late = phone.get(f"/diary/entry?day={yesterday.isoformat()}").get_data(as_text=True)
    assert "filled in late" in late
    late_save = sync(phone, entry_body(client_id="client-late-01", day=yesterday.isoformat()))
    assert late_save.json.get("late"), late_save.json
    assert "Yesterday is not filled in" not in phone.get("/home").get_data(as_text=True)


def test_day_one_says_what_a_person_would(phone, consented, db):
    """The first day: no "0 days filled in out of 7", no "went from 6 to 6"."""
    html = phone.get("/home").get_data(as_text=True)
    assert "Your diary starts today." in html and "out of 7" not in html
    from diary.queries import treatments

    treatments.add_session(db, consented, today_here().isoformat(), nrs_before=6)
    sync(phone, entry_body(avg=6, worst=7))
    html = phone.get("/home").get_data(as_text=True)
    assert "Your pain at the start: 6." in html
    assert "went from" not in html
    assert "Since your diary started: 1 of 1 day filled in." in html


def test_consent_times_carry_no_utc_offset_or_seconds(phone, consented):
    html = phone.get("/consent/").get_data(as_text=True)
    sentence = re.search(r"You gave your consent on ([^<]+)\.", html).group(1)
    assert not re.search(r"[+-]\d{4}|\d:\d\d:\d\d", sentence), sentence
    assert re.search(r"\d{1,2}:\d\d\s[AP]M$", sentence), sentence
