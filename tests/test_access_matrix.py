"""Every route, called as every kind of user, answers as its declared policy says.

``pending_a`` is clinic A's admin part-way through signing in (password given, the second
step not): only the steps' own pages (``signing_in``) answer; every workspace page sends
them back to the step (302).

POLICY below declares, for each endpoint, who may use it and whether it reaches a record
that belongs to someone (``own``: another clinic's or patient's record answers 404). A new
route without an entry here fails the test, so nobody adds a route without deciding.
"""

import re

import pytest

from diary.queries import accounts, consents, patients, treatments
from diary.queries import mfa as mfa_queries
from tests.factories import give_consent
from tests.helpers import PASSWORD, csrf_from, enrol_totp, login, open_link

#: endpoint -> (who may use it, "own" when the URL names a record that must be theirs)
POLICY = {
    "pages.index": ("anonymous", None),
    "pages.healthz": ("anonymous", None),
    "pages.verify": ("anonymous", None),
    "pages.language": ("anonymous", None),
    "auth.login": ("anonymous", None),
    "auth.logout": ("anonymous", None),
    "auth.patient_link": ("anonymous", None),
    "auth.second_factor": ("signing_in", None),
    "auth.passkey_options": ("signing_in", None),
    "auth.passkey_signin": ("signing_in", None),
    "auth.new_password": ("signing_in", None),
    "mfa.enrol": ("signing_in", None),
    "mfa.recovery_codes": ("clinician", None),
    "mfa.passkey_options": ("clinician", None),
    "mfa.passkey_add": ("clinician", None),
    "mfa.passkey_remove": ("clinician", "own"),
    "diary.calendar": ("anonymous", None),
    "diary.manifest": ("anonymous", None),
    "diary.offline": ("anonymous", None),
    "diary.service_worker": ("anonymous", None),
    "diary.apple_touch_icon": ("anonymous", None),
    "patient.home": ("patient", None),
    "patient.export_json": ("patient", None),
    "patient.export_csv": ("patient", None),
    "patient.summary_pdf": ("patient", None),
    "patient.phones": ("patient", None),
    "patient.sign_out_other_phones": ("patient", None),
    "patient.sign_out_phone": ("patient", "own"),
    "consent.start": ("patient", None),
    "consent.changes": ("patient", None),
    "consent.section": ("patient", None),
    "consent.screening": ("patient", None),
    "consent.quiz": ("patient", None),
    "consent.agree": ("patient", None),
    "consent.confirm": ("patient", None),
    "consent.done": ("patient", None),
    "consent.withdraw": ("patient", None),
    "consent.copy": ("patient", "own"),
    "diary.entry": ("patient", None),
    "diary.sync": ("patient", None),
    "diary.history": ("patient", None),
    "diary.reminder": ("patient", None),
    "diary.reminder_ics": ("patient", None),
    "diary.reminder_stop": ("patient", None),
    "diary.push_subscribe": ("patient", None),
    "diary.push_unsubscribe": ("patient", None),
    "diary.push_renew": ("patient", None),
    "diary.urgent": ("patient", None),
    "diary.install": ("patient", None),
    "clinic.dashboard": ("clinician", None),
    "clinic.patients_list": ("clinician", None),
    "clinic.enrol": ("clinician", None),
    "clinic.cohort": ("clinician", None),
    "clinic.cohort_export": ("clinician", None),
    "clinic.follow_up": ("clinician", None),
    "clinic.attention_seen": ("clinician", "own"),
    "admin.account": ("clinician", None),
    "admin.digest_choice": ("clinician", None),
    "clinic.course": ("clinician", "own"),
    "clinic.course_export": ("clinician", "own"),
    "clinic.course_fhir": ("clinician", "own"),
    "clinic.summary_pdf": ("clinician", "own"),
    "clinic.close_course": ("clinician", "own"),
    "clinic.mark_reviewed": ("clinician", "own"),
    "clinic.new_session": ("clinician", "own"),
    "clinic.edit_session": ("clinician", "own"),
    "clinic.new_course": ("clinician", "own"),
    "clinic.issue_link": ("clinician", "own"),
    "clinic.revoke_link": ("clinician", "own"),
    "clinic.patient_language": ("clinician", "own"),
    "clinic.consent_pdf": ("clinician", "own"),
    "clinic.countersign": ("clinician", "own"),
    "admin.settings": ("admin", None),
    "admin.team": ("admin", None),
    "admin.set_active": ("admin", "own"),
    "admin.reset_two_step": ("admin", "own"),
    "clinic.erase": ("admin", "own"),
}
ROLES = [
    "anonymous",
    "patient_a",
    "patient_b",
    "clinician_a",
    "clinician_b",
    "admin_a",
    "admin_b",
    "pending_a",
]


