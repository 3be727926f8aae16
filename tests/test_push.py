"""Web Push reminders (issue 18, item 1): opting in on the reminder page, the sender
behind ``flask --app diary reminders send`` walked through a week on a test clock, and a
push service started by the test on loopback that decrypts each message with the keys
the test generated for the phone's subscription (as a browser would)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from diary import clock, reminders
from diary.db import connect
from diary.queries import consents, courses, patients
from tests.factories import consented_patient
from tests.helpers import DEEP_JSON, at_once, csrf_from, open_link
from tests.push_service import b64

ROME = ZoneInfo("Europe/Rome")
MONDAY = datetime(2027, 3, 1, tzinfo=ROME).date()  # a week without a clock change


@pytest.fixture
def at(monkeypatch):
    """Set the app's clock: ``at(day, "19:31")`` is that time in Rome."""
    moment = [datetime(2027, 3, 1, 9, 0, tzinfo=ROME)]
    monkeypatch.setattr(clock, "now", lambda: moment[0].astimezone(UTC))

    def move(day, hhmm: str) -> None:
        hours, minutes = map(int, hhmm.split(":"))
        moment[0] = datetime(day.year, day.month, day.day, hours, minutes, tzinfo=ROME)

    return move


@pytest.fixture
def patient(at, db, world):
    """A consented patient of clinic A (Rome) whose course starts on MONDAY, in English."""
    at(MONDAY, "09:00")
    patient_id, course_id, token = consented_patient(
        db, world.clinic_a, "P-PUSH", start=MONDAY.isoformat()
    )
    db.execute("UPDATE patients SET locale = 'en' WHERE id = ?", [patient_id])
    return {"id": patient_id, "course": course_id, "token": token}


def phone_for(app, token: str):
    client = app.test_client()
    open_link(client, token)
    return client


def set_time(phone, hhmm: str = "19:30") -> None:
    page = phone.get("/diary/reminder").get_data(as_text=True)
    response = phone.post("/diary/reminder", data={"csrf_token": csrf_from(page), "time": hhmm})
    assert response.status_code == 200


def subscribe(phone, subscription: dict):
    """Post a subscription as the page's button does (JSON, CSRF token in a header)."""
    token = csrf_from(phone.get("/diary/reminder").get_data(as_text=True))
    return phone.post("/diary/reminder/push", json=subscription, headers={"X-CSRFToken": token})


def endpoint_names(db) -> list[str]:
    """The stored subscriptions by the name the test's push service gave them (``/name``)."""
    rows = db.execute("SELECT endpoint FROM push_subscriptions ORDER BY id").fetchall()
    return [r[0].rsplit("/", 1)[1] for r in rows]


def send(runner) -> str:
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def fill_in(phone) -> None:
    html = phone.get("/diary/entry").get_data(as_text=True)
    saved = phone.post(
        "/diary/entry", data={"csrf_token": csrf_from(html), "avg": "3", "worst": "5"}
    )
    assert saved.status_code == 302


