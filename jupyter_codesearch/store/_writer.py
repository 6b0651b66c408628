"""The history's writer thread: what the run hands it is written in batched transactions.

The engine thread only appends to a queue (no I/O, no lock held by SQLite): recording never
slows verification down. The writer takes everything queued so far and writes it in one
transaction, so under load batches grow by themselves and when idle a verdict is written
within about a millisecond. :meth:`Writer.flush` waits until what was queued before the call
is committed: a display calls it before showing, so whatever it shows is in the file.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ._db import connect, retrying, transaction

__all__ = ["MAX_BATCH", "Op", "Writer"]

log = logging.getLogger(__name__)

Op = Callable[[sqlite3.Connection], object]
"""One piece of writing, run inside the writer's transaction."""
MAX_BATCH = 2000
"""Operations per transaction at most (a bound on how long one transaction holds the lock)."""
IDLE_S = 2.0
"""A writer with nothing to write for this long ends its thread (the next write starts one):
a process that records now and then holds no thread and no connection for it meanwhile."""
BATCH_WINDOW_S = 0.05
"""How long the writer gathers operations before it commits, unless a display is waiting: a
commit writes every page it touched, so one per verdict would cost several times the rows."""


def _WAKE(conn: sqlite3.Connection) -> None:
    """Not an operation: wakes the writer to commit what it gathered (``flush``)."""


class Writer:
    """One thread and one connection writing to one history file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[Op | None] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._queued = 0
        self._written = 0
        self._waiting = 0  # flush() callers: they get a commit at once
        self.failed: str | None = None
        """Why writing stopped (a file broken while in use), once it has."""
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def put(self, op: Op) -> None:
        """Queue ``op`` (any thread; never blocks)."""
        with self._cond:
            self._queued += 1
        self._queue.put(op)
        with self._start_lock:  # after the put: a thread that saw an empty queue has gone
            if self._thread is None:
                thread = threading.Thread(target=self._loop, name="codesearch-history", daemon=True)
                thread.start()
                self._thread = thread

    def _idle(self) -> bool:
        """End the thread if nothing came (decided under the lock ``put`` starts threads with)."""
        with self._start_lock:
            if not self._queue.empty():
                return False
            self._thread = None
            return True

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything queued before this call is committed; ``False`` on timeout."""
        with self._cond:
            target = self._queued
            if self._written >= target:
                return True
            self._waiting += 1
            self._queue.put(_WAKE)  # the writer may be gathering: commit now
            try:
                return self._cond.wait_for(lambda: self._written >= target, timeout)
            finally:
                self._waiting -= 1

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        with self._start_lock:
            thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    def _loop(self) -> None:
        conn = connect(self.path)
        try:
            while True:
                batch = self._gather()
                if not batch:
                    if self._idle():
                        return
                    continue
                ops = [op for op in batch if op is not None and op is not _WAKE]
                self._write(conn, ops)
                with self._cond:
                    self._written += len(ops)
                    self._cond.notify_all()
                if None in batch:
                    with self._start_lock:
                        self._thread = None
                    return
        finally:
            conn.close()

    def _gather(self) -> list[Op | None]:  # [] when idle
        """The next batch: what comes within :data:`BATCH_WINDOW_S` of the first operation (or
        until someone waits for it, or the writer is told to stop)."""
        try:
            batch = [self._queue.get(timeout=IDLE_S)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + BATCH_WINDOW_S
        while len(batch) < MAX_BATCH and batch[-1] is not None and batch[-1] is not _WAKE:
            left = deadline - time.monotonic()
            try:
                batch.append(self._queue.get_nowait() if left <= 0 or self._waiting else self._queue.get(timeout=left))
            except queue.Empty:
                if left <= 0 or self._waiting:
                    break
        return batch

    def _write(self, conn: sqlite3.Connection, ops: list[Op]) -> None:
        if not ops or self.failed is not None:
            return

        def work() -> None:
            with transaction(conn):
                for op in ops:
                    op(conn)

        began = time.perf_counter()
        try:
            retrying(work, "writing the history")
        except sqlite3.Error as e:
            # The run goes on without its record: said once, in the log and the run's notices.
            self.failed = f"the search history {self.path} could not be written ({e}); this run is not recorded"
            log.warning("%s", self.failed)
        except Exception:  # a bug of ours: this batch is lost, the next ones are written
            log.exception("writing the history failed")
        log.debug("history: %d writes in %.1f ms", len(ops), (time.perf_counter() - began) * 1000)
