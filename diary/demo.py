"""Demo data from Table 1 of paper 001 (Bifarini et al., Clin Ter 2022;173(1):79-83).

62 patients with cervicobrachial pain, treated weekly with intradermal therapy until the
pain fell by 50 %: group A with the full dose, group B with half the dose. Each row gives
the basal NRS, the final NRS and the number of weekly sessions. Every row becomes one
course: weekly sessions, and daily diary entries synthesized between them (seeded, so
the same every time) such that the course's baseline, final NRS and number of sessions
match the row, and the 50 % goal is first met after the row's last session.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlite_utils
from flask_babel import force_locale

from . import function_outcomes, mfa, sheet
from .db import transaction
from .queries import accounts, answers, consents, courses, patients, seed, treatments
from .queries import mfa as factors
from .reference import SACROILIITIS, TABLE_1
from .security import hash_password, new_token

DRUGS = {
    "A": [
        {"name": "ketorolac", "dose": "30 mg", "volume_ml": 1.0},
        {"name": "thiocolchicoside", "dose": "4 mg", "volume_ml": 2.0},
        {"name": "mepivacaine 1%", "dose": "10 mg", "volume_ml": 1.0},
        {"name": "NaCl 0.9%", "dose": "", "volume_ml": 1.0},
    ],
    "B": [
        {"name": "ketorolac", "dose": "15 mg", "volume_ml": 0.5},
        {"name": "thiocolchicoside", "dose": "2 mg", "volume_ml": 1.0},
        {"name": "mepivacaine 1%", "dose": "10 mg", "volume_ml": 1.0},
        {"name": "NaCl 0.9%", "dose": "", "volume_ml": 2.5},
    ],
}
CLINIC_NAME = "Demo Pain Clinic"
CLINICIAN_EMAIL = "demo@clinic.example"
DEMO_CLINICIAN_NAME = "Dr Demo"
NEW_PATIENT_CODE = "DEMO-NEW"
HISTORY_PATIENT_CODE = "B01"
BASELINE_DAYS = 3
SEED = 1


@dataclass
class DemoResult:
    """What ``flask demo`` prints: fresh credentials and links (only hashes are stored)."""

    clinic_id: int
    email: str
    password: str
    links: dict[str, str]  # patient code -> token
    created_courses: int
    totp_secret: str | None = None  # the demo admin's authenticator key (two-step sign-in)
    recovery_codes: list[str] | None = None


@dataclass
class CoursePlan:
    """One Table 1 row turned into dates and daily values."""

    code: str
    group: str
    basal: int
    final: int
    sessions: int
    session_days: list[date]
    session_nrs: list[int]
    days: list[tuple[date, int, int, bool]]  # (day, average, worst, late); missing days absent


def plan_course(group: str, number: int, row: tuple[int, int, int], last_day: date) -> CoursePlan:
    """Dates and daily ratings for one row, ending on ``last_day`` (deterministic).

    Interval k runs from session k's day to the day before session k+1. Before the last
    session the daily average stays above half the baseline (the goal is not yet met);
    in the interval after the last session it equals the final NRS, so that interval's
    mean is the row's final value.
    """
    basal, final, n = row
    rng = random.Random(f"{SEED}-{group}{number}")  # noqa: S311 - demo data, not security
    last_session = last_day - timedelta(days=6)
    session_days = [last_session - timedelta(weeks=n - k) for k in range(1, n + 1)]
    above_goal = math.floor(basal / 2) + 1  # smallest NRS that is not a 50 % reduction
    interval_level = [round(basal - (basal - above_goal) * k / n) for k in range(1, n)] + [final]
    session_nrs = [basal] + interval_level[:-1]
    start = session_days[0] - timedelta(days=BASELINE_DAYS)
    days: list[tuple[date, int, int, bool]] = []
    day = start
    while day <= last_day:
        k = sum(1 for s in session_days if s <= day)  # 0 = before session 1
        if k == 0:
            avg = basal
        elif k < n:
            avg = max(above_goal, min(10, interval_level[k - 1] + rng.choice((-1, 0, 0, 1))))
        else:
            avg = final
        worst = min(10, avg + rng.choice((1, 1, 2)))
        roll = rng.random()
        # never drop baseline days or the last day; keep ~7 % missing and ~6 % late
        if k == 0 or day == last_day or roll >= 0.07:
            days.append((day, avg, worst, 0.07 <= roll < 0.13))
        day += timedelta(days=1)
    return CoursePlan(
        f"{group}{number:02d}", group, basal, final, n, session_days, session_nrs, days
    )


def _create_course(
    db: sqlite_utils.Database,
    clinic_id: int,
    clinician_id: int,
    plan: CoursePlan,
    birth_year: int,
    closed: bool,
) -> None:
    patient_id = patients.create_patient(
        db, clinic_id, plan.code, locale="it", birth_year=birth_year
    )
    course_id = patients.create_course(db, patient_id, "neck", plan.days[0][0])
    if closed:
        courses.set_end(db, patients.get_course(db, course_id), plan.days[-1][0], actor="system")
    number = int(plan.code[1:])
    with force_locale("it"):
        text = sheet.canonical_text(accounts.get_clinic(db, clinic_id))
    signed = f"{(plan.days[0][0] - timedelta(days=1)).isoformat()}T10:00:00.000000+00:00"
    consents.record_screening(
        db,
        course_id,
        sheet.SHEET_VERSION,
        {
            key: ("yes" if key == "allergy" and number % 9 == 0 else "no", "")
            for key in sheet.SCREENING
        },
    )
    consent_id = consents.give(
        db,
        course_id,
        sheet_version=sheet.SHEET_VERSION,
        locale="it",
        text=text,
        agreements={"treatment": True, "data": True, "evaluation": number % 3 != 0},
        full_name=f"Paziente {plan.code}",
        signature_png=None,
        user_agent="demo data",
        created_at=signed,
    )
    if number % 10 != 7:  # a few left for the dashboard's "not yet countersigned" flag
        with force_locale("it"):
            statement = str(sheet.COUNTERSIGN_STATEMENT)
        consents.countersign(
            db,
            consents.get(db, consent_id),
            clinician={"id": clinician_id, "name": DEMO_CLINICIAN_NAME},
            statement=statement,
            people={},
        )
    for session_day, nrs in zip(plan.session_days, plan.session_nrs, strict=True):
        treatments.add_session(
            db,
            course_id,
            session_day,
            nrs_before=nrs,
            area="neck",
            drugs=DRUGS[plan.group],
            needle="4 mm 27 G",
            created_by=clinician_id,
            notes=(
                "Also weekly ultrasound-guided sacroiliac infiltration (paper 001, Table 2)."
                if number in SACROILIITIS[plan.group]
                else ""
            ),
        )
    for day, avg, worst, late in plan.days:
        written = day + timedelta(days=1 if late else 0)
        stamp = f"{written.isoformat()}T19:30:00.000000+00:00"
        seed.insert_entry(
            db,
            course_id,
            day,
            f"demo-{plan.code}-{day}",
            avg,
            worst,
            late=late,
            created_at=stamp,
        )
    if plan.code == HISTORY_PATIENT_CODE:
        _answers(db, course_id, plan)


def _answers(db: sqlite_utils.Database, course_id: int, plan: CoursePlan) -> None:
    """The history patient's PEG (first diary day of each course week, from the diary's
    averages of the week before) and PGIC (with the first diary day from each session's
    day on, from the second session; from how far pain fell), answered in Italian: the
    pages show them, marked as an unvalidated translation. The NRS figures (Table 1) do
    not change."""
    start, by_day = plan.days[0][0], {day: avg for day, avg, _worst, _late in plan.days}
    weeks: set[int] = set()
    rows: list[tuple[str, date, tuple[int, ...]]] = []
    for day, _avg, _worst, _late in plan.days:
        week = function_outcomes.course_week(start, day)
        if week in weeks:
            continue
        weeks.add(week)
        past = [by_day[d] for d in by_day if day - timedelta(days=6) <= d <= day]
        pain = round(sum(past) / len(past))
        rows.append((answers.PEG, day, (pain, max(0, pain - 1), min(10, pain + 1))))
    for session_day, nrs in list(zip(plan.session_days, plan.session_nrs, strict=True))[1:]:
        share = nrs / plan.basal if plan.basal else 1
        answered = min((d for d in by_day if d >= session_day), default=None)
        if answered is not None:  # with the first diary entry from the session's day on
            value = 2 if share <= 0.5 else 3 if share <= 0.8 else 4
            rows.append((answers.PGIC, answered, (value,)))
    with transaction(db):
        for table, day, values in rows:
            stamp = f"{day.isoformat()}T19:30:00.000000+00:00"
            answers.put(
                db,
                table,
                course_id,
                day,
                values,
                locale="it",
                client_id=f"demo-{plan.code}-{day}",
                device_time=stamp,
                now=stamp,
            )


def build(db: sqlite_utils.Database, today: date, secret_key: str | None = None) -> DemoResult:
    """Create the demo clinic, clinician and courses if missing; issue fresh credentials.

    Idempotent: a second run adds nothing, but sets a new demo password and new patient
    links (tokens and passwords are stored only as hashes, so they cannot be shown again).
    With the app's ``secret_key``, the demo clinician (a clinic admin, who needs two-step
    sign-in) also gets a new authenticator key and recovery codes to print; without it, they
    set up two-step sign-in at their first sign-in.
    """
    password = new_token()[:16]
    with transaction(db):
        clinic = accounts.find_clinic_by_name(db, CLINIC_NAME)
        clinic_id = (
            clinic["id"]
            if clinic
            else accounts.create_clinic(
                db,
                CLINIC_NAME,
                phone="+39 06 5555 0100",
                locale="it",
                timezone="Europe/Rome",
                drugs=["ketorolac", "thiocolchicoside", "mepivacaine 1%"],
                needle="4 mm 27 G",
            )
        )
        clinician = accounts.get_clinician_by_email(db, CLINICIAN_EMAIL)
        if clinician is None:
            clinician_id = accounts.create_clinician(
                db,
                clinic_id,
                CLINICIAN_EMAIL,
                DEMO_CLINICIAN_NAME,
                hash_password(password),
                is_admin=True,
            )
        else:
            clinician_id = clinician["id"]
            accounts.set_clinician_password(db, clinician_id, hash_password(password))
        created = 0
        ages = random.Random(SEED)  # noqa: S311
        for group, rows in TABLE_1.items():
            for i, row in enumerate(rows, start=1):
                # stagger the courses: the most recent end yesterday, the oldest ~3 months ago
                offset = ((i - 1) * 3 + (0 if group == "A" else 1)) % 90
                last_day = today - timedelta(days=1 + offset)
                birth_year = today.year - max(19, min(90, round(ages.gauss(57.2, 13.9))))
                plan = plan_course(group, i, row, last_day)
                if patients.find_patient(db, clinic_id, plan.code) is None:
                    _create_course(db, clinic_id, clinician_id, plan, birth_year, closed=offset > 7)
                    created += 1
        if patients.find_patient(db, clinic_id, NEW_PATIENT_CODE) is None:
            new_id = patients.create_patient(db, clinic_id, NEW_PATIENT_CODE, locale="en")
            patients.create_course(db, new_id, "low_back", today)
            created += 1
        links = {}
        for code in (NEW_PATIENT_CODE, HISTORY_PATIENT_CODE):
            patient = patients.find_patient(db, clinic_id, code)
            links[code] = patients.issue_link(db, patient["id"])
        secret = codes = None
        if secret_key:
            secret, codes = mfa.new_totp_secret(), mfa.new_recovery_codes()
            factors.enrol_totp(
                db,
                accounts.get_clinician(db, clinician_id),
                mfa.encrypt_secret(secret_key, clinician_id, secret),
                0,
                [mfa.recovery_hash(clinician_id, code) for code in codes],
                actor="system",
            )
    return DemoResult(clinic_id, CLINICIAN_EMAIL, password, links, created, secret, codes)


def summary(db: sqlite_utils.Database, clinic_id: int) -> dict[str, Any]:
    """Counts of what the demo clinic holds (for the CLI and tests)."""
    return courses.clinic_counts(db, clinic_id)