def test_a_week_of_reminders_comes_only_on_missing_days_once_a_day(
    app, db, runner, service, at, patient
):
    phone_a = phone_for(app, patient["token"])
    phone_b = phone_for(app, patient["token"])
    set_time(phone_a, "19:30")
    assert subscribe(phone_a, service.subscription("a")).status_code == 201
    assert subscribe(phone_b, service.subscription("b")).status_code == 201
    days = [MONDAY + timedelta(days=n) for n in range(7)]

    # Monday: filled in in the morning, so no reminder at all
    at(days[0], "10:00")
    fill_in(phone_a)
    for hhmm in ("19:29", "19:31", "23:59"):
        at(days[0], hhmm)
        send(runner)
    assert service.received == []

    # Tuesday: nothing before 19:30; at 19:31 one message to each phone; never a second
    at(days[1], "19:29")
    send(runner)
    assert service.received == []
    for hhmm in ("19:31", "19:36", "21:00", "23:59"):
        at(days[1], hhmm)
        send(runner)
    assert sorted(path for path, _h, _b in service.received) == ["/a", "/b"]
    message = service.messages("a")[0]
    assert message == {
        "title": "Your pain diary",
        "body": "How was your pain today? It takes a minute.",
        "url": "/diary/entry",
    }
    assert not any(c.isdigit() for c in json.dumps(message))  # no code, no numbers
    headers = service.received[0][1]
    assert 0 < int(headers["ttl"]) <= 5 * 3600  # gone by the end of the day

    # Wednesday: phone A signs the other phones out; only phone A is reminded
    at(days[2], "08:00")
    page = phone_a.get("/me/phones").get_data(as_text=True)
    phone_a.post("/me/phones/signout-others", data={"csrf_token": csrf_from(page)})
    at(days[2], "19:31")
    send(runner)
    assert [path for path, _h, _b in service.received[2:]] == ["/a"]

    # Thursday: filled in at 19:00, before the reminder time: none
    at(days[3], "19:00")
    fill_in(phone_a)
    at(days[3], "19:31")
    send(runner)
    assert len(service.received) == 3

    # Friday: missing, one reminder
    at(days[4], "20:00")
    send(runner)
    send(runner)
    assert len(service.received) == 4

    # Saturday: consent withdrawn in the morning: no more reminders, that day or after
    at(days[5], "09:00")
    consents.withdraw(db, patient["course"], locale="en", text="withdrawn", user_agent="pytest")
    for day in days[5:]:
        at(day, "19:31")
        send(runner)
    assert len(service.received) == 4
    sent = db.execute("SELECT day FROM reminders_sent ORDER BY day").fetchall()
    assert [row[0] for row in sent] == [d.isoformat() for d in (days[1], days[2], days[4])]


def test_course_end_and_signing_out_stop_the_reminders(app, db, runner, service, at, patient):
    phone = phone_for(app, patient["token"])
    set_time(phone, "08:00")
    subscribe(phone, service.subscription("a"))
    at(MONDAY, "08:05")
    send(runner)
    assert len(service.received) == 1
    # the clinic closes the course on Monday: Tuesday has no diary, so no reminder
    course = patients.get_course(db, patient["course"])
    courses.set_end(db, course, MONDAY)
    at(MONDAY + timedelta(days=1), "08:05")
    send(runner)
    assert len(service.received) == 1
    # reopened: reminded again; then this phone signs out and its subscription goes
    courses.set_end(db, course, None)
    at(MONDAY + timedelta(days=2), "08:05")
    send(runner)
    assert len(service.received) == 2
    token = csrf_from(phone.get("/home").get_data(as_text=True))
    phone.post("/logout", data={"csrf_token": token})
    assert db.execute("SELECT count(*) FROM push_subscriptions").fetchone()[0] == 0
    at(MONDAY + timedelta(days=3), "08:05")
    send(runner)
    assert len(service.received) == 2


def test_a_revoked_link_removes_its_phones_subscriptions(app, db, runner, service, at, patient):
    phone = phone_for(app, patient["token"])
    set_time(phone, "08:00")
    subscribe(phone, service.subscription("a"))
    patients.revoke_links(db, patient["id"])
    assert db.execute("SELECT count(*) FROM push_subscriptions").fetchone()[0] == 0
    at(MONDAY, "08:05")
    send(runner)
    assert service.received == []


def test_a_subscription_the_push_service_says_is_gone_is_removed(
    app, db, runner, service, at, patient
):
    phone_a = phone_for(app, patient["token"])
    phone_b = phone_for(app, patient["token"])
    set_time(phone_a, "08:00")
    subscribe(phone_a, service.subscription("gone"))
    subscribe(phone_b, service.subscription("expired"))
    service.status.update({"/gone": 410, "/expired": 404})
    at(MONDAY, "08:05")
    assert "removed 2" in send(runner)
    assert db.execute("SELECT count(*) FROM push_subscriptions").fetchone()[0] == 0


