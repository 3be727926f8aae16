"""Data out: the patient's own export (JSON, CSV), clinicians' CSV of a course or of the
cohort, and a FHIR R4 Bundle of a course.

Formats are documented in README.md ("Exports"). CSV files are UTF-8 with a byte-order
mark (spreadsheet programs then read accents correctly) and every cell that a spreadsheet
would run as a formula (starting with = + - @, tab or carriage return) is prefixed with an
apostrophe.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import sqlite_utils
from flask_babel import gettext as _

from . import clock, entry_rules, function_outcomes, outcomes, session_rules
from .labels import AREA_LABELS, area_label
from .queries import accounts, answers, consents, courses, entries, patients, treatments

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LOINC = "http://loinc.org"
AVERAGE_PAIN = ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
#: no LOINC code says "worst pain in the last 24 hours, 0-10": a local code, documented
LOCAL_CODES = "https://mesodiary.invalid/fhir/CodeSystem/pain-diary"
WORST_PAIN = ("worst-pain-24h", "Worst pain in the last 24 hours, 0-10 numeric rating scale")
#: PEG-3 (Krebs et al. 2009) and PGIC: no LOINC entry for them could be cited (searched
#: for "PEG three item pain scale LOINC"), so local codes in the same system, documented
#: in README.md ("Exports"): one Observation per PEG with a component per item, one per PGIC
PEG_SCORE = ("peg-3", "PEG-3 score: mean of the three 0-10 items, past week")
PEG_COMPONENTS = (
    ("pain", "peg-pain", "PEG: average pain in the past week, 0-10"),
    ("enjoyment", "peg-enjoyment", "PEG: pain interference with enjoyment of life, 0-10"),
    ("activity", "peg-activity", "PEG: pain interference with general activity, 0-10"),
)
PGIC = ("pgic", "Patient Global Impression of Change since the start of the treatment, 1-7")
PGIC_ANSWERS = {
    1: "very much improved",
    2: "much improved",
    3: "minimally improved",
    4: "no change",
    5: "minimally worse",
    6: "much worse",
    7: "very much worse",
}


def csv_safe(value: Any) -> Any:
    """Neutralise a cell a spreadsheet would evaluate as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> str:
    """CSV text with a byte-order mark: a header of labels, then each row's values by key
    (missing keys are empty cells); every cell made formula-safe."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_safe(label) for _key, label in columns])
    for row in rows:
        writer.writerow(
            ["" if row.get(key) is None else csv_safe(row[key]) for key, _label in columns]
        )
    return out.getvalue()


def _labels(keys: list[str], options: dict) -> str:
    return ", ".join(str(options.get(k, k)) for k in keys)


def _drugs_text(session: dict[str, Any]) -> str:
    return session_rules.drugs_text(session["drugs"], volume=str)


def _code(flag: bool | None) -> int | None:
    """A yes/no as the CSV codes it (1 / 0, empty when unknown)."""
    return None if flag is None else int(flag)


# --- the patient's own data -----------------------------------------------------------------


def patient_data(db: sqlite_utils.Database, patient_id: int) -> dict[str, Any]:
    """Everything stored about a patient (their own export). Labels in the current locale."""
    patient = patients.get_patient(db, patient_id)
    clinic = accounts.get_clinic(db, patient["clinic_id"])
    result: dict[str, Any] = {
        "format": "mesodiary-patient-export/1",
        "exported_at": clock.iso(),
        "patient": {
            "code": patient["code"],
            "language": patient["locale"],
            "birth_year": patient["birth_year"],
            "reminder_time": patient["reminder_time"],
        },
        "clinic": {"name": clinic["name"], "phone": clinic["phone"]},
        "courses": [],
    }
    for course in courses.for_patient(db, patient_id):
        result["courses"].append(
            {
                "area": str(area_label(course["area"])),
                "start_date": course["start_date"].isoformat(),
                "end_date": course["end_date"] and course["end_date"].isoformat(),
                "consents": [
                    {
                        "kind": c["kind"],
                        "date": c["created_at"],
                        "sheet_version": c["sheet_version"],
                        "language": c["locale"],
                        "text_sha256": c["text_sha256"],
                        "agreements": c["agreements"],
                        "name": c["full_name"],
                        "pdf": f"/consent/copy/{c['id']}.pdf",
                    }
                    for c in consents.history(db, course["id"])
                ],
                "sessions": [
                    {"number": s["number"], "date": s["date"].isoformat()}
                    for s in treatments.for_course(db, course["id"])
                ],
                "diary": [
                    {
                        "day": e["day"].isoformat(),
                        "average_pain": e["avg_nrs"],
                        "worst_pain": e["worst_nrs"],
                        "filled_in_late": e["late"],
                        "injection_site": _labels(e["site_effects"], entry_rules.SITE_EFFECTS),
                        "allergy_signs": _labels(e["allergy_signs"], entry_rules.ALLERGY_SIGNS),
                        "pain_medicine": e["medication_taken"],
                        "medicine": e["medication"],
                        "note": e["note"],
                        "saved_on_phone_at": e["device_time"],
                        "received_at": e["created_at"],
                    }
                    for e in entries.for_course(db, course["id"])
                ],
                "weekly_questions_peg": [
                    {
                        "day": a["day"].isoformat(),
                        "pain_past_week": a["pain"],
                        "interference_enjoyment_of_life": a["enjoyment"],
                        "interference_general_activity": a["activity"],
                        "language": a["locale"],
                    }
                    for a in answers.for_course(db, answers.PEG, course["id"])
                ],
                "impression_of_change_pgic": [
                    {
                        "day": a["day"].isoformat(),
                        "answer": a["value"],
                        "label": str(function_outcomes.PGIC_LABELS[a["value"]]),
                        "language": a["locale"],
                    }
                    for a in answers.for_course(db, answers.PGIC, course["id"])
                ],
            }
        )
    return result


def patient_csv(data: dict[str, Any]) -> str:
    """The patient's export as CSV: one row per consent, session, diary day and weekly
    (PEG) or change (PGIC) answer."""
    columns = [
        ("record", _("Record")),
        ("date", _("Date")),
        ("average", _("Average pain")),
        ("worst", _("Worst pain")),
        ("late", _("Filled in late")),
        ("site", _("Injection site")),
        ("allergy", _("Possible allergic reaction")),
        ("medicine", _("Pain medicine")),
        ("note", _("Note")),
        ("details", _("Details")),
    ]
    yes, no = _("yes"), _("no")
    rows: list[dict[str, Any]] = []
    for course in data["courses"]:
        for c in course["consents"]:
            rows.append(
                {
                    "record": _("Consent") if c["kind"] == "consent" else _("Withdrawal"),
                    "date": c["date"],
                    "details": _("version %(version)s", version=c["sheet_version"])
                    + f" · SHA-256 {c['text_sha256']}",
                }
            )
        for s in course["sessions"]:
            rows.append(
                {
                    "record": _("Session %(number)d", number=s["number"]),
                    "date": s["date"],
                    "details": course["area"],
                }
            )
        for e in course["diary"]:
            medicine = "" if e["pain_medicine"] is None else (yes if e["pain_medicine"] else no)
            if e["medicine"]:
                medicine += f": {e['medicine']}"
            rows.append(
                {
                    "record": _("Diary"),
                    "date": e["day"],
                    "average": e["average_pain"],
                    "worst": e["worst_pain"],
                    "late": yes if e["filled_in_late"] else no,
                    "site": e["injection_site"],
                    "allergy": e["allergy_signs"],
                    "medicine": medicine,
                    "note": e["note"],
                }
            )
        for a in course["weekly_questions_peg"]:
            items = (
                (_("Pain"), a["pain_past_week"]),
                (_("Enjoyment of life"), a["interference_enjoyment_of_life"]),
                (_("General activity"), a["interference_general_activity"]),
            )
            rows.append(
                {
                    "record": _("PEG"),
                    "date": a["day"],
                    "details": " · ".join(f"{label} {value}" for label, value in items),
                }
            )
        for a in course["impression_of_change_pgic"]:
            rows.append({"record": _("PGIC"), "date": a["day"], "details": a["label"]})
    return to_csv(columns, rows)


# --- clinicians' CSV ------------------------------------------------------------------------

#: the course's figures (one ``record=outcome`` row per course), as every page prints them
OUTCOME_COLUMNS = [
    "baseline",
    "baseline_source",
    "now",
    "now_date",
    "change_points",
    "change_percent",
    "band",
    "goal",
    "goal_session",
    "sessions",
    "diary_on_time",
    "diary_late",
    "diary_missing",
]

#: a course's PEG and PGIC figures (:func:`diary.function_outcomes.of_course`), on its
#: ``record=outcome`` row
FUNCTION_COLUMNS = [
    "peg_baseline",
    "peg_baseline_date",
    "peg_now",
    "peg_now_date",
    "peg_change",
    "pgic_last",
    "pgic_last_date",
    "pgic_last_session",
    "translation_validated",
]

COURSE_COLUMNS = [
    "record",
    "patient_code",
    "course_id",
    "area",
    "date",
    "diary_status",
    "avg_nrs",
    "worst_nrs",
    "site_effects",
    "allergy_signs",
    "medication_taken",
    "medication",
    "note",
    "peg_pain",
    "peg_enjoyment",
    "peg_activity",
    "peg_score",
    "pgic",
    "session_number",
    "nrs_before",
    "drugs",
    "needle",
    "ultrasound",
    "adverse_events",
    "session_notes",
    "nrs_not_measured",
    "no_drug",
    "paper_consent_note",
    *OUTCOME_COLUMNS,
    *FUNCTION_COLUMNS,
]


def figure(value: float | None) -> int | float | None:
    """A figure as the pages print it: one decimal at most (half away from zero), whole
    numbers without ".0"."""
    shown = outcomes.rounded(value, 1)
    return int(shown) if shown is not None and shown == int(shown) else shown


def printed(percent: Fraction | None) -> int | float | None:
    """A % change as printed (:func:`diary.outcomes.printed_percent`): ``63``, ``49.7``.
    A number, not text, so a negative one (pain went up) is no "formula" to neutralise."""
    shown = outcomes.printed_percent(percent)
    if shown is None:
        return None
    return int(shown[0]) if shown[1] == 0 else round(shown[0], shown[1])


def outcome_row(result: outcomes.CourseOutcome) -> dict[str, Any]:
    """The ``record=outcome`` values of a course (see :data:`OUTCOME_COLUMNS`)."""
    return {
        "record": "outcome",
        "baseline": figure(result.baseline),
        "baseline_source": result.baseline_source,
        "now": figure(result.current),
        "now_date": result.current_date.isoformat() if result.current_date else None,
        "change_points": figure(result.points),
        "change_percent": printed(result.percent),
        "band": result.band,
        "goal": result.goal,
        "goal_session": result.goal_session,
        "sessions": result.sessions,
        "diary_on_time": result.completeness.on_time,
        "diary_late": result.completeness.late,
        "diary_missing": result.completeness.missing,
    }


def function_row(result: function_outcomes.FunctionOutcome) -> dict[str, Any]:
    """A course's PEG and PGIC figures (see :data:`FUNCTION_COLUMNS`); PEG scores with one
    decimal, PGIC as its 1-7 code (1 very much improved ... 7 very much worse)."""
    base, now, last = result.baseline, result.now, result.last_pgic
    return {
        "peg_baseline": figure(base.score) if base else None,
        "peg_baseline_date": base.day.isoformat() if base else None,
        "peg_now": figure(now.score) if now else None,
        "peg_now_date": now.day.isoformat() if now else None,
        "peg_change": figure(result.change),
        "pgic_last": last.value if last else None,
        "pgic_last_date": last.day.isoformat() if last else None,
        "pgic_last_session": last.session if last else None,
        "translation_validated": _code(not result.unvalidated) if result.any else None,
    }


def course_rows(
    course: dict[str, Any],
    diary: list[dict[str, Any]],
    sessions: list[dict[str, Any]],
    today: date,
    pegs: list[dict[str, Any]] | None = None,
    pgics: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One row per calendar day of the course (on time, late or missing), one per session
    and one with the course's outcome (:func:`diary.outcomes.of_course`, as of ``today``)
    and its PEG and PGIC figures (:func:`diary.function_outcomes.of_course`). A day's PEG
    and PGIC answers are on its ``diary_day`` row."""
    pegs, pgics = pegs or [], pgics or []
    end = course["end_date"] or today
    by_day = {e["day"]: e for e in diary}
    peg_by_day = {a["day"]: a for a in pegs}
    pgic_by_day = {a["day"]: a["value"] for a in pgics}
    first = outcomes.chart_start(course["start_date"], diary, sessions)
    common = {"patient_code": course["patient_code"], "course_id": course["id"]}
    rows: list[dict[str, Any]] = []
    day = first
    while day <= end:
        row = {
            **common,
            "record": "diary_day",
            "area": course["area"],
            "date": day.isoformat(),
            "diary_status": "missing",
        }
        e = by_day.get(day)
        if e is not None:
            row.update(
                diary_status="late" if e["late"] else "on_time",
                avg_nrs=e["avg_nrs"],
                worst_nrs=e["worst_nrs"],
                site_effects=";".join(e["site_effects"]),
                allergy_signs=";".join(e["allergy_signs"]),
                medication_taken=_code(e["medication_taken"]),
                medication=e["medication"],
                note=e["note"],
            )
        answer = peg_by_day.get(day)
        if answer is not None:
            row.update(
                peg_pain=answer["pain"],
                peg_enjoyment=answer["enjoyment"],
                peg_activity=answer["activity"],
                peg_score=figure(function_outcomes.score_of(answer)),
            )
        row["pgic"] = pgic_by_day.get(day)
        rows.append(row)
        day += timedelta(days=1)
    for s in sessions:
        rows.append(
            {
                **common,
                "record": "session",
                "area": s["area"] or course["area"],
                "date": s["date"].isoformat(),
                "session_number": s["number"],
                "nrs_before": s["nrs_before"],
                "drugs": _drugs_text(s),
                "needle": s["needle"],
                "ultrasound": _code(s["ultrasound"]),
                "adverse_events": s["adverse_events"],
                "session_notes": s["notes"],
                "nrs_not_measured": _code(s["nrs_not_measured"]),
                "no_drug": _code(s["no_drug"]),
                "paper_consent_note": s["paper_consent_note"],
            }
        )
    result = outcomes.of_course(course, sessions, diary, today)
    function = function_outcomes.of_course(course, sessions, pegs, pgics)
    rows.append({**common, "area": course["area"], **outcome_row(result), **function_row(function)})
    return rows


