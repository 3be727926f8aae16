"""A pseudo-locale for tests: every translated string is accented, 40 % longer and
bracketed, so a page showing plain English has a string that does not go through gettext.

It is built from translations/messages.pot at test time into a temporary folder, under
the code ``eo`` (a locale Babel knows, so dates and numbers still format; Esperanto is not
a language this product ships).
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

CODE = "eo"
OPEN, CLOSE = "⟦", "⟧"
ACCENTS = str.maketrans("aceinouyACEINOUY", "áçéîñöûýÁÇÉÎÑÖÛÝ")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%|\{\w*\}")
POT = Path(__file__).resolve().parent.parent / "translations" / "messages.pot"


def pseudo(text: str) -> str:
    """``Save %(n)s`` -> ``⟦Śávé %(n)s~~~⟧``: accents, 40 % padding, brackets."""
    parts = PLACEHOLDER.split(text)
    holders = PLACEHOLDER.findall(text)
    out = []
    for i, part in enumerate(parts):
        out.append(part.translate(ACCENTS))
        if i < len(holders):
            out.append(holders[i])
    body = "".join(out)
    padding = "~" * max(1, round(len(text) * 0.4))
    return f"{OPEN}{body}{padding}{CLOSE}"


def build(folder: Path) -> Path:
    """Write ``<folder>/eo/LC_MESSAGES/messages.mo`` from the template; return folder."""
    with POT.open("rb") as fh:
        catalog = read_po(fh, locale=CODE)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            message.string = tuple(
                pseudo(message.id[min(i, len(message.id) - 1)]) for i in range(catalog.num_plurals)
            )
        else:
            message.string = pseudo(message.id)
    target = folder / CODE / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "messages.mo").open("wb") as fh:
        write_mo(fh, catalog)
    return folder


def untranslated(text: str, allowed: set[str]) -> list[str]:
    """Words of ``text`` outside pseudo brackets that are not allowed data."""
    innermost = re.compile(re.escape(OPEN) + "[^" + OPEN + CLOSE + "]*" + re.escape(CLOSE))
    outside, previous = text, None
    while outside != previous:  # a translated string can hold another one (%(interval)s)
        previous, outside = outside, innermost.sub(" ", outside)
    for value in sorted(allowed, key=len, reverse=True):
        if value:
            outside = outside.replace(value, " ")
    return [w for w in re.findall(r"[^\W\d_]{2,}", outside)]
