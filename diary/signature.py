"""The optional drawn signature: a PNG data URL from the signature pad, checked and cleaned."""

from __future__ import annotations

import base64
import binascii
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageFile, UnidentifiedImageError

PREFIX = "data:image/png;base64,"
MAX_BYTES = 300_000
MAX_SIDE = 2000


_STRICT = threading.Lock()


@contextmanager
def _strict() -> Iterator[None]:
    """Pillow with damaged images refused, whatever the process-wide setting: WeasyPrint
    turns ``ImageFile.LOAD_TRUNCATED_IMAGES`` on when it is imported, and then a damaged
    PNG decoded to a partly blank signature that was stored with the consent. One parse
    at a time, so that two cannot restore each other's setting."""
    with _STRICT:
        before = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before


def parse(data_url: str | None) -> bytes | None:
    """PNG bytes re-encoded from a data URL (None when empty); ValueError when unusable.

    Re-encoding through Pillow keeps only the pixels: no metadata, no smuggled chunks.
    """
    if not data_url:
        return None
    if not data_url.startswith(PREFIX) or len(data_url) > MAX_BYTES * 4 // 3 + len(PREFIX) + 4:
        raise ValueError("not a PNG data URL of acceptable size")
    try:
        raw = base64.b64decode(data_url[len(PREFIX) :], validate=True)
        with _strict(), Image.open(io.BytesIO(raw)) as image:
            if image.format != "PNG" or max(image.size) > MAX_SIDE or min(image.size) < 10:
                raise ValueError("unexpected image")
            image.load()
            clean = image.convert("RGBA")
    except (binascii.Error, UnidentifiedImageError, OSError, SyntaxError, EOFError) as exc:
        # Pillow reports a damaged PNG chunk as SyntaxError ("broken PNG file")
        raise ValueError("unreadable image") from exc
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue()


def data_url(png: bytes | None) -> str | None:
    """A data URL for stored PNG bytes (for the review page and the PDF)."""
    return PREFIX + base64.b64encode(png).decode("ascii") if png else None
