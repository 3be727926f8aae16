"""Every page in every language: the pseudo-locale finds strings that bypass gettext and
layouts that break with 40 % longer text; Arabic and Italian are walked and screenshotted.
"""

from pathlib import Path

import pytest
from babel import Locale

from diary import create_app, migrations
from diary.db import connect
from diary.i18n import LANGUAGES
from tests import pseudo
from tests.helpers import has_horizontal_overflow, screenshot
from tests.tour import tour

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent

VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || el.closest('[hidden], template, script, style, [translate=no]')) continue;
    out.push(node.textContent);
  }
  for (const el of document.querySelectorAll('[aria-label], [alt], [title], [placeholder]')) {
    for (const a of ['aria-label', 'alt', 'title', 'placeholder']) {
      if (el.getAttribute(a)) out.push(el.getAttribute(a));
    }
  }
  out.push(document.title);
  return out.join('\\n');
}"""


@pytest.fixture
def app(tmp_path):
    """The app with the pseudo-locale added (tests only)."""
    folder = pseudo.build(tmp_path / "pseudo")
    application = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE": str(tmp_path / "d.sqlite"),
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "BASE_URL": "http://localhost",
            "BABEL_TRANSLATION_DIRECTORIES": f"{ROOT / 'translations'};{folder}",
            "LANGUAGES": {**LANGUAGES, pseudo.CODE: "Pseudo"},
        }
    )
    migrations.apply(connect(application.config["DATABASE"]))
    return application


def data_values(world) -> set[str]:
    """Text that is data, not interface: names, codes, e-mails, dates' month names."""
    eo = Locale.parse(pseudo.CODE)
    names = set()
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated", "narrow"):
            names |= set(eo.months[context][width].values())
            names |= set(eo.days[context][width].values())
    return (
        names
        | set(LANGUAGES.values())
        | {
            "Pseudo",
            "Clinic A",
            "Clinic B",
            "A-001",
            "B-001",
            "Anna Admin",
            "Dario Doc",
            "Bea Doc",
            world.admin_a,
            world.clinician_a,
            world.clinician_b,
            "Maria Rossi",
            "lidocaine",
            "mg",
            "ml",
            "ok",
            "SHA",
            "T-eo",
            "PDF",
            "UTC",
        }
    )


def test_every_page_goes_through_gettext_and_fits_at_360_px(live_server, page_at, world, db):
    allowed = data_values(world)
    visited = 0
    for name, page in tour(page_at, live_server, world, db, pseudo.CODE):
        assert page.locator("html").get_attribute("lang") == pseudo.CODE, name
        text = page.evaluate(VISIBLE_TEXT)
        import re

        text = re.sub(r"https?://\S+|[0-9a-f]{16,}", " ", text)
        bad = pseudo.untranslated(text, allowed)
        assert not bad, f"untranslated on {name}: {sorted(set(bad))[:12]}"
        overflow = has_horizontal_overflow(page)
        assert not overflow, f"horizontal overflow on {name}: {overflow}"
        visited += 1
    assert visited >= 40


@pytest.mark.parametrize("lang", ["ar", "it"])
def test_every_page_in_arabic_and_italian(lang, live_server, page_at, world, db):
    for name, page in tour(page_at, live_server, world, db, lang):
        html = page.locator("html")
        assert html.get_attribute("lang") == lang, name
        assert html.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr"), name
        overflow = has_horizontal_overflow(page)
        assert not overflow, f"horizontal overflow on {name}: {overflow}"
        screenshot(page, f"{lang}/{name}-360")