@pytest.fixture
def setup(app, db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    consent = give_consent(db, course)
    ids = {
        "course_id": course,
        "patient_id": world.patient_a,
        "consent_id": consent,
        "session_id": treatments.add_session(db, course, "2026-11-02", nrs_before=7),
        "clinician_id": accounts.get_clinician_by_email(db, world.clinician_a)["id"],
        "number": 1,
        "token": world.token_a,
        "calendar_token": patients.set_reminder(db, world.patient_a, "19:30"),
    }
    member = accounts.get_clinician_by_email(db, world.clinician_a)
    ids["passkey_id"] = mfa_queries.add_passkey(db, member, "Y3JlZA", b"key", 0, [])
    accounts.create_clinician(
        db,
        world.clinic_b,
        "admin@b.example",
        "Boss B",
        accounts.get_clinician_by_email(db, world.admin_a)["password_hash"],
        is_admin=True,
    )
    enrol_totp(app, db, "admin@b.example")
    clients = {role: app.test_client() for role in ROLES}
    open_link(clients["patient_a"], world.token_a)
    open_link(clients["patient_b"], world.token_b)
    ids["phone_id"] = accounts.open_patient_sessions(db, world.patient_a)[0]["id"]
    login(clients["clinician_a"], world.clinician_a)
    login(clients["clinician_b"], world.clinician_b)
    login(clients["admin_a"], world.admin_a)
    login(clients["admin_b"], "admin@b.example")
    token = csrf_from(clients["pending_a"].get("/login").get_data(as_text=True))
    given = clients["pending_a"].post(
        "/login", data={"email": world.admin_a, "password": PASSWORD, "csrf_token": token}
    )
    assert given.headers["Location"] == "/login/code"  # and no code given
    form_page = {
        "anonymous": "/login",
        "patient_a": "/home",
        "patient_b": "/home",
        "pending_a": "/login/code",
    }
    tokens = {
        role: csrf_from(c.get(form_page.get(role, "/clinic/account")).get_data(as_text=True))
        for role, c in clients.items()
    }
    return ids, clients, tokens


def allowed(policy: str, role: str) -> bool:
    if policy == "anonymous":
        return True
    if policy == "patient":
        return role.startswith("patient")
    if policy == "signing_in":
        return role.startswith(("clinician", "admin", "pending"))
    if policy == "clinician":
        return role.startswith(("clinician", "admin"))
    return role.startswith("admin")


def expected_refusal(policy: str, role: str, path: str) -> set[int]:
    if role == "anonymous":
        if policy == "patient":
            return {401} if path.startswith("/api/") else {403}
        return {302}
    if role == "pending_a" and policy in ("clinician", "admin"):
        return {302}  # to the step still due
    return {403}


def test_every_route_has_a_declared_policy(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()} - {"static"}
    assert endpoints - POLICY.keys() == set(), "declare a policy for the new route(s)"
    assert POLICY.keys() - endpoints == set(), "remove the policy of deleted route(s)"
    for endpoint, (role, _own) in POLICY.items():
        assert app.view_functions[endpoint].access == role, endpoint


def test_every_route_answers_as_its_policy_says(app, db, world, setup):
    ids, clients, tokens = setup
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        policy, own = POLICY[rule.endpoint]
        path = rule.rule
        for name in rule.arguments:
            key = "calendar_token" if rule.endpoint == "diary.calendar" else name
            path = re.sub(rf"<(?:\w+:)?{name}>", str(ids[key]), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role in ROLES:
                if method == "POST" and allowed(policy, role):
                    continue  # what the allowed users' POSTs do is tested feature by feature
                if rule.endpoint == "auth.logout":
                    continue  # anyone may sign out; it changes only their own session
                client = clients[role]
                data = {"csrf_token": tokens[role]}
                headers = {"Sec-Fetch-Site": "same-origin"} if path.startswith("/api/") else {}
                response = client.open(path, method=method, data=data, headers=headers)
                status = response.status_code
                where = f"{method} {path} as {role}"
                if not allowed(policy, role):
                    assert status in expected_refusal(policy, role, path), (where, status)
                elif own and role.endswith("_b"):
                    assert status == 404, (where, status)  # another clinic's / patient's record
                else:
                    assert status < 400, (where, status)
                checked += 1
    assert checked > 250
    # nothing changed for patient A although every refused request carried a CSRF token
    assert patients.current_course(db, world.patient_a)["end_date"] is None
    assert consents.latest(db, ids["course_id"])["kind"] == "consent"
    assert clients["patient_a"].get("/home").status_code == 200
