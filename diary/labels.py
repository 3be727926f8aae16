"""Translated labels for stored codes (areas treated, roles, ...)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

AREA_LABELS = {
    "neck": _l("Neck and shoulder-arm (cervicobrachial)"),
    "low_back": _l("Low back"),
    "shoulder": _l("Shoulder"),
    "knee": _l("Knee"),
    "hip": _l("Hip"),
    "tendon": _l("Tendon"),
    "other": _l("Other area"),
}


def area_label(code: str | None) -> str:
    """The translated name of an area treated."""
    return str(AREA_LABELS.get(code or "", code or ""))


#: audit actions as shown in a course's audit trail
ACTION_LABELS = {
    "signin": _l("Signed in"),
    "signout": _l("Signed out"),
    "link.issued": _l("Personal link issued"),
    "link.revoked": _l("Personal link revoked"),
    "patient.enrolled": _l("Patient enrolled"),
    "patient.language_changed": _l("Patient's language changed"),
    "course.opened": _l("Course opened"),
    "course.closed": _l("Course closed"),
    "course.reopened": _l("Course reopened"),
    "sheet.section_read": _l("Information sheet: part read"),
    "screening.answered": _l("Health questions answered"),
    "quiz.attempted": _l("Comprehension check attempted"),
    "consent.reviewed": _l("Consent reviewed before signing"),
    "consent.changes_shown": _l("Changes since the last consent shown"),
    "consent.given": _l("Consent given"),
    "consent.withdrawn": _l("Consent withdrawn"),
    "consent.paper": _l("Session recorded with consent given on paper"),
    "consent.countersigned": _l("Consent countersigned by the clinician"),
    "consent.pdf_downloaded": _l("Consent copy downloaded by the patient"),
    "consent.pdf_opened": _l("Consent copy opened by staff"),
    "entry.created": _l("Diary entry"),
    "entry.corrected": _l("Diary entry corrected"),
    "safety.allergy_reported": _l("Possible allergic reaction reported"),
    "safety.reviewed": _l("Reported reaction reviewed"),
    "session.recorded": _l("Session recorded"),
    "session.edited": _l("Session edited"),
    "clinic.settings_changed": _l("Clinic settings changed"),
    "report.generated": _l("PDF summary generated"),
    "report.patient_downloaded": _l("Pain summary downloaded by the patient"),
    "export.course_csv": _l("Course exported as CSV"),
    "export.cohort_csv": _l("Cohort exported as CSV"),
    "export.fhir": _l("Course exported as FHIR"),
    "patient.erased": _l("Diary content erased on request"),
    "course.purged": _l("Course purged after the retention period"),
    "clinician.added": _l("Team member added"),
    "clinician.activated": _l("Team member reactivated"),
    "clinician.deactivated": _l("Team member deactivated"),
    "clinician.password_changed": _l("Password changed"),
    "clinician.digest_on": _l("Daily summary by email turned on"),
    "clinician.digest_off": _l("Daily summary by email turned off"),
    "attention.seen": _l("Follow-up list: marked as seen"),
    "reminder.push_on": _l("Notifications turned on"),
    "reminder.push_off": _l("Notifications turned off"),
    "signout.other_phones": _l("Other phones signed out by the patient"),
    "signin.failed": _l("Sign-in failed"),
    "signin.throttled": _l("Sign-in paused after repeated failures"),
    "mfa.enrolled": _l("Two-step sign-in set up"),
    "mfa.passkey_added": _l("Passkey added"),
    "mfa.passkey_removed": _l("Passkey removed"),
    "mfa.recovery_codes_renewed": _l("New recovery codes made"),
    "mfa.reset": _l("Two-step sign-in reset by an admin"),
}


#: what each reason of the follow-up list says (diary.attention)
REASON_LABELS = {
    "allergy": _l("Possible allergic reaction, not yet reviewed"),
    "rising": _l("Pain rose by 2 points or more over the last week"),
    "withdrawn": _l("Consent withdrawn"),
    "no_entry": _l("No diary entry for several days"),
    "overdue": _l("Session overdue by more than a week"),
    "countersign": _l("Consent not yet countersigned"),
}
