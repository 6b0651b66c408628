"""Recording a run as it happens: its events become writes queued for the writer thread.

The recorder listens to the run (on the engine thread) and only queues: rows are made and
written by the writer. It records the run (spec, settings, counters, notices, status), each
candidate (code, program key, origin, round, parent, samples, behaviours), each verdict with
its per-test results and score, the probe inputs, an optimising run's climb (best score by
samples) and, at the end, the clusters. With
``history_prompts`` on, a :class:`RecordingSource` also records what was said to the model and
what came back. API keys are never written: every text is scrubbed of the values of
environment variables that look like secrets before it is queued.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .._config import SearchConfig
from .._model import Candidate, Progress, Verdict
from .._seams import CandidateSource, RoundRequest, Sample, SourceCounters
from ._rows import UPSERT_CANDIDATE, candidate_row, probes_json, trajectory_json, write_verdict
from ._store import Store

if TYPE_CHECKING:
    from ..run import SearchRun

__all__ = ["PROGRESS_EVERY_S", "Recorder", "RecordingSource", "new_run_id", "scrubber"]

PROGRESS_EVERY_S = 0.5
"""How often the run's counters are written while it goes (they are exact once it ends)."""
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)


def new_run_id() -> str:
    """A short random id (10 hex digits), easy to type; prefixes of it work too."""
    return secrets.token_hex(5)


def scrubber(extra_names: tuple[str | None, ...] = ()) -> Callable[[str | None], str | None]:
    """A function replacing the values of secret-looking environment variables with ``***``."""
    values = {v for k, v in os.environ.items() if (_SECRET_NAME.search(k) or k in extra_names) and len(v) >= 8}
    ordered = sorted(values, key=len, reverse=True)

    def scrub(text: str | None) -> str | None:
        if text is None or not ordered:
            return text
        for v in ordered:
            if v in text:
                text = text.replace(v, "***")
        return text

    return scrub


