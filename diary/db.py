"""Database connections: one ``sqlite_utils.Database`` per request, with fixed pragmas.

Durability (which write gets which guarantee):

* every connection runs in WAL mode with ``synchronous=NORMAL``: a committed transaction
  survives a crash of the process (SIGKILL) but the last few may be lost on power loss;
* :func:`transaction` with ``durable=True`` switches that transaction to
  ``synchronous=FULL`` so it is on disk before the commit returns (used for consent
  records, which must survive power loss).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils
from flask import current_app, g

BUSY_TIMEOUT_MS = 5000


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open the database file with the pragmas every connection needs."""
    # isolation_level=None: no implicit transactions; writes that belong together are
    # grouped explicitly with transaction() below.
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
    )
    db = sqlite_utils.Database(conn, execute_plugins=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    return db


def get_db() -> sqlite_utils.Database:
    """The request's database connection, opened on first use."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    """Close the request's connection (registered as an app-context teardown)."""
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()


@contextmanager
def transaction(db: sqlite_utils.Database, durable: bool = False) -> Iterator[None]:
    """Run the block as one write transaction: all of it is stored, or none of it.

    ``BEGIN IMMEDIATE`` takes the write lock up front, so concurrent writers wait on
    ``busy_timeout`` instead of failing when a read turns into a write. Nested use
    becomes a savepoint.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield
        return
    if durable:
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
    finally:
        if durable:
            conn.execute("PRAGMA synchronous=NORMAL")