COURSE_CSV = [(name, name) for name in COURSE_COLUMNS]


def course_csv(db: sqlite_utils.Database, course_id: int, today: date) -> str:
    """A course as CSV (machine-readable column names, codes as stored)."""
    course = patients.get_course(db, course_id)
    return to_csv(
        COURSE_CSV,
        course_rows(
            course,
            entries.for_course(db, course_id),
            treatments.for_course(db, course_id),
            today,
            answers.for_course(db, answers.PEG, course_id),
            answers.for_course(db, answers.PGIC, course_id),
        ),
    )


def cohort_csv(db: sqlite_utils.Database, clinic_id: int, today: date) -> str:
    """Every course of the clinic, as one CSV (same columns as a course), from five
    queries whatever the number of courses."""
    by_entries = courses.entries_by_course(db, clinic_id, full=True)
    by_sessions = courses.sessions_by_course(db, clinic_id, full=True)
    pegs = answers.by_course(db, answers.PEG, clinic_id)
    pgics = answers.by_course(db, answers.PGIC, clinic_id)
    rows: list[dict[str, Any]] = []
    for course in courses.list_courses(db, clinic_id):
        rows += course_rows(
            course,
            by_entries.get(course["id"], []),
            by_sessions.get(course["id"], []),
            today,
            pegs.get(course["id"], []),
            pgics.get(course["id"], []),
        )
    return to_csv(COURSE_CSV, rows)