def test_a_failing_push_service_is_tried_again_at_the_next_run(
    app, db, runner, service, at, patient
):
    phone = phone_for(app, patient["token"])
    set_time(phone, "08:00")
    subscribe(phone, service.subscription("a"))
    service.status["/a"] = 503
    at(MONDAY, "08:05")
    send(runner)
    service.status["/a"] = 201
    at(MONDAY, "08:10")
    send(runner)
    at(MONDAY, "08:15")
    send(runner)
    assert len(service.received) == 2 and len(service.messages("a")) == 2


def test_two_runs_at_once_send_one_reminder(app, db, service, at, patient):
    phone = phone_for(app, patient["token"])
    set_time(phone, "08:00")
    subscribe(phone, service.subscription("a"))
    service.delay = 0.3  # both runs are well inside sending when the other claims
    at(MONDAY, "08:05")

    def run() -> dict:
        own = connect(app.config["DATABASE"])
        try:
            with app.app_context():
                return reminders.send_due(own, clock.now(), app.config)
        finally:
            own.conn.close()

    results = at_once(run)
    assert sorted(r["delivered"] for r in results) == [0, 1]
    assert len(service.received) == 1
    assert db.execute("SELECT count(*) FROM reminders_sent").fetchone()[0] == 1


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/x",  # not https
        "https://10.0.0.1/push",  # an address, not a push service's name
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/push",
        "https://localhost/push",
        "https://metadata.internal/push",
        "https://intranet/push",  # a name without a dot
        "https://user:pw@fcm.googleapis.com/x",
        "https://fcm.googleapis.com:8443/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://fcm.googleapis.com/" + "x" * 1100,
        "",
    ],
)
def test_subscriptions_must_point_at_a_public_https_push_service(app, db, patient, endpoint):
    phone = phone_for(app, patient["token"])
    body = {
        "endpoint": endpoint,
        "keys": {"p256dh": b64(b"\x04" + b"\x01" * 64), "auth": b64(b"a" * 16)},
    }
    assert subscribe(phone, body).status_code == 400
    assert db.execute("SELECT count(*) FROM push_subscriptions").fetchone()[0] == 0


def test_subscription_checks_keys_csrf_and_loopback_only_in_tests(app, db, patient):
    phone = phone_for(app, patient["token"])
    set_time(phone)
    good = {
        "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
        "keys": {"p256dh": b64(b"\x04" + b"\x01" * 64), "auth": b64(b"a" * 16)},
    }
    assert (
        subscribe(phone, {**good, "keys": {"p256dh": "AAAA", "auth": b64(b"a" * 16)}}).status_code
        == 400
    )
    assert subscribe(phone, {**good, "keys": {"p256dh": good["keys"]["p256dh"]}}).status_code == 400
    assert subscribe(phone, ["not", "an", "object"]).status_code == 400
    no_token = phone.post("/diary/reminder/push", json=good)
    assert no_token.status_code == 400
    assert subscribe(phone, good).status_code == 201
    # plain http to 127.0.0.1 is for the tests' push service only
    local = "http://127.0.0.1:8123/push"
    assert reminders.valid_endpoint(local, allow_loopback=reminders.loopback_allowed(app.config))
    assert not reminders.valid_endpoint(local, allow_loopback=reminders.loopback_allowed({}))
    assert reminders.loopback_allowed({"PUSH_ALLOW_LOOPBACK": True})
    # the endpoint and keys never appear in a page
    page = phone.get("/diary/reminder").get_data(as_text=True)
    assert "fcm.googleapis.com" not in page and good["keys"]["auth"] not in page
    assert "Notifications are on for this phone." in page


def test_a_name_that_resolves_to_an_internal_address_is_not_posted_to(
    app, db, runner, at, patient, monkeypatch
):
    phone = phone_for(app, patient["token"])
    set_time(phone, "08:00")
    body = {
        "endpoint": "https://push.example.org/send/abc",
        "keys": {"p256dh": b64(b"\x04" + b"\x01" * 64), "auth": b64(b"a" * 16)},
    }
    assert subscribe(phone, body).status_code == 201
    posted = []
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.1.2.3", 443))])
    monkeypatch.setattr("requests.Session.request", lambda *a, **k: posted.append(a))
    at(MONDAY, "08:05")
    assert "removed 1" in send(runner)
    assert posted == []
    assert db.execute("SELECT count(*) FROM push_subscriptions").fetchone()[0] == 0


