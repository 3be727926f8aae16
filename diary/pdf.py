"""PDF rendering with WeasyPrint, from templates, with a URL fetcher that can only read
files under ``static/`` and ``data:`` URLs (no file://, no network, no redirects)."""

from __future__ import annotations

import contextlib
import mimetypes
import os
import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import segno
from flask import current_app, render_template
from flask_babel import force_locale
from weasyprint import HTML, Document
from weasyprint.urls import URLFetcher, URLFetcherResponse

from . import sheet, signature
from .i18n import direction

#: relative URLs in PDF templates resolve against this made-up origin, served from static/
STATIC_BASE = "https://static.invalid/"


class StaticOnlyFetcher(URLFetcher):
    """Serves ``static/`` files and ``data:`` URLs; refuses and records everything else."""

    def __init__(self, static_root: str | Path) -> None:
        super().__init__(allow_redirects=False)
        self.root = Path(static_root).resolve()
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            with urllib.request.DataHandler().data_open(urllib.request.Request(url)) as res:  # noqa: S310 - data: only
                return URLFetcherResponse(
                    url, res.read(), {"Content-Type": res.headers["Content-Type"]}
                )
        if url.startswith(STATIC_BASE) and not urlsplit(url).query:
            path = (self.root / unquote(url[len(STATIC_BASE) :])).resolve()
            if path.is_relative_to(self.root) and path.is_file():
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})
        self.refused.append(url)
        raise ValueError(f"refused to fetch {url[:80]}")


def layout(html: str, static_folder: str | None = None) -> Document:
    """The laid-out pages of rendered template HTML (what :func:`render` writes)."""
    fetcher = StaticOnlyFetcher(static_folder or current_app.static_folder)
    return HTML(string=html, base_url=STATIC_BASE, url_fetcher=fetcher).render(pdf_tags=True)


def render(html: str, static_folder: str | None = None) -> bytes:
    """A tagged PDF (title and language from the HTML) from rendered template HTML."""
    return layout(html, static_folder).write_pdf(pdf_tags=True)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _lower_priority() -> None:
    """Run this (render) thread at a lower CPU priority than request threads (Linux)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def render_in_background(html: str) -> bytes:
    """:func:`render` on a low-priority thread, so diary requests are served first."""
    global _pool
    with _pool_lock:
        if _pool is None:  # created lazily: after gunicorn has forked its workers
            _pool = ThreadPoolExecutor(
                max_workers=4, thread_name_prefix="pdf", initializer=_lower_priority
            )
    return _pool.submit(render, html, current_app.static_folder).result()


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


class Busy(Exception):
    """Every rendering slot of this process is taken (answered 503 with ``Retry-After``)."""


@contextlib.contextmanager
def render_slot(timeout: float = 2.0) -> Iterator[None]:
    """Hold one of ``DIARY_PDF_CONCURRENCY`` rendering slots, or raise :class:`Busy`."""
    limit = int(current_app.config["PDF_CONCURRENCY"])
    with _slots_lock:
        semaphore = _slots.setdefault(limit, threading.BoundedSemaphore(limit))
    if not semaphore.acquire(timeout=timeout):
        raise Busy()
    try:
        yield
    finally:
        semaphore.release()


def render_limited(html: str) -> bytes:
    """What every PDF route renders through: a slot of the render limit, then
    :func:`render_in_background`. Raises :class:`Busy` when no slot frees up in time."""
    with render_slot():
        return render_in_background(html)


def _qr(url: str) -> str:
    """A QR code of ``url`` as an SVG data URL (drawn as one image, like the chart)."""
    return segno.make(url, error="m").svg_data_uri(scale=3, border=2)


def consent_pdf(
    record: dict[str, Any],
    clinic: dict[str, Any],
    countersignature: dict[str, Any] | None = None,
    receipt: tuple[str, str] | None = None,
) -> bytes:
    """The copy of a consent (or withdrawal) in the language it was given in, with the
    clinician's countersignature and who else took part, when recorded."""
    locale = record["locale"]
    body, statements = sheet.split_statements(
        sheet.parse(record["text"]) if record["kind"] == "consent" else []
    )
    with force_locale(locale):
        html = render_template(
            "pdf/consent.html",
            record=record,
            clinic=clinic,
            countersignature=countersignature,
            receipt_code=receipt[0] if receipt else None,
            receipt_url=receipt[1] if receipt else None,
            receipt_qr=_qr(receipt[1]) if receipt else None,
            sections=body,
            statements=statements,
            agreements=record["agreements"],
            signature_url=signature.data_url(record["signature_png"]),
            locale=locale,
            dir=direction(locale),
            paper=clinic.get("paper_size") or "A4",
        )
    return render_limited(html)
