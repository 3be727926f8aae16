"""Hypothesis drives every form and the sync endpoint with arbitrary input: no answer is
a 5xx, every refusal is a 4xx (or the form shown again with its errors), and a refused
submission stores nothing. ``make fuzz`` runs many more examples (FUZZ_EXAMPLES)."""

import json
import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from diary.queries import accounts, patients, treatments
from diary.security import hash_password
from tests.factories import give_consent
from tests.helpers import PASSWORD, csrf_from, login, open_link, phone_queue_id

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FUZZ_EXAMPLES"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TABLES = [
    "clinics",
    "clinicians",
    "patients",
    "courses",
    "access_tokens",
    "consents",
    "screening_answers",
    "treatment_sessions",
    "diary_entries",
    "entry_submissions",
    "quiz_attempts",
]

value = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(min_size=600, max_size=3000),
    st.integers(-(10**9), 10**9).map(str),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "5",
            "10",
            "11",
            "-1",
            "y",
            "yes",
            "no",
            "unsure",
            "neck",
            "2026-11-22",
            "1999-02-31",
            "25:61",
            "\x00",
            "<script>x</script>",
            "=1+1",
            "٣",
            "maybe",
            "it",
            "xx",
            "A-001",
            "Letter",
            "Mars/Base",
        ]
    ),
)


def form_data(fields: list[str]):
    return st.fixed_dictionaries(
        {}, optional={f: st.one_of(value, st.lists(value, max_size=3)) for f in fields}
    )


def snapshot(db) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608


def flatten(data: dict) -> dict:
    out = {}
    for key, val in data.items():
        if val is None:
            continue
        out[key] = [v for v in val if v is not None] if isinstance(val, list) else val
    return out


@pytest.fixture
def actors(app, db, world):
    db.execute("UPDATE patients SET locale = 'en'")
    course = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course)
    session = treatments.add_session(db, course, "2026-11-02", nrs_before=8)
    phone = app.test_client()
    open_link(phone, world.token_a)
    phone.queue_id = phone_queue_id(phone)
    newcomer = app.test_client()  # patient B: no consent yet, for the consent forms
    open_link(newcomer, world.token_b)
    admin = app.test_client()
    login(admin, world.admin_a)
    pending = app.test_client()  # clinic A's admin with the password given, not the code
    token = csrf_from(pending.get("/login").get_data(as_text=True))
    pending.post("/login", data={"email": world.admin_a, "password": PASSWORD, "csrf_token": token})
    accounts.create_clinician(
        db,
        world.clinic_a,
        "new@a.example",
        "New",
        hash_password(PASSWORD),
        must_change_password=True,
    )
    newbie = app.test_client()  # signed in with a one-time password
    token = csrf_from(newbie.get("/login").get_data(as_text=True))
    newbie.post(
        "/login", data={"email": "new@a.example", "password": PASSWORD, "csrf_token": token}
    )
    return {
        "phone": phone,
        "newcomer": newcomer,
        "admin": admin,
        "pending": pending,
        "newbie": newbie,
        "anon": app.test_client(),
        "course": course,
        "session": session,
        "patient": world.patient_a,
    }


FORMS = [
    ("anon", "/login", ["email", "password", "code"]),
    ("pending", "/login/code", ["code"]),
    ("newbie", "/login/new-password", ["new", "confirm"]),
    ("admin", "/clinic/account/authenticator", ["code"]),
    (
        "newcomer",
        "/consent/screening",
        [
            "allergy",
            "blood_thinners",
            "skin",
            "reaction",
            "pregnancy",
            "allergy_detail",
            "skin_detail",
        ],
    ),
    ("newcomer", "/consent/quiz", ["works", "side_effects", "sessions", "withdraw"]),
    ("newcomer", "/consent/agree", ["treatment", "data", "evaluation", "full_name", "signature"]),
    (
        "newcomer",
        "/consent/confirm",
        ["treatment", "data", "full_name", "signature", "text_sha256"],
    ),
    ("phone", "/consent/withdraw", ["confirm"]),
    (
        "phone",
        "/diary/entry",
        [
            "avg",
            "worst",
            "site_effects",
            "allergy_signs",
            "medication_taken",
            "medication",
            "note",
            "day",
            "client_id",
            "device_time",
        ],
    ),
    ("phone", "/diary/reminder", ["time"]),
    (
        "admin",
        "/clinic/patients/new",
        ["code", "locale", "area", "start_date", "birth_year", "contact_note"],
    ),
    (
        "admin",
        "/clinic/courses/{course}/sessions/new",
        [
            "date",
            "nrs_before",
            "area",
            "needle",
            "ultrasound",
            "adverse_events",
            "notes",
            "drugs-0-name",
            "drugs-0-dose",
            "drugs-0-volume_ml",
            "drugs-1-name",
        ],
    ),
    (
        "admin",
        "/clinic/sessions/{session}/edit",
        ["date", "nrs_before", "area", "notes", "drugs-0-name", "drugs-0-volume_ml"],
    ),
    ("admin", "/clinic/patients/{patient}/language", ["locale"]),
    (
        "admin",
        "/clinic/settings",
        list(accounts.CLINIC_SETTINGS),
    ),
    ("admin", "/clinic/team", ["name", "email", "is_admin"]),
    ("admin", "/clinic/account", ["current", "new", "confirm"]),
    ("admin", "/clinic/patients/{patient}/erase", ["code"]),
]