def test_subscriptions_are_capped_per_patient_and_one_per_phone(app, db, service, patient):
    phones = [phone_for(app, patient["token"]) for _ in range(reminders.MAX_SUBSCRIPTIONS + 2)]
    for n, phone in enumerate(phones):
        assert subscribe(phone, service.subscription(f"p{n}")).status_code == 201
    # a phone whose subscription changed replaces it
    assert subscribe(phones[-1], service.subscription("new")).status_code == 201
    rows = db.execute("SELECT endpoint FROM push_subscriptions ORDER BY id").fetchall()
    assert len(rows) == reminders.MAX_SUBSCRIPTIONS
    assert rows[-1][0].endswith("/new") and not any(r[0].endswith("/p6") for r in rows)


def test_turning_notifications_off_removes_this_phones_subscription(app, db, service, patient):
    phone = phone_for(app, patient["token"])
    other = phone_for(app, patient["token"])
    subscribe(phone, service.subscription("a"))
    subscribe(other, service.subscription("b"))
    page = phone.get("/diary/reminder").get_data(as_text=True)
    phone.post("/diary/reminder/push/stop", data={"csrf_token": csrf_from(page)})
    assert endpoint_names(db) == ["b"]
    actions = [r[0] for r in db.execute("SELECT action FROM audit_events").fetchall()]
    assert actions.count("reminder.push_on") == 2 and actions.count("reminder.push_off") == 1


def test_the_vapid_key_is_made_once_into_the_instance_folder(app, tmp_path):
    first = reminders.application_server_key(app.config)
    assert first == reminders.application_server_key(app.config)
    pem = tmp_path / "instance" / "vapid_private.pem"
    assert pem.stat().st_mode & 0o777 == 0o600
    assert len(first) == 87  # 65 bytes, base64url without padding
    assert app.config["VAPID_SUBJECT"] == "mailto:admin@localhost"


@pytest.mark.parametrize(
    ("start", "change"),
    [
        (date(2027, 3, 22), date(2027, 3, 28)),  # Rome springs forward: 02:30 never happens
        (date(2027, 10, 25), date(2027, 10, 31)),  # Rome falls back: 02:30 happens twice
    ],
)
def test_a_reminder_at_an_hour_the_clock_change_skips_or_repeats_comes_once(
    app, db, runner, service, world, monkeypatch, start, change
):
    moment = [datetime(start.year, start.month, start.day, 9, tzinfo=ROME)]
    monkeypatch.setattr(clock, "now", lambda: moment[0].astimezone(UTC))
    _patient, _course, token = consented_patient(
        db, world.clinic_a, "P-DST", start=start.isoformat()
    )
    phone = phone_for(app, token)
    set_time(phone, "02:30")
    assert subscribe(phone, service.subscription("dst")).status_code == 201
    moment[0] = datetime(change.year, change.month, change.day - 1, 12, tzinfo=ROME)
    send(runner)  # the day before: its own reminder
    assert len(service.received) == 1
    # every 5 minutes through the night of the change, in UTC (22:00 to 04:00 UTC)
    night = datetime(change.year, change.month, change.day, tzinfo=UTC) - timedelta(hours=2)
    sent_at = []
    for step in range(6 * 12 + 1):
        moment[0] = night + timedelta(minutes=5 * step)
        before = len(service.received)
        send(runner)
        if len(service.received) > before:
            sent_at.append(moment[0].astimezone(ROME).strftime("%H:%M %Z"))
    # once, at the first run at or after 02:30 on the wall clock: 03:00 CEST when 02:30 is
    # skipped; the first 02:30 (summer time) when it comes twice
    assert sent_at == (["03:00 CEST"] if change.month == 3 else ["02:30 CEST"])


