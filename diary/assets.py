"""Versioned URLs for static files: ``/static/css/app.css?v=<digest of its content>``.

A versioned URL names one content for good, so the reverse proxy may serve it with
``Cache-Control: immutable`` (``deploy/nginx/diary.conf``); a changed file gets a new URL.
Unversioned URLs (the service worker's list, ``importScripts``) keep being revalidated.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import Any

from flask import Flask

#: hex digits of the SHA-256 of the file's content in the ``v`` query argument
VERSION_LENGTH = 12


@lru_cache(maxsize=256)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:VERSION_LENGTH]


def version_of(static_folder: str, filename: str) -> str | None:
    """The version of a static file (a digest of its content), or None if it is missing."""
    path = os.path.join(static_folder, filename)
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _digest(path, stat.st_mtime_ns, stat.st_size)


def init_app(app: Flask) -> None:
    """``url_for('static', filename=...)`` adds ``v=<version>`` to every static URL."""

    def add_version(endpoint: str | None, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values and app.static_folder:
            version = version_of(app.static_folder, values.get("filename", ""))
            if version:
                values["v"] = version

    app.url_defaults(add_version)