#: forms whose success is answered with a page (200), not a redirect: the mark of that page
#: and what a success stores, all of it (tables whose row count grows)
SUCCESS_PAGES = {
    "/clinic/team": ('class="password"', {"clinicians"}),
    "/clinic/patients/new": ('class="handout', {"patients", "courses", "access_tokens"}),
}
#: a valid submission for those forms, always tried besides the random ones
VALID = {
    "/clinic/team": {"name": "Nora New", "email": "nora@a.example"},
    "/clinic/patients/new": {
        "code": "F-1",
        "locale": "it",
        "area": "neck",
        "start_date": "2026-11-22",
    },
}


@pytest.mark.parametrize(("who", "path", "fields"), FORMS, ids=[f[1] for f in FORMS])
def test_forms_survive_arbitrary_input(who, path, fields, actors, db):
    client = actors[who]
    path = path.format(**actors)
    page_for_token = {
        "anon": "/login",
        "phone": "/home",
        "newcomer": "/home",
        "pending": "/login/code",
        "newbie": "/login/new-password",
    }.get(who, "/clinic/account")
    token = csrf_from(client.get(page_for_token).get_data(as_text=True))

    mark, stored = SUCCESS_PAGES.get(path, (None, set()))
    successes = []

    @FUZZ
    @given(data=form_data(fields))
    def check(data):
        before = snapshot(db)
        response = client.post(path, data={**flatten(data), "csrf_token": token})
        assert response.status_code < 500, (path, data)
        if response.status_code not in (301, 302, 303):
            assert response.status_code in (200, 400, 403, 404, 409, 413, 429), (
                path,
                response.status_code,
            )
            after = snapshot(db)
            if mark and mark in response.get_data(as_text=True):
                successes.append(data)  # a valid submission: stored whole
                assert {t for t in TABLES if after[t] > before[t]} == stored, (path, data)
                assert all(after[t] >= before[t] for t in TABLES), (path, data)
            else:
                assert after == before, (path, data, before, after)

    if path in VALID:
        check = example(data=VALID[path])(check)
    check()
    assert not mark or successes, "the valid example must be recognised as a success"


json_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        st.floats(allow_nan=True),
        st.text(max_size=30),
        st.text(min_size=600, max_size=2000),
        # lone surrogates too ("\\ud800"): valid JSON, not text (they gave a 500)
        st.text(st.characters(exclude_categories=()), max_size=10),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
ENTRY_KEYS = [
    "client_id",
    "avg",
    "worst",
    "day",
    "device_time",
    "site_effects",
    "allergy_signs",
    "medication_taken",
    "medication",
    "note",
]


OWN_QUEUE = "<the phone's own queue id>"  # replaced by it, so most bodies reach the rules


@FUZZ
@given(
    body=st.one_of(
        st.fixed_dictionaries(
            {"queue_id": st.one_of(st.just(OWN_QUEUE), json_value)},
            optional={k: json_value for k in ENTRY_KEYS},
        ),
        st.fixed_dictionaries({}, optional={k: json_value for k in ENTRY_KEYS}),
        json_value,
        st.binary(max_size=200),
    )
)
@example(  # a valid entry but for the note's lone surrogate, as a 500 it held up the queue
    body={"queue_id": OWN_QUEUE, "client_id": "fuzz-0001", "avg": 3, "worst": 4, "note": "\ud800"}
)
def test_sync_endpoint_survives_arbitrary_json(body, actors, db):
    before = snapshot(db)
    if isinstance(body, dict) and body.get("queue_id") == OWN_QUEUE:
        body = {**body, "queue_id": actors["phone"].queue_id}
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = actors["phone"].post(
        "/api/entries",
        data=raw,
        content_type="application/json",
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response.status_code in (400, 403, 409, 413, 422)
        assert response.is_json and response.json["error"]
        assert snapshot(db) == before
