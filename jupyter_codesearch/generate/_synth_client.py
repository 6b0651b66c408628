"""The offline synthesizer as a :class:`CandidateSource`: the caller's half of its protocol.

The synthesizer runs in a worker process (``_synth_worker``) so that it never holds the
user kernel's GIL and stopping it is a kill. It gets the examples read from the visible asserts
and streams back programs (smallest first, each a new behaviour or spelling) and progress.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import IO, Any

from .._config import SearchConfig
from .._exceptions import ConfigError
from .._seams import RoundRequest, Sample, SourceCounters
from ..spec import Spec
from ._examples import examples_from_spec

__all__ = ["QUIET_S", "SynthSource"]

QUIET_S = 8.0
"""Stop the synthesizer after this much of its own work without a new program (once it has
found one): CPU seconds of the worker where the system tells them (see :func:`worker_clock`)."""
_POLL_S = 0.25

MAX_PROGRAMS = 8
"""The synthesizer keeps at most this many programs: beyond them come only odder variants."""


class SynthSource:
    """Programs from the offline synthesizer, in round 1 only (it has nothing to repair with).

    ``required``: with no model to fall back on, tests it cannot learn from are a
    :class:`ConfigError` (said before any kernel starts: see :meth:`check`); otherwise a notice.
    """

    def __init__(self, spec: Spec, config: SearchConfig, required: bool) -> None:
        self.spec = spec
        self.config = config
        self.required = required
        self._explored = 0
        self._notices: list[str] = []

    def check(self) -> None:
        """Fail now, when the synthesizer is all there is and cannot use these tests."""
        examples, why_not = examples_from_spec(self.spec)
        if not examples and self.required:
            self._cannot(why_not or "no examples")

    def _cannot(self, why: str) -> None:
        if self.required:
            raise ConfigError(
                f"no model is configured and the offline synthesizer cannot use these tests: {why}. "
                "Set a model with --model (e.g. openai/gpt-4o-mini) or CODESEARCH_MODEL, with its API "
                "key in the provider's variable (OPENAI_API_KEY, ...)."
            )
        self._notices.append(f"offline synthesizer skipped: {why}")

    def _request(self) -> dict[str, object] | None:
        from ..execute._codec import Unserializable, to_tree

        examples, why_not = examples_from_spec(self.spec)
        if not examples:
            self._cannot(why_not or "no examples")
            return None
        try:
            return {
                "examples": [[to_tree(list(a)), to_tree(e)] for a, e in examples],
                "params": list(self.spec.stub.params), "name": self.spec.name,
                "time_limit": self.config.time_limit or 20.0,
                "max_programs": min(self.config.n, MAX_PROGRAMS),
            }
        except Unserializable:
            self._cannot("the examples are not plain data")
            return None

    async def samples(self, request: RoundRequest) -> AsyncIterator[Sample]:
        if request.round != 1:
            return
        job = self._request()
        if job is None:
            return
        # A plain Popen, waited for by us: asyncio's child watcher (a thread per child in 3.11)
        # races other reapers in a Jupyter kernel and prints "Unknown child process pid ...".
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_codesearch.generate._synth_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout
        found = 0
        try:
            def send() -> None:
                with stdin:
                    stdin.write((json.dumps(job) + "\n").encode())

            await asyncio.to_thread(send)
            async for msg in _messages(stdout, worker_clock(proc.pid)):
                if "program" in msg:
                    found += 1
                    yield Sample(str(msg["program"]), "synth", code=True)
                elif "progress" in msg:
                    self._explored = int(msg["progress"].get("explored", 0))
                elif "unsupported" in msg:
                    self._cannot(str(msg["unsupported"]))
                    return
        finally:
            proc.kill()  # a no-op once it has exited and been waited for
            await asyncio.to_thread(proc.wait)  # also ends a readline still blocked on its output
            stdout.close()
        if not found:
            self._notices.append("the offline synthesizer found no program within its time limit")

    async def ask(self, prompt: str, samples: int = 1) -> list[str]:
        return []

    def counters(self) -> SourceCounters:
        return SourceCounters(explored=self._explored)

    def notices(self) -> list[str]:
        return list(self._notices)

    def more_rounds(self) -> bool:
        return False


def worker_clock(pid: int) -> Callable[[], float]:
    """Seconds of work done by process ``pid``: its CPU time from ``/proc`` (Linux), else the
    wall clock. The synthesizer's quiet spell is measured on it, so a machine busy with other
    work (other kernels, other users) slows the search but does not cut it short."""
    path = f"/proc/{pid}/stat"
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def cpu() -> float:
        try:
            with open(path, "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        except (OSError, IndexError, ValueError):
            return math.nan

    return cpu if not math.isnan(cpu()) else time.monotonic


async def _messages(stdout: IO[bytes], clock: Callable[[], float]) -> AsyncIterator[dict[str, Any]]:
    """The worker's messages; once it has found a program, end when nothing new has come for
    :data:`QUIET_S` seconds of ``clock``, or as long as the search has taken so far if that is
    longer, rather than at the time limit."""
    began = clock()
    enough_at = math.inf
    pending: asyncio.Future[bytes] | None = None
    try:
        while True:
            now = clock()
            if now >= enough_at:  # a process that has exited reads as NaN: its EOF ends the loop
                return
            if pending is None:
                pending = asyncio.ensure_future(asyncio.to_thread(stdout.readline))
            done, _ = await asyncio.wait({pending}, timeout=None if enough_at == math.inf else _POLL_S)
            if not done:
                continue
            line, pending = pending.result(), None
            if not line:
                return
            msg = json.loads(line)
            if "program" in msg:
                now = clock()
                enough_at = now + max(QUIET_S, now - began)
            yield msg
    finally:
        if pending is not None:  # its thread ends when the caller kills the worker
            pending.cancel()
