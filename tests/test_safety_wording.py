"""Safety wording in every language (issue 15 item 10): the faults a review of the
catalogues found stay fixed. Each check reads the compiled catalogue through gettext, as
the pages do."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from diary import sheet
from diary.i18n import LANGUAGES

ASPIRIN = {"en": "aspirin", "it": "aspirina", "es": "aspirina", "fr": "aspirine",
           "de": "aspirin", "ar": "الأسبرين", "pt": "aspirina", "zh_Hans": "阿司匹林"}  # fmt: skip
WORST = {"en": "worst", "it": "dolore più forte", "es": "peor dolor",
         "fr": "douleur la plus forte", "de": "stärkste", "ar": "أشد ألم", "pt": "pior dor",
         "zh_Hans": "最剧烈"}  # fmt: skip
BLOOD_THINNERS = (
    "Do you take a medicine that thins the blood or stops clots? For example, warfarin, "
    "or aspirin.",
    "you take a medicine that thins the blood or stops clots, such as warfarin, or aspirin",
)
WORST_PAIN = (
    "Worst pain",
    "worst pain",
    "Your worst pain in the last 24 hours",
    "Your worst pain cannot be lower than your average pain.",
    "Average pain: %(avg)s · Worst pain: %(worst)s",
    "Done. Average pain %(avg)s, worst pain %(worst)s.",
)
EMERGENCY = (
    "If you have trouble breathing, your throat feels tight, or your face, lips or tongue "
    "swell, call your local emergency number now. For hives or a rash, call your clinic today."
)


def _in(app, locale: str, msgid: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return _(msgid)


@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_blood_thinner_questions_name_aspirin(app, locale):
    for msgid in BLOOD_THINNERS:
        assert ASPIRIN[locale] in _in(app, locale, msgid).lower(), (locale, msgid)


@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_one_term_for_worst_pain(app, locale):
    for msgid in WORST_PAIN:
        text = _in(app, locale, msgid).lower()
        assert WORST[locale] in text, (locale, msgid, text)
    assert _in(app, locale, "Worst").lower() in WORST[locale].replace("أشد", "الأشد")


@pytest.mark.parametrize("locale", [c for c in LANGUAGES if c != "en"])
def test_the_sheet_gives_the_diary_s_hives_instruction(app, locale):
    """The sheet's allergy advice ends with the diary's own "call your clinic today"."""
    sheet_advice = _in(app, locale, EMERGENCY)
    diary_advice = _in(app, locale, "For hives or a rash, call your clinic today:")
    assert sheet_advice != EMERGENCY
    assert diary_advice.rstrip(":：\xa0 ") in sheet_advice


def test_chinese_leads_with_local_intradermal_therapy(app):
    for msgid in (
        "Consent to mesotherapy",
        "What is mesotherapy?",
        "I have read the information. I agree to have mesotherapy at %(clinic)s.",
        "Is mesotherapy sure to take your pain away?",
    ):
        text = _in(app, "zh_Hans", msgid)
        assert "局部皮内注射疗法" in text and "美塑疗法" not in text, text
    # the cosmetic name is given once, as the other name, and set apart from beauty care
    intro = _in(app, "zh_Hans", "Mesotherapy is also called local intradermal therapy. The "
                "doctor puts a medicine into the top layer of your skin, just over the place "
                "that hurts.")  # fmt: skip
    assert intro.startswith("局部皮内注射疗法") and "美塑疗法" in intro and "美容" in intro


def test_arabic_local_anaesthetics_and_a_neutral_not_sure(app):
    allergy = _in(app, "ar", "Are you allergic to any medicine? For example, to anti-inflammatory"
                  " painkillers or to numbing medicines (local anaesthetics).")  # fmt: skip
    assert "التخدير الموضعي" in allergy and "المخدِّرة" not in allergy
    not_sure = _in(app, "ar", "I am not sure")
    assert not_sure.endswith("يقين") and "متأكد" not in not_sure  # no masculine adjective


def test_french_wheals_are_bumps_not_pimples(app):
    wheals = _in(app, "fr", "Small raised bumps (wheals)")
    assert "bosses" in wheals and "bouton" not in wheals and "papule" not in wheals


def test_the_italian_sheet_names_the_drugs_in_italian(app):
    clinic = {
        "name": "Ambulatorio",
        "phone": "06 1",
        "drugs": ["thiocolchicoside", "mepivacaine 2%"],
    }
    with app.test_request_context(), force_locale("it"):
        text = sheet.canonical_text(clinic)
    assert "tiocolchicoside" in text and "mepivacaina 2%" in text and "mepivacaine" not in text