class Recorder:
    """Writes one run to a :class:`Store` as it happens."""

    def __init__(self, store: Store, config: SearchConfig, run_id: str | None = None, *, resumed: bool = False) -> None:
        self.store = store
        self.run_id = run_id or new_run_id()
        self.resumed = resumed
        self.scrub = scrubber((config.api_key_env,))
        self._run: SearchRun | None = None
        self._judged: dict[int, Verdict] = {}
        self._dirty: dict[int, Candidate] = {}
        self._dirty_lock = threading.Lock()
        self._probes_written = False
        self._last_progress = 0.0
        self._exchanges = 0
        self._told = False

    @property
    def run(self) -> SearchRun:
        """The run recorded (once attached)."""
        assert self._run is not None, "attach() first"
        return self._run

    def attach(self, run: SearchRun) -> None:
        """Record the run's start and follow it (before the run starts)."""
        self._run, scrub = run, self.scrub
        settings = json.dumps(asdict(run.config), ensure_ascii=False, default=str)
        row = (self.run_id, run.spec.name, scrub(run.spec.text), run.spec.key, scrub(settings), run.config.model,
               time.time(), "running", os.getpid())
        if self.resumed:
            self.store.put(lambda conn: conn.execute(
                "UPDATE runs SET status = 'running', ended = NULL, pid = ? WHERE id = ?", (row[-1], self.run_id)))
        else:
            self.store.put(lambda conn: conn.execute(
                "INSERT INTO runs (id, function, spec_text, spec_key, settings, model, started, status, pid) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row))
        run.history_id = self.run_id
        run.history_flush = self.store.flush
        run.subscribe(self._on)

    def _on(self, event: str, payload: Any) -> None:
        # The engine thread: queue, nothing else.
        if self.store.failed and not self._told:  # the file broke while in use: the run says so once
            self._told = True
            self.run._notice(self.store.failed)
        if event == "candidate":
            self._candidate(payload)
        elif event == "progress":
            now = time.monotonic()
            if now - self._last_progress >= PROGRESS_EVERY_S:
                self._last_progress = now
                self.store.put(self._counters(payload))
        elif event == "done":
            self.store.put(self._end(payload))

    def _candidate(self, c: Candidate) -> None:
        # Changes coalesce: one queued write takes the latest state of every candidate changed
        # since the last one (a new candidate and its verdict are often one row written once).
        with self._dirty_lock:
            fresh = not self._dirty
            self._dirty[c.id] = c
        if fresh:
            self.store.put(self._write_candidates)

    def _write_candidates(self, conn: sqlite3.Connection) -> None:
        with self._dirty_lock:
            changed, self._dirty = self._dirty, {}
        run_id, scrub = self.run_id, self.scrub
        for c in changed.values():
            row = list(candidate_row(run_id, c))
            row[2] = scrub(row[2])
            conn.execute(UPSERT_CANDIDATE, row)
            v, before = c.verdict, self._judged.get(c.id)
            if v is not None and v is not before:  # new, or changed since: scored, or rejected by the reference
                self._judged[c.id] = v
                write_verdict(conn, run_id, v, scrub(v.stdout), scrub(v.error))
                if before is not None and before.passed and not v.passed:
                    # Failed by this run's --reference, not by the tests: not a verdict to reuse.
                    conn.execute("DELETE FROM verdict_cache WHERE run_id = ? AND candidate = ?", (run_id, c.id))
            if c.behaviours is not None and not self._probes_written:
                self._probes_written = True
                conn.execute("UPDATE runs SET probes = ? WHERE id = ?", (probes_json(self.run.probe_set), run_id))

    def _counters(self, p: Progress) -> Callable[[sqlite3.Connection], None]:
        climb = self.run.trajectory
        values = (p.generated, p.candidates, p.verified, p.passing, p.requests, p.tokens, p.cost,
                  "passed" if p.passing else None, trajectory_json(climb) if climb else None, self.run_id)

        def op(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE runs SET generated = ?, candidates = ?, verified = ?, passing = ?, requests = ?, "
                         "tokens = ?, cost = ?, best_status = coalesce(?, best_status), "
                         "trajectory = coalesce(?, trajectory) WHERE id = ?", values)

        return op

    def _end(self, p: Progress) -> Callable[[sqlite3.Connection], None]:
        run, run_id, scrub = self.run, self.run_id, self.scrub
        counters = self._counters(p)
        state = p.state
        error = scrub(str(run.error)) if run.error is not None else None

        def op(conn: sqlite3.Connection) -> None:
            counters(conn)
            found = run.clusters()  # here, not on the engine thread: clustering takes time
            top = run.ranked()
            best = top[0].status if top else None
            notices = [scrub(n) for n in run.notices]
            if self.store.failed:
                notices.append(self.store.failed)
            conn.execute("UPDATE runs SET status = ?, ended = ?, notices = ?, error = ?, best_status = ?, "
                         "probes = ? WHERE id = ?", (state, time.time(), json.dumps(notices, ensure_ascii=False),
                                                     error, best, probes_json(run.probe_set), run_id))
            conn.execute("DELETE FROM clusters WHERE run_id = ?", (run_id,))
            conn.executemany("INSERT INTO clusters VALUES (?, ?, ?, ?, ?, ?, ?)", [
                (run_id, cl.id, json.dumps(list(cl.members)), cl.weight, cl.representative, cl.score,
                 json.dumps([[b.kind, b.detail, b.shown] for b in cl.behaviours], ensure_ascii=False))
                for cl in found])

        return op

    def exchange(self, round_: int | None, kind: str, prompt: str | None, reply: str | None) -> None:
        """Record a prompt and/or a reply (``history_prompts`` on)."""
        self._exchanges += 1
        row = (self.run_id, self._exchanges, round_, kind, self.scrub(prompt), self.scrub(reply))
        self.store.put(lambda conn: conn.execute("INSERT OR REPLACE INTO exchanges VALUES (?, ?, ?, ?, ?, ?)", row))


class RecordingSource:
    """A :class:`CandidateSource` whose prompts and replies are recorded as they pass."""

    def __init__(self, inner: CandidateSource, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def check(self) -> None:
        self.inner.check()

    async def samples(self, request: RoundRequest) -> AsyncIterator[Sample]:
        prompts = getattr(self.inner, "prompts", None)
        if callable(prompts):
            for p in prompts(request):
                text = "\n\n".join(f"[{role}]\n{content}" for role, content in p.messages)
                self.recorder.exchange(request.round, "prompt", text, None)
        async for sample in self.inner.samples(request):
            if not sample.code:  # a synthesizer's program is the candidate's code already
                self.recorder.exchange(sample.round, "reply", None, sample.text)
            yield sample

    async def ask(self, prompt: str, samples: int = 1) -> list[str]:
        replies = await self.inner.ask(prompt, samples)
        self.recorder.exchange(None, "ask", prompt, json.dumps(replies, ensure_ascii=False))
        return replies

    def counters(self) -> SourceCounters:
        return self.inner.counters()

    def notices(self) -> list[str]:
        return self.inner.notices()

    def more_rounds(self) -> bool:
        return self.inner.more_rounds()