# --- FHIR R4 --------------------------------------------------------------------------------


def _ref(kind: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'mesodiary/{kind}/{key}')}"


def fhir_bundle(
    db: sqlite_utils.Database, course_id: int, base_url: str, today: date
) -> dict[str, Any]:
    """A FHIR R4 ``collection`` Bundle: Patient (code only), Consent, Observations, Procedures.

    Average pain: LOINC 72514-3, valueInteger. Worst pain: the local code
    ``worst-pain-24h`` in :data:`LOCAL_CODES` (LOINC has no code for it). The NRS measured
    before a session is an Observation (72514-3) that is ``partOf`` its Procedure. Each PEG
    answer is an Observation (local code ``peg-3``, valueQuantity the score, a component
    per item: ``peg-pain``, ``peg-enjoyment``, ``peg-activity``), each PGIC answer one with
    local code ``pgic`` (value ``pgic-1`` very much improved ... ``pgic-7``). The
    course's outcome as of ``today`` (the clinic's) is one Observation, local code
    ``course-outcome``, with a component per figure (:func:`outcome_observation`).
    """
    course = patients.get_course(db, course_id)
    base = base_url.rstrip("/")
    patient_ref = _ref("patient", str(course["patient_id"]))
    resources: list[tuple[str, dict[str, Any]]] = [
        (
            patient_ref,
            {
                "resourceType": "Patient",
                "identifier": [
                    {
                        "system": f"{base}/fhir/patient-code/clinic-{course['clinic_id']}",
                        "value": course["patient_code"],
                    }
                ],
                "active": True,
            },
        )
    ]
    for c in consents.history(db, course_id):
        resources.append(
            (
                _ref("consent", str(c["id"])),
                {
                    "resourceType": "Consent",
                    "status": "active" if c["kind"] == "consent" else "inactive",
                    "scope": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                "code": "treatment",
                            }
                        ]
                    },
                    "category": [
                        {
                            "coding": [
                                {"system": LOINC, "code": "59284-0", "display": "Patient Consent"}
                            ]
                        }
                    ],
                    "patient": {"reference": patient_ref},
                    "dateTime": c["created_at"],
                    "identifier": [
                        {"system": f"{base}/fhir/consent-text-sha256", "value": c["text_sha256"]}
                    ],
                    "policyRule": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                "code": "OPTIN" if c["kind"] == "consent" else "OPTOUT",
                            }
                        ],
                        "text": f"Information sheet version {c['sheet_version']}, "
                        f"language {c['locale']}",
                    },
                    "sourceAttachment": {
                        "contentType": "application/pdf",
                        "url": f"{base}/clinic/consents/{c['id']}.pdf",
                        "title": f"Consent record {c['id']} (sheet v{c['sheet_version']})",
                    },
                },
            )
        )
    for c in consents.history(db, course_id):
        signed = consents.countersignature(db, c["id"]) if c["kind"] == "consent" else None
        if signed is not None:
            resources.append((_ref("provenance", str(signed["id"])), _provenance(c, signed)))
    diary = entries.for_course(db, course_id)
    for e in diary:
        for key, (system, code, display), value in (
            ("avg", (LOINC, *AVERAGE_PAIN), e["avg_nrs"]),
            ("worst", (LOCAL_CODES, *WORST_PAIN), e["worst_nrs"]),
        ):
            resources.append(
                (
                    _ref(f"obs-{key}", str(e["id"])),
                    {
                        "resourceType": "Observation",
                        "status": "final",
                        "category": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                        "code": "survey",
                                    }
                                ]
                            }
                        ],
                        "code": {"coding": [{"system": system, "code": code, "display": display}]},
                        "subject": {"reference": patient_ref},
                        "effectiveDateTime": e["day"].isoformat(),
                        "issued": e["created_at"],
                        "valueInteger": value,
                    },
                )
            )
    pegs = answers.for_course(db, answers.PEG, course_id)
    pgics = answers.for_course(db, answers.PGIC, course_id)
    for a in pegs:
        resources.append((_ref("obs-peg", str(a["id"])), _peg_observation(a, patient_ref)))
    for a in pgics:
        resources.append((_ref("obs-pgic", str(a["id"])), _pgic_observation(a, patient_ref)))
    sessions = treatments.for_course(db, course_id)
    for s in sessions:
        procedure_ref = _ref("procedure", str(s["id"]))
        notes = [_drugs_text(s)] if s["drugs"] else []
        if s["no_drug"]:
            notes.append("No drug given")
        if s["nrs_not_measured"]:
            notes.append("Pain before the session not measured")
        if s["paper_consent_note"]:
            notes.append(f"Consent given on paper: {s['paper_consent_note']}")
        if s["adverse_events"]:
            notes.append(f"Adverse events: {s['adverse_events']}")
        if s["notes"]:
            notes.append(s["notes"])
        procedure: dict[str, Any] = {
            "resourceType": "Procedure",
            "status": "completed",
            "code": {"text": f"Mesotherapy (local intradermal therapy), session {s['number']}"},
            "subject": {"reference": patient_ref},
            "performedDateTime": s["date"].isoformat(),
            "bodySite": [{"text": str(AREA_LABELS.get(s["area"] or course["area"], "other"))}],
        }
        if notes:
            procedure["note"] = [{"text": text} for text in notes]
        resources.append((procedure_ref, procedure))
        if s["nrs_before"] is not None:
            resources.append(
                (
                    _ref("obs-before", str(s["id"])),
                    {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {
                            "coding": [
                                {
                                    "system": LOINC,
                                    "code": AVERAGE_PAIN[0],
                                    "display": AVERAGE_PAIN[1],
                                }
                            ],
                            "text": f"Pain measured before session {s['number']}",
                        },
                        "subject": {"reference": patient_ref},
                        "partOf": [{"reference": procedure_ref}],
                        "effectiveDateTime": s["date"].isoformat(),
                        "valueInteger": s["nrs_before"],
                    },
                )
            )
    result = outcomes.of_course(course, sessions, diary, today)
    function = function_outcomes.of_course(course, sessions, pegs, pgics)
    resources.append(
        (
            _ref("outcome", f"{course_id}/{today.isoformat()}"),
            outcome_observation(result, course, patient_ref, function),
        )
    )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": clock.iso(),
        "entry": [{"fullUrl": ref, "resource": resource} for ref, resource in resources],
    }


SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
        }
    ]
}


def _answer_observation(
    answer: dict[str, Any], patient_ref: str, code: tuple[str, str]
) -> dict[str, Any]:
    """The common part of a PEG or PGIC Observation: its local code, day and language."""
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [SURVEY],
        "code": {"coding": [{"system": LOCAL_CODES, "code": code[0], "display": code[1]}]},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": answer["day"].isoformat(),
        "issued": answer["updated_at"],
        "language": answer["locale"].replace("_", "-"),
        **(
            {}
            if function_outcomes.validated(answer["locale"])
            else {"note": [{"text": "Answered in an unvalidated translation"}]}
        ),
    }


def _peg_observation(answer: dict[str, Any], patient_ref: str) -> dict[str, Any]:
    """A PEG answer: its score (the mean, one decimal) and a component per item."""
    return {
        **_answer_observation(answer, patient_ref, PEG_SCORE),
        "valueQuantity": {"value": figure(function_outcomes.score_of(answer))},
        "component": [
            {
                "code": {"coding": [{"system": LOCAL_CODES, "code": code, "display": display}]},
                "valueInteger": answer[key],
            }
            for key, code, display in PEG_COMPONENTS
        ],
    }


def _pgic_observation(answer: dict[str, Any], patient_ref: str) -> dict[str, Any]:
    """A PGIC answer: its 1-7 code as a local code, ``pgic-1`` ... ``pgic-7``."""
    value = answer["value"]
    return {
        **_answer_observation(answer, patient_ref, PGIC),
        "valueCodeableConcept": {
            "coding": [
                {"system": LOCAL_CODES, "code": f"pgic-{value}", "display": PGIC_ANSWERS[value]}
            ],
            "text": PGIC_ANSWERS[value],
        },
    }


