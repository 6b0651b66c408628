"""Opening the history file: WAL, a busy timeout, retries, migrations, and bad files moved aside.

Two notebooks (two processes) may record at once: SQLite's WAL mode lets readers go on while
one writer writes, the busy timeout makes a writer wait its turn inside SQLite, and write
transactions start with ``BEGIN IMMEDIATE`` so the wait happens there (a deferred transaction
that later needs the write lock fails at once, busy handler or not). What still comes back as
"locked" or "busy" is retried here with a growing pause; the user never sees it.

A file that is not a SQLite database, is corrupted, or is somebody else's database is renamed
``<name>.broken-<time>`` with one warning, and a fresh history starts in its place: the user's
notebook and run go on.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from .._exceptions import CodeSearchWarning
from ._schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

__all__ = ["BUSY_TIMEOUT_S", "RETRY_FOR_S", "Unusable", "connect", "open_checked", "retrying", "transaction"]

log = logging.getLogger(__name__)
T = TypeVar("T")

BUSY_TIMEOUT_S = 10.0
"""How long SQLite itself waits for another process's write lock."""
RETRY_FOR_S = 60.0
"""How long a write is retried after SQLite gave up waiting (then it is dropped and logged)."""


class Unusable(Exception):
    """The file cannot be our history: what is wrong with it, in words."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, busy timeout set."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    # WAL + synchronous=NORMAL: a commit is durable against a killed process (the OS has the
    # pages), only a power cut may lose the last transactions; no fsync per verdict.
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _is_busy(e: sqlite3.OperationalError) -> bool:
    text = str(e).lower()
    return "locked" in text or "busy" in text


def retrying(work: Callable[[], T], what: str) -> T:
    """``work()``, again after "database is locked" (another process writing), for up to
    :data:`RETRY_FOR_S` seconds."""
    pause, deadline = 0.01, time.monotonic() + RETRY_FOR_S
    while True:
        try:
            return work()
        except sqlite3.OperationalError as e:
            if not _is_busy(e) or time.monotonic() > deadline:
                raise
            log.debug("%s: %s; retrying in %.2f s", what, e, pause)
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on an error)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _prepare(conn: sqlite3.Connection) -> None:
    """Check the file is ours and bring its schema up to date; raise :class:`Unusable`."""
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if app != APPLICATION_ID and tables:
        raise Unusable("is a database of another program")
    if version > SCHEMA_VERSION:
        raise Unusable(f"was written by a newer jupyter-codesearch (schema {version}, this one reads {SCHEMA_VERSION})")
    if version == SCHEMA_VERSION:
        return

    def migrate() -> None:
        with transaction(conn):
            now = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have done it
            for step in MIGRATIONS[now:]:
                for statement in step:
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    retrying(migrate, "migrating the history")


def _open(path: Path) -> sqlite3.Connection:
    conn = None
    try:
        conn = connect(path)
        _prepare(conn)
        return conn
    except sqlite3.DatabaseError as e:
        if conn is not None:
            conn.close()
        if isinstance(e, sqlite3.OperationalError) and _is_busy(e):
            raise  # somebody is writing: not a broken file
        raise Unusable(f"is not a readable history ({e})") from e
    except Unusable:
        if conn is not None:
            conn.close()
        raise


def _move_aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        n += 1
    path.rename(aside)
    for suffix in ("-wal", "-shm"):  # they belong to the old file; a fresh one must not read them
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(aside.with_name(aside.name + suffix))
    return aside


def open_checked(path: Path) -> sqlite3.Connection:
    """Open (create, migrate) the history at ``path``. A file that cannot be our history is
    moved aside with one :class:`CodeSearchWarning` and a fresh history is started."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _open(path)
    except Unusable as e:
        aside = _move_aside(path)
        warnings.warn(CodeSearchWarning(
            f"the search history {path} {e}: moved it to {aside.name} and started a fresh history"), stacklevel=3)
        return _open(path)
