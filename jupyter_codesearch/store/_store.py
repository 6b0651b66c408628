"""Where the history lives and the one :class:`Store` per file in a process."""

from __future__ import annotations

import atexit
import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from .._config import SearchConfig
from .._model import Limits, Verdict
from ._db import connect, open_checked
from ._rows import limits_key, verdict_of
from ._writer import Op, Writer

__all__ = ["OFF", "Store", "default_path", "history_path", "open_store"]

OFF = "off"
"""The ``history`` value that records nothing."""
FILE_NAME = "history.sqlite"


def default_path() -> Path:
    """``history.sqlite`` in the user data dir (``~/.local/share/jupyter-codesearch`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("jupyter-codesearch", appauthor=False)) / FILE_NAME


def history_path(config: SearchConfig | str | None) -> Path | None:
    """The history file a config records to (``None``: ``history=off``). A directory given as
    the setting holds ``history.sqlite``."""
    value = config.history if isinstance(config, SearchConfig) else config
    if value is None:
        return default_path()
    if value.strip().lower() == OFF:
        return None
    path = Path(os.path.expanduser(value.strip()))
    return path / FILE_NAME if path.is_dir() else path


class Store:
    """One history file: a writer thread for the run's records, short connections for reading."""

    def __init__(self, path: Path) -> None:
        self.path = path
        open_checked(path).close()  # created, migrated, or moved aside with a warning
        self._writer = Writer(path)
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()

    def put(self, op: Op) -> None:
        """Queue a write (never blocks)."""
        self._writer.put(op)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every write queued so far is committed."""
        return self._writer.flush(timeout)

    @property
    def failed(self) -> str | None:
        """Why writing stopped, if it did (the file broke while in use)."""
        return self._writer.failed

    def close(self) -> None:
        """Write what is queued and stop the writer thread."""
        self._writer.close()
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading (WAL: never waits for a writer)."""
        conn = connect(self.path)
        try:
            yield conn
        finally:
            conn.close()

    def cached_programs(self, spec_key: str, limits: Limits) -> set[str]:
        """The program keys with a cached verdict for these tests and limits (keys only: a
        verdict is read when it is needed)."""
        with self.read() as conn:
            rows = conn.execute("SELECT program_key FROM verdict_cache WHERE spec_key = ? AND limits = ?",
                                (spec_key, limits_key(limits))).fetchall()
        return {r[0] for r in rows}

    def cached_verdict(self, spec_key: str, program: str, limits: Limits) -> Verdict | None:
        """The cached verdict of one program, if any (one connection kept for these reads)."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = connect(self.path)
            row = self._reader.execute(
                "SELECT run_id, candidate FROM verdict_cache WHERE spec_key = ? AND program_key = ? AND limits = ?",
                (spec_key, program, limits_key(limits))).fetchone()
            return verdict_of(self._reader, row[0], row[1]) if row is not None else None


_lock = threading.Lock()
_stores: dict[Path, Store] = {}


def open_store(path: Path) -> Store:
    """The process's store for ``path`` (opened on first use)."""
    key = path.expanduser().absolute()
    with _lock:
        store = _stores.get(key)
        if store is None or not store.path.exists():  # a file removed meanwhile starts afresh
            if store is not None:
                store.close()
            store = _stores[key] = Store(key)
        return store


def _close_all() -> None:
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()


atexit.register(_close_all)