def _provenance(consent: dict[str, Any], signed: dict[str, Any]) -> dict[str, Any]:
    """Who explained a consent, as a Provenance of its Consent: the countersigning
    clinician (attester), and the interpreter, witness and legal representative if any."""
    participant = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
    agents = [
        {
            "type": {"coding": [{"system": participant, "code": "attester"}]},
            "who": {"display": signed["clinician_name"]},
        }
    ]
    for role, name in (
        (f"interpreter ({signed['interpreter_language']})", signed["interpreter_name"]),
        ("witness", signed["witness_name"]),
        (f"legal representative ({signed['representative_relationship']})",
         signed["representative_name"]),
    ):  # fmt: skip
        if name:
            agents.append({"type": {"text": role}, "who": {"display": name}})
    return {
        "resourceType": "Provenance",
        "target": [{"reference": _ref("consent", str(consent["id"]))}],
        "recorded": signed["created_at"],
        "activity": {"text": signed["statement"]},
        "agent": agents,
    }


def outcome_observation(
    result: outcomes.CourseOutcome,
    course: dict[str, Any],
    patient_ref: str,
    function: function_outcomes.FunctionOutcome | None = None,
) -> dict[str, Any]:
    """A course's outcome as a FHIR Observation: local code ``course-outcome``, one
    component per figure of :data:`OUTCOME_COLUMNS` (and, with ``function``, of
    :data:`FUNCTION_COLUMNS`) that has a value (numbers as printed: :func:`figure`,
    :func:`printed`)."""
    row = outcome_row(result)
    keys = list(OUTCOME_COLUMNS)
    if function is not None:
        row.update(function_row(function))
        keys += FUNCTION_COLUMNS
    components = []
    for key in keys:
        value = row[key]
        if value is None:
            continue
        component: dict[str, Any] = {"code": {"coding": [{"system": LOCAL_CODES, "code": key}]}}
        if key == "change_percent":
            component["valueQuantity"] = {
                "value": value,
                "unit": "%",
                "system": "http://unitsofmeasure.org",
                "code": "%",
            }
        elif key.endswith("_date"):
            component["valueDateTime"] = value
        elif key == "translation_validated":
            component["valueBoolean"] = bool(value)
        elif isinstance(value, str):
            component["valueCodeableConcept"] = {
                "coding": [{"system": LOCAL_CODES, "code": f"{key}-{value}"}],
                "text": value,
            }
        elif isinstance(value, float):
            component["valueQuantity"] = {"value": value}
        else:
            component["valueInteger"] = value
        components.append(component)
    end = course["end_date"]
    return {
        "resourceType": "Observation",
        "status": "final" if end else "preliminary",
        "code": {
            "coding": [{"system": LOCAL_CODES, "code": "course-outcome"}],
            "text": "Course outcome: pain from baseline to now, change, IMMPACT band, 50% goal",
        },
        "subject": {"reference": patient_ref},
        "effectivePeriod": {
            "start": course["start_date"].isoformat(),
            **({"end": end.isoformat()} if end else {}),
        },
        "component": components,
    }
