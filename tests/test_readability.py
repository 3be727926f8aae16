"""The information sheet is plain language: English at or below Flesch-Kincaid grade 8,
Italian Gulpease >= 60, Spanish Fernández-Huerta >= 60 (textstat)."""

import pytest
from flask_babel import force_locale

from diary import sheet
from tests.readability import grade, plain

CLINIC = {
    "name": "Demo Pain Clinic",
    "phone": "+39 06 5555 0100",
    "drugs": ["ketorolac", "thiocolchicoside", "mepivacaine 1%"],
    "session_interval_days": 7,
}


def sheet_text(app, locale: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return plain(sheet.canonical_text(CLINIC))


@pytest.mark.parametrize(
    ("locale", "ok"),
    [
        ("en", lambda score: score <= 8),
        ("it", lambda score: score >= 60),
        ("es", lambda score: score >= 60),
    ],
)
def test_sheet_reading_level(app, locale, ok):
    text = sheet_text(app, locale)
    assert len(text.split()) > 600, "the whole sheet is measured"
    score = grade(text, locale)
    print(f"{locale}: {score:.1f}")
    assert ok(score), f"{locale} readability score {score:.1f}"


def test_the_measure_can_fail(app):
    """A dense academic sentence fails the same English check."""
    dense = (
        "Intradermal pharmacological administration demonstrates considerable "
        "heterogeneity regarding methodological standardization, necessitating "
        "comprehensive randomized investigations substantiating therapeutic efficacy."
    )
    assert grade(dense, "en") > 8
    assert (
        grade(
            "Il trattamento farmacologico intradermico presenta eterogeneità "
            "metodologica considerevole, richiedendo sperimentazioni randomizzate.",
            "it",
        )
        < 60
    )
