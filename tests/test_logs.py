"""Logs: one structured line per request; sign-in and refused access logged; never a
token, password, name or note in any line."""

import json
import logging

from diary.logs import RedactPaths
from tests.factories import give_consent
from tests.helpers import PASSWORD, csrf_from, login, open_link


def lines(caplog) -> list[dict]:
    out = []
    for record in caplog.records:
        try:
            out.append(json.loads(record.getMessage()))
        except ValueError:
            continue
    return out


def test_one_line_per_request_with_id_route_status_duration(app, client, caplog, world):
    caplog.set_level(logging.INFO, logger=app.logger.name)
    response = client.get(f"/p/{world.token_a}")
    [line] = [entry for entry in lines(caplog) if entry["event"] == "request"]
    assert line["route"] == "/p/<token>" and line["status"] == 200 and line["ms"] >= 0
    assert line["request_id"] == response.headers["X-Request-Id"]


def test_signin_and_refused_access_are_logged(app, client, caplog, world):
    caplog.set_level(logging.INFO, logger=app.logger.name)
    login(client, world.clinician_a, "wrong")
    login(client, world.clinician_a)
    client.get("/clinic/team")
    events = [entry["event"] for entry in lines(caplog)]
    assert "signin.failed" in events and "signin" in events and "access.refused" in events


def test_no_secret_in_any_log_line(app, caplog, db, world):
    caplog.set_level(logging.DEBUG)
    secrets = [
        world.token_a,
        PASSWORD,
        "Maria Rossi",
        "my secret note about my knee",
        world.clinician_a,
    ]
    staff = app.test_client()
    assert login(staff, world.clinician_a, "wrong").status_code == 200  # the form again
    assert login(staff, world.clinician_a).status_code == 302
    phone = app.test_client()
    assert open_link(phone, world.token_a).status_code == 302
    from diary.queries import patients

    course = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course, name="Maria Rossi")
    page = phone.get("/diary/entry").get_data(as_text=True)
    saved = phone.post(
        "/diary/entry",
        data={
            "csrf_token": csrf_from(page),
            "avg": "3",
            "worst": "4",
            "note": "my secret note about my knee",
        },
    )
    assert saved.status_code == 302  # stored: the note went through the whole request
    assert phone.get("/home").status_code == 200
    shown = staff.get(f"/clinic/courses/{course}").get_data(as_text=True)
    assert "my secret note about my knee" in shown  # the secret was in play
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert len(caplog.records) > 5
    for secret in secrets:
        assert secret not in text, secret


def test_werkzeug_access_lines_are_redacted():
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        "",
        0,
        '%s - - "%s" %s',
        ("127.0.0.1", "GET /p/AbC_123-x HTTP/1.1", "200"),
        None,
    )
    RedactPaths().filter(record)
    assert "AbC_123-x" not in record.getMessage() and "/p/<token>" in record.getMessage()
    record = logging.LogRecord(
        "werkzeug", logging.INFO, "", 0, "GET /cal/Zq9secret.ics", None, None
    )
    RedactPaths().filter(record)
    assert "Zq9secret" not in record.getMessage()


def test_every_line_written_is_one_json_object(app, client, caplog, world):
    from flask.logging import default_handler

    caplog.set_level(logging.INFO, logger=app.logger.name)
    client.get(f"/p/{world.token_a}")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        app.logger.exception("unhandled error")
    written = [json.loads(default_handler.format(record)) for record in caplog.records]
    request = next(line for line in written if line.get("event") == "request")
    assert request["level"] == "INFO" and request["at"].endswith("Z")
    assert request["route"] == "/p/<token>"
    error = written[-1]
    assert error["message"] == "unhandled error" and "RuntimeError: boom" in error["exception"]
