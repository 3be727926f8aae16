"""What the patient pages keep between requests to be served faster (issue 17) follows
every input it depends on: a template's plain ``_("...")`` is kept per catalogue (the
page's language), the consent time's patterns per language and format, and the time zone
is never kept. Each test changes one input and sees the page change."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from babel import dates as babel_dates
from flask_babel import force_locale

from diary import clock, i18n
from tests.factories import consented_patient
from tests.helpers import open_link


def expected_moment(stored: str, fmt: str, zone: str, locale: str) -> str:
    """The consent time as Babel's public functions write it (no pattern kept anywhere)."""
    local = clock.parse(stored).astimezone(ZoneInfo(zone))
    day = babel_dates.format_date(local, fmt, locale=locale)
    time = babel_dates.format_time(local, "short", tzinfo=ZoneInfo(zone), locale=locale)
    joined = str(babel_dates.get_datetime_format(fmt, locale=locale)).replace("'", "")
    return joined.replace("{0}", time).replace("{1}", day)


@pytest.fixture
def patient(client, db, world):
    """A consented patient of clinic A (Rome) signed in on the test client."""
    _pid, course, token = consented_patient(db, world.clinic_a, "SPEED-1", area="neck")
    open_link(client, token)
    consent_time = db.execute(
        "SELECT created_at FROM consents WHERE course_id = ?", [course]
    ).fetchone()[0]
    return consent_time


def test_plain_text_follows_the_language_of_each_request(app, client, patient):
    """The same words in four languages one after the other, then English again: each page
    in its own language (a catalogue's text is never served to another language)."""
    headings = {
        "en": "My pain diary",
        "it": None,
        "ar": None,
        "zh_Hans": None,
    }
    with app.test_request_context("/"):
        for lang in headings:
            with force_locale(lang):
                headings[lang] = str(i18n.translations().ugettext("My pain diary"))
    assert len(set(headings.values())) == 4, headings  # translated in every catalogue
    for lang in ("en", "it", "ar", "zh_Hans", "en", "ar"):
        html = client.get(f"/home?lang={lang}").get_data(as_text=True)
        assert f"<h1>{headings[lang]}</h1>" in html, lang
        others = {text for code, text in headings.items() if code != lang}
        assert not any(f"<h1>{text}</h1>" in html for text in others), lang


@pytest.mark.parametrize("lang", ["en", "de", "ar", "zh_Hans", "it"])
def test_consent_time_follows_the_language(client, patient, lang):
    """The consent time on the home page in each language, right after another language
    (the patterns kept for one language are not used for the next)."""
    client.get("/home?lang=de" if lang != "de" else "/home?lang=en")
    html = client.get(f"/home?lang={lang}").get_data(as_text=True)
    assert expected_moment(patient, "medium", "Europe/Rome", lang) in html


def test_consent_time_follows_the_clinic_time_zone(client, db, world, patient):
    """The clinic moves to another time zone (a clinic setting): the next page shows the
    consent time in the new zone, in the same language."""
    before = client.get("/home?lang=en").get_data(as_text=True)
    assert expected_moment(patient, "medium", "Europe/Rome", "en") in before
    db.execute("UPDATE clinics SET timezone = 'Asia/Kolkata' WHERE id = ?", [world.clinic_a])
    after = client.get("/home?lang=en").get_data(as_text=True)
    assert expected_moment(patient, "medium", "Asia/Kolkata", "en") in after
    assert expected_moment(patient, "medium", "Europe/Rome", "en") not in after


def test_moment_follows_the_format(app):
    """Each date style in turn, in two languages, as Babel writes it."""
    stored = "2026-11-23T09:05:00+00:00"
    with app.test_request_context("/"):
        for lang in ("en", "de", "en"):
            with force_locale(lang):
                for fmt in ("short", "medium", "long", "full", "medium"):
                    shown = i18n.format_moment(stored, fmt, "Europe/Rome")
                    assert shown == expected_moment(stored, fmt, "Europe/Rome", lang), (lang, fmt)
