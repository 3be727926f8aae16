"""What a name may hold (clinic, clinician, patient's typed name, drug, needle).

No control characters (NUL, line breaks...), no line or paragraph separators, and none of
the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) that can make a
name display as something else ("evil.pdf" shown for "fdp.live"). The app isolates names
itself where it shows them (``<bdi>``, Unicode isolates in the consent text).
"""

from __future__ import annotations

import re

HIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def has_hidden(value: str, *, lines: bool = False) -> bool:
    """True when ``value`` holds a character a name may not (``lines``: line breaks allowed)."""
    if lines:
        value = value.replace("\r\n", "").replace("\n", "")
    return HIDDEN.search(value) is not None


#: control characters no text field may hold (tab, line feed and carriage return may)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control(value: str) -> bool:
    """True when free text (a note, an address, a password) holds a control character
    such as NUL: stored, it would break exports, logs and the PDF's text."""
    return CONTROL.search(value) is not None