def renew(phone, subscription, site: str | None = "same-origin"):
    """Post a subscription as the service worker does on ``pushsubscriptionchange``:
    JSON, the session cookie, no form token, the browser's ``Sec-Fetch-Site``."""
    headers = {"Sec-Fetch-Site": site} if site else {}
    return phone.post("/api/push-subscription", json=subscription, headers=headers)


def test_a_subscription_the_push_service_replaced_is_renewed_by_the_worker(
    app, db, runner, service, at, patient
):
    """The worker's renewal takes the place of this phone's subscription (the next reminder
    goes to the new address), leaves the other phone's alone, and is no audit event."""
    phone = phone_for(app, patient["token"])
    other = phone_for(app, patient["token"])
    set_time(phone, "08:00")
    subscribe(phone, service.subscription("old"))
    subscribe(other, service.subscription("other"))
    events = db.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    answer = renew(phone, service.subscription("renewed"))
    assert answer.status_code == 200 and answer.get_json()["on"] is True
    assert sorted(endpoint_names(db)) == ["other", "renewed"]
    assert db.execute("SELECT count(*) FROM audit_events").fetchone()[0] == events
    at(MONDAY, "08:05")
    send(runner)
    assert len(service.messages("renewed")) == 1 and service.messages("old") == []


def test_the_workers_renewal_is_refused_unless_it_replaces_one_from_our_own_origin(
    app, db, service, patient
):
    """No form token, so: another site's request (or one that says nothing) is refused; a
    phone that has no subscription (turned off, or never on) gets none; a body that is not
    a valid subscription is refused; signed out, nothing."""
    phone = phone_for(app, patient["token"])
    fresh = service.subscription("new")
    assert renew(phone, fresh).status_code == 409  # notifications were never turned on
    assert db.execute("SELECT count(*) FROM push_subscriptions").fetchone()[0] == 0
    subscribe(phone, service.subscription("mine"))
    for site in ("cross-site", "same-site", None):
        assert renew(phone, fresh, site).status_code == 403
    assert renew(phone, {"endpoint": fresh["endpoint"]}).status_code == 400
    assert renew(phone, {**fresh, "endpoint": "https://10.0.0.1/push"}).status_code == 400
    stranger = app.test_client()
    assert renew(stranger, fresh).status_code == 401
    assert endpoint_names(db) == ["mine"]
    # turned off on this phone: a late renewal does not turn it back on
    page = phone.get("/diary/reminder").get_data(as_text=True)
    phone.post("/diary/reminder/push/stop", data={"csrf_token": csrf_from(page)})
    assert renew(phone, fresh).status_code == 409
    assert db.execute("SELECT count(*) FROM push_subscriptions").fetchone()[0] == 0


@pytest.mark.parametrize("route", ["page", "worker"])
@pytest.mark.parametrize("unreadable", ["nested", "surrogate"])
def test_a_subscription_that_is_not_readable_json_is_a_400(
    app, db, service, patient, route, unreadable
):
    """Both push routes answered JSON nested past the parser's depth, or an endpoint with
    a lone surrogate (SQLite refused it), with a 500."""
    phone = phone_for(app, patient["token"])
    subscribe(phone, service.subscription("mine"))
    if unreadable == "nested":
        body = DEEP_JSON
    else:
        fresh = service.subscription("new")
        body = json.dumps(fresh).encode().replace(b"/new", b"/new\\ud800")
    if route == "page":
        token = csrf_from(phone.get("/diary/reminder").get_data(as_text=True))
        path, headers = "/diary/reminder/push", {"X-CSRFToken": token}
    else:
        path, headers = "/api/push-subscription", {"Sec-Fetch-Site": "same-origin"}
    answer = phone.post(path, data=body, content_type="application/json", headers=headers)
    assert answer.status_code == 400 and answer.json == {"error": "This request was refused."}
    assert endpoint_names(db) == ["mine"]
