"""Test data shared by the tests and the benchmarks: consented patients with links."""

from __future__ import annotations

from diary import clock, sheet
from diary.queries import consents, patients


def give_consent(db, course_id: int, locale: str = "en", name: str = "Test Patient") -> int:
    """Store a consent to the current sheet directly (for tests that need a consented course)."""
    return consents.give(
        db,
        course_id,
        sheet_version=sheet.SHEET_VERSION,
        locale=locale,
        text="## Test sheet\n> summary",
        agreements={"treatment": True, "data": True, "evaluation": False},
        full_name=name,
        signature_png=None,
        user_agent="pytest",
    )


def consented_patient(
    db, clinic_id: int, code: str, *, area: str = "knee", start: str | None = None
) -> tuple[int, int, str]:
    """A patient with a course, a consent and a personal link: (patient, course, token)."""
    patient_id = patients.create_patient(db, clinic_id, code)
    course_id = patients.create_course(
        db, patient_id, area, start or clock.now().date().isoformat()
    )
    give_consent(db, course_id)
    return patient_id, course_id, patients.issue_link(db, patient_id)
