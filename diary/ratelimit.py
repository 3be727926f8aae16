"""Rate limits per user (Flask-Limiter), counted in the app's own SQLite database so that
every gunicorn worker (and every server sharing the file) sees the same counts.

* A user is the signed-in clinician or patient device's account (``clinician:7``,
  ``patient:12``); before signing in, the client address (``address:203.0.113.9``).
* Limits are ``DIARY_RATE_LIMIT_*`` settings in Flask-Limiter's notation ("30 per minute"),
  each one budget shared by its routes: ``PDF`` for every PDF, ``EXPORT`` for CSV, JSON
  and FHIR downloads, ``SIGNIN`` for the sign-in form (POST) and patient links (per
  address), ``VERIFY`` for consent checks at /verify (per address).
* A request over its limit gets the translated 429 page with ``Retry-After``.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable

from flask import Flask, current_app
from flask_limiter import Limiter
from limits.storage import Storage

from .db import get_db, transaction
from .security import client_address, current_user

#: Flask-Limiter's storage URI for :class:`DatabaseStorage` (the file is the app's database)
STORAGE_URI = "diary+sqlite://"


class DatabaseStorage(Storage):
    """Fixed-window counters in the ``rate_limits`` table of the current app's database.

    Each increment is one write transaction (``BEGIN IMMEDIATE``), so parallel requests
    in several processes count exactly; expired windows are removed as counts are made.
    """

    STORAGE_SCHEME = ["diary+sqlite"]

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        db = get_db()
        with transaction(db):
            db.execute("DELETE FROM rate_limits WHERE expires_at <= ?", [now])
            db.execute(
                "INSERT INTO rate_limits (key, count, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET count = count + excluded.count",
                [key, amount, now + expiry],
            )
            return db.execute("SELECT count FROM rate_limits WHERE key = ?", [key]).fetchone()[0]

    def _row(self, key: str) -> tuple[int, float] | None:
        return (
            get_db()
            .execute(
                "SELECT count, expires_at FROM rate_limits WHERE key = ? AND expires_at > ?",
                [key, time.time()],
            )
            .fetchone()
        )

    def get(self, key: str) -> int:
        row = self._row(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row[1] if row else time.time()

    def check(self) -> bool:
        return get_db().execute("SELECT 1").fetchone() is not None

    def reset(self) -> int | None:
        db = get_db()
        with transaction(db):
            count = db.execute("SELECT count(*) FROM rate_limits").fetchone()[0]
            db.execute("DELETE FROM rate_limits")
        return count

    def clear(self, key: str) -> None:
        db = get_db()
        with transaction(db):
            db.execute("DELETE FROM rate_limits WHERE key = ?", [key])


def user_key() -> str:
    """Who a limit counts for: the signed-in account, else the client address."""
    user = current_user()
    return f"{user.kind}:{user.id}" if user else f"address:{client_address()}"


def address_key() -> str:
    """The client address (for sign-in, whoever the cookie says)."""
    return f"address:{client_address()}"


limiter = Limiter(key_func=user_key, storage_uri=STORAGE_URI, strategy="fixed-window")


def setting(name: str) -> Callable[[], str]:
    """A limit read from the ``RATE_LIMIT_<name>`` setting when a request is checked."""
    return lambda: current_app.config[f"RATE_LIMIT_{name}"]


def retry_after() -> int:
    """Seconds until the limit just exceeded lets requests through again."""
    current = limiter.current_limit
    return max(1, math.ceil(current.reset_at - time.time())) if current else 60


def init_app(app: Flask) -> None:
    """Attach the limiter; the translated 429 page (with ``Retry-After``) comes from the
    app's error handlers, so no rate-limit headers are added to other responses."""
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    app.config.setdefault("RATELIMIT_STORAGE_URI", STORAGE_URI)
    limiter.init_app(app)
