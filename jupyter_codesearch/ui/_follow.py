"""Following a run from a worker thread: redraw on its events, a few times per second at most.

A thread, not an asyncio task: ipykernel 7 stalls tasks that outlive the cell. The run's listener
only sets an event (it is called on the engine thread, which must not wait for a view).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._log import get_logger

if TYPE_CHECKING:
    from ..run import SearchRun

__all__ = ["REDRAW_INTERVAL", "TICK", "Follower"]

REDRAW_INTERVAL = 0.25
"""Seconds between redraws while candidates stream in (page flips and clicks redraw at once)."""
TICK = 0.5
"""Redraw at least this often while the run is live, so the elapsed time moves."""
_log = get_logger(__name__)


class Follower:
    """Calls ``render`` after the run's events (bursts coalesced) until the run is done and drawn,
    or until :meth:`close`; an error in ``render`` goes to ``broke`` and ends the thread."""

    def __init__(self, run: SearchRun, render: Callable[[], None], broke: Callable[[Exception], None]) -> None:
        self._run, self._render, self._broke = run, render, broke
        self._wake = threading.Event()
        self.closed = False
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        self._unsubscribe = self._run.subscribe(lambda event, payload: self._wake.set())
        self._wake.set()  # the run may have progressed (or failed) before we subscribed
        self._thread = threading.Thread(target=self._loop, name="codesearch-view", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        last = 0.0
        try:
            while not self.closed:
                self._wake.wait(TICK)
                self._wake.clear()
                if self.closed:
                    return
                pause = REDRAW_INTERVAL - (time.monotonic() - last)
                if pause > 0:  # coalesce a burst of events into one redraw
                    time.sleep(pause)
                finished = self._run.done
                self._render()
                last = time.monotonic()
                if finished:
                    return
        except Exception as e:  # the view is all the user sees: it says it broke
            _log.debug("the live view stopped", exc_info=e)
            self._broke(e)
        finally:
            if self._unsubscribe is not None:
                self._unsubscribe()

    def close(self) -> None:
        """Stop following (the thread ends at its next wake-up)."""
        self.closed = True
        self._wake.set()
        if self._unsubscribe is not None:
            self._unsubscribe()

    def wait(self, timeout: float) -> bool:
        """Wait for the thread to end; ``True`` when it has (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
