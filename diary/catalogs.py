"""Checks and chores on the translation catalogues (used by ``make translations`` and tests).

``python -m diary.catalogs fill-source`` copies every English msgid into the English
catalogue's msgstr, since English is the source language.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "translations"
SOURCE_LOCALE = "en"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


def catalog_path(locale: str) -> Path:
    """The ``.po`` file of a locale."""
    return ROOT / locale / "LC_MESSAGES" / "messages.po"


def read(locale: str) -> Catalog:
    """Parse a locale's catalogue."""
    with catalog_path(locale).open("rb") as fh:
        return read_po(fh, locale=locale)


def locales() -> list[str]:
    """Every locale with a catalogue under ``translations/``."""
    return sorted(p.parent.parent.name for p in ROOT.glob("*/LC_MESSAGES/messages.po"))


def problems(locale: str) -> list[str]:
    """Untranslated, fuzzy or placeholder-breaking messages of one catalogue."""
    found = []
    for message in read(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        label = f"{locale}: {ids[0]!r}"
        if message.fuzzy:
            found.append(f"{label} is fuzzy")
        if not all(strings):
            found.append(f"{label} is not translated")
            continue
        wanted = sorted(set(PLACEHOLDER.findall(ids[-1])))
        for string in strings:
            if sorted(set(PLACEHOLDER.findall(string))) != wanted:
                found.append(
                    f"{label} has placeholders {PLACEHOLDER.findall(string)}, expected {wanted}"
                )
    return found


def fill_source() -> None:
    """English is the source: its msgstr is the msgid."""
    catalog = read(SOURCE_LOCALE)
    for message in catalog:
        if message.id:
            message.string = message.id
            message.flags.discard("fuzzy")
    with catalog_path(SOURCE_LOCALE).open("wb") as fh:
        write_po(fh, catalog, width=0)


if __name__ == "__main__":
    if sys.argv[1:] == ["fill-source"]:
        fill_source()
    elif sys.argv[1:] == ["check"]:
        issues = [p for loc in locales() for p in problems(loc)]
        print("\n".join(issues) or "all catalogues complete")
        sys.exit(1 if issues else 0)
    else:
        sys.exit("usage: python -m diary.catalogs fill-source|check")
