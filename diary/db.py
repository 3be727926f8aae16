"""Database connections: one per worker thread, kept open, with fixed pragmas.

Durability (which write gets which guarantee):

* every connection runs in WAL mode with ``synchronous=NORMAL``: a committed transaction
  survives a crash of the process (SIGKILL) but the last few may be lost on power loss;
* :func:`transaction` with ``durable=True`` switches that transaction to
  ``synchronous=FULL`` so it is on disk before the commit returns (used for consent
  records, which must survive power loss).

Speed: opening and closing an SQLite connection costs more than a whole diary request
(closing the last connection checkpoints the WAL), so each thread keeps its connection
for the next request. Writers take turns through :class:`WriterLock` before SQLite's own
lock, so a waiting writer is woken the moment the previous one commits instead of
sleeping in SQLite's busy handler.

WAL size: SQLite's automatic checkpoint (PASSIVE, every :data:`AUTOCHECKPOINT_PAGES`
pages) copies the WAL into the database without waiting for anyone, the only kind of
checkpoint that Litestream, which keeps a read transaction open on the file, tolerates
beside its own. The app never runs a RESTART or TRUNCATE checkpoint (they would wait for
Litestream's reader). When a checkpoint lets the WAL start over, SQLite truncates the file
to :data:`JOURNAL_SIZE_LIMIT`; without that limit a WAL keeps the size of its largest
burst for good.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, NamedTuple

import sqlite_utils
from flask import current_app, g
from sqlite_utils.db import dedupe_keys

BUSY_TIMEOUT_MS = 5000
#: pages in the WAL before SQLite's automatic PASSIVE checkpoint (SQLite's default, and
#: Litestream's ``min-checkpoint-page-count``)
AUTOCHECKPOINT_PAGES = 1000
#: bytes the WAL file is cut back to whenever it starts over after a checkpoint
JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024


class Database(sqlite_utils.Database):
    """``sqlite_utils.Database`` with a lean path for SELECTs and a writer lock.

    sqlite-utils wraps every ``query()`` in a savepoint so that a statement which turns
    out not to return rows can be undone; a plain SELECT needs no such guard, and the two
    extra statements per query were a measurable part of a diary request.
    """

    writer_lock: WriterLock | None = None

    def query(
        self, sql: str, params: Sequence | dict[str, Any] | None = None
    ) -> Generator[dict, None, None]:
        """Rows as dicts, like ``sqlite_utils.Database.query``."""
        if sql.lstrip()[:6].upper() != "SELECT":
            return super().query(sql, params)
        cursor = self.conn.execute(sql, params if params is not None else ())
        keys = dedupe_keys(d[0] for d in cursor.description)
        return (dict(zip(keys, row, strict=False)) for row in cursor)


class WriterLock:
    """Whose turn it is to write, across the threads and processes serving one file.

    A thread lock orders the threads of a process; a POSIX record lock on
    ``<database>.lock`` orders the processes (gunicorn workers, the CLI). The kernel
    drops the record lock when a process dies, so a killed worker never blocks the
    others. (Nested writes on one connection are savepoints and do not ask again.)
    """

    _by_file: weakref.WeakValueDictionary[tuple[int, str], WriterLock] = (
        weakref.WeakValueDictionary()
    )
    _by_file_lock = threading.Lock()

    def __init__(self, path: str) -> None:
        self._thread_lock = threading.Lock()
        self._fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)

    def __del__(self) -> None:
        os.close(self._fd)

    @classmethod
    def for_file(cls, path: str) -> WriterLock:
        """The process's one lock for ``path``, shared by its open connections.

        One descriptor per file and process: closing any descriptor of a file drops all
        of the process's POSIX locks on it.
        """
        key = (os.getpid(), os.path.realpath(path))
        with cls._by_file_lock:
            lock = cls._by_file.get(key)
            if lock is None:
                lock = cls._by_file[key] = cls(key[1])
            return lock

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the turn for the block; raise "database is locked" after the busy timeout."""
        if not self._thread_lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise sqlite3.OperationalError("database is locked")
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


def connect(path: str | Path) -> Database:
    """Open the database file with the pragmas every connection needs."""
    # isolation_level=None: no implicit transactions; writes that belong together are
    # grouped explicitly with transaction() below.
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
    )
    db = Database(conn, execute_plugins=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
    conn.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
    if str(path) != ":memory:":
        db.writer_lock = WriterLock.for_file(str(path))
    return db


class _Kept(NamedTuple):
    path: str
    db: Database
    pid: int  # a forked child must not use its parent's connection


_thread = threading.local()


def get_db() -> Database:
    """This thread's connection to the app's database (opened once, then reused)."""
    if "db" not in g:
        path, pid = current_app.config["DATABASE"], os.getpid()
        kept: _Kept | None = getattr(_thread, "kept", None)
        if kept is None or kept.path != path or kept.pid != pid:
            if kept is not None and kept.pid == pid:
                kept.db.conn.close()  # the app's database changed (tests)
            kept = _thread.kept = _Kept(path, connect(path), pid)
        g.db = kept.db
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    """End of request (app-context teardown): undo anything left uncommitted.

    The connection itself stays open for the thread's next request.
    """
    db = g.pop("db", None)
    if db is not None and db.conn.in_transaction:
        db.conn.execute("ROLLBACK")


@contextmanager
def transaction(db: sqlite_utils.Database, durable: bool = False) -> Iterator[None]:
    """Run the block as one write transaction: all of it is stored, or none of it.

    The writer's turn (see :class:`WriterLock`) comes first, then ``BEGIN IMMEDIATE``
    takes SQLite's write lock up front, so a read never has to turn into a write
    half-way. Nested use becomes a savepoint.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield
        return
    lock = getattr(db, "writer_lock", None)
    with lock.turn() if lock is not None else nullcontext():
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
