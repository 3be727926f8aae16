"""How well the information sheet is understood, by language: a sign that a translation
needs work.

Definitions:

* First try: a course's first attempt at the comprehension check of a sheet version
  (later attempts come after the explanation, so they say less about the text).
* Miss rate of a question: the share of first tries that answered it wrongly, per
  language and sheet version.
* A language is marked when, for a question, its miss rate is at least twice the English
  miss rate of the same version and question, and above zero. Without English first tries
  to compare with, nothing is marked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

REFERENCE_LOCALE = "en"
MARK_RATIO = 2


@dataclass(frozen=True)
class MissRate:
    """First-try misses of one question in one language and sheet version."""

    version: int
    locale: str
    question: str
    tries: int
    misses: int
    marked: bool

    @property
    def rate(self) -> Fraction:
        return Fraction(self.misses, self.tries)


def miss_rates(attempts: Iterable[Mapping[str, Any]], questions: Sequence[str]) -> list[MissRate]:
    """Miss rates per (version, language, question) from first attempts (rows with
    ``sheet_version``, ``locale`` and the list ``wrong``), marked as defined above; by
    version, then language (English first), then question order."""
    tries: dict[tuple[int, str], int] = defaultdict(int)
    misses: dict[tuple[int, str, str], int] = defaultdict(int)
    for attempt in attempts:
        key = (attempt["sheet_version"], attempt["locale"])
        tries[key] += 1
        for question in attempt["wrong"]:
            misses[(*key, question)] += 1
    found = []
    for version, locale in sorted(tries, key=lambda k: (k[0], k[1] != REFERENCE_LOCALE, k[1])):
        english = tries.get((version, REFERENCE_LOCALE))
        for question in questions:
            n = tries[(version, locale)]
            m = misses[(version, locale, question)]
            marked = False
            if english and locale != REFERENCE_LOCALE and m:
                reference = Fraction(misses[(version, REFERENCE_LOCALE, question)], english)
                marked = Fraction(m, n) >= MARK_RATIO * reference
            found.append(MissRate(version, locale, question, n, m, marked))
    return found
