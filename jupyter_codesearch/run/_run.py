"""A search run: its state, its events, stopping and finishing.

All work happens on the engine loop (``_engine``), so a run can be driven from any thread — the
notebook widget reads it from a worker thread, the CLI waits on it. State is only changed on the
engine loop; readers get copies. The run talks to the world through two seams (``_seams``): a
:class:`CandidateSource` for programs and a :class:`Verifier` for verdicts; what a round asks
for is ``_rounds``', what probing does ``_probing``'s, which candidates it reaches ``_lane``'s.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .. import _engine
from .._config import SearchConfig
from .._exceptions import CodeSearchError
from .._model import Behaviour, Candidate, Cluster, Disagreement, Limits, Progress, Verdict
from .._seams import CandidateSource, ProbeSet, Sample, SourceCounters, Verifier
from ..rank import clusters, disagreements, ranked
from ..rank._confidence import CONFIDENCE, MIN_JUDGED, leader_holds
from ..rank._policy import Goal
from ..spec import Spec
from ._candidates import CandidateTable
from ._database import scored_spec
from ._frame import frame
from ._lane import ProbeLane
from ._optimising import Optimising
from ._probing import Prober, cancel_all, seen_before
from ._rounds import run_rounds
from ._sharing import Scoring

if TYPE_CHECKING:
    from ..store._read import PastRun

__all__ = ["SearchRun"]

log = logging.getLogger(__name__)

_SIDE_TASKS_BOUND_S = 5.0
"""How long a failed or stopped run waits for its side tasks to end (a hard bound)."""


class SearchRun:
    """A running or finished search. Made by :func:`search`; safe to read from any thread."""

    def __init__(self, spec: Spec, config: SearchConfig, *, source: CandidateSource, verifier: Verifier,
                 past: PastRun | None = None) -> None:
        spec = scored_spec(spec, config)
        self.spec = spec
        self.config = config
        self.source = source
        self.verifier = verifier
        self.limits = Limits(config.timeout, config.memory_mb)
        self._lock = threading.Lock()
        self._table = CandidateTable(spec.name)
        self._notices: list[str] = []
        self._listeners: list[Callable[[str, Any], None]] = []
        self._state = "starting"
        self._round = 0
        self._started = time.monotonic()
        self._ended: float | None = None
        self._done = threading.Event()
        self._stop_reason: str | None = None
        self._ending = False  # past the point where a stop could interrupt the run
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Future[Any]] = set()
        self._held: list[Candidate] = []
        self._cluster_cache: tuple[int, list[Cluster]] | None = None
        self._enough = asyncio.Event()
        self._early: tuple[int, int] | None = None
        self._asked = 0  # samples asked for so far, over all rounds
        self._prober = Prober(spec, source, verifier, self.limits, config.test_requests)
        self._start_error: CodeSearchError | None = None
        self.optimising = Optimising(spec, config, verifier, self.limits)
        """Scores, the program database, the climb, the ``--reference`` (see ``_optimising``)."""
        self._evolution, self.reference = self.optimising.evolution, self.optimising.reference
        self._scoring = Scoring(spec, verifier, self.limits, self._table, track=self._track, scored=self._scored,
                                share=config.share_scores and (config.cluster or self.reference is not None))
        """Scores after probing, shared by behaviour-equal programs (see ``_sharing``)."""
        self._seen: Callable[[Sequence[Behaviour]], bool] = lambda found: (
            seen_before(self.candidates, found) or self._lane.first_behaviour(self.candidates))
        self._lane = ProbeLane(spec.score is None and self.reference is None, self._probe,
                               self._table.__getitem__, self.clusters)
        self.error: CodeSearchError | None = None
        """Why the run failed (``state == "failed"``), as one readable message."""
        self.history_id: str | None = None
        """Its id in the search history (``%search_open ID``); ``None`` when not recorded."""
        self.history_flush: Callable[[float | None], bool] | None = None
        self._resume: tuple[int, int] = (1, 0)
        self._past_spent = SourceCounters()
        self._past_probes = ProbeSet()
        if past is not None:
            from ._past import continued  # (it imports this module)

            continued(self, past)

    # -- reading ----------------------------------------------------------------------------

    @property
    def candidates(self) -> list[Candidate]:
        """Every candidate so far, in arrival order."""
        return self._table.snapshot()[1]

    def ranked(self) -> list[Candidate]:
        """Candidates best first (see ``rank._policy``); ``cluster`` and ``rank_reason`` filled in."""
        candidates, found = self._clustered()
        return ranked(candidates, found, self.goal)

    @property
    def goal(self) -> Goal | None:
        """Which way scores go, when the cell has a ``@score`` function (see ``rank._policy``)."""
        return self.optimising.goal

    def clusters(self) -> list[Cluster]:
        """Behaviour clusters of the passing candidates probed so far, best first."""
        return self._clustered()[1]

    def _clustered(self) -> tuple[list[Candidate], list[Cluster]]:
        # One clustering per state of the run: a display that asks for the ranking and then the
        # disagreements gets both from the same clusters (and pays for clustering once).
        version, candidates = self._table.snapshot()
        cached = self._cluster_cache
        if cached is not None and cached[0] == version:
            return candidates, cached[1]
        found = clusters(candidates, self._prober.probes) if self.config.cluster else []
        self._cluster_cache = (version, found)
        return candidates, found

    @property
    def trajectory(self) -> list[tuple[int, float]]:
        """Best score so far against samples drawn: ``(samples, score)`` at each improvement."""
        return self.optimising.trajectory

    def speedup(self, cand: Candidate) -> tuple[float, float, float] | None:
        """``(times faster, low, high)`` than the reference on the benchmark, with the 95% bounds
        the two runtime intervals allow (``--optimize runtime --reference``); else ``None``."""
        return self.optimising.speedup(cand)

    @property
    def probes(self) -> tuple[tuple[Any, ...], ...]:
        """The probe inputs (argument tuples) candidates are clustered on."""
        return self._prober.inputs

    @property
    def probe_set(self) -> ProbeSet:
        """The probe inputs as sent to the verifier, with where each came from and, for those that
        come with an answer (docstring examples, model-written tests), that answer's digest."""
        return self._prober.probes

    def disagreements(self, top: int = 3, limit: int = 10) -> list[Disagreement]:
        """Probe inputs on which the top clusters differ: asserts the spec may be missing."""
        return disagreements(self.clusters(), self.probes, self.spec.name, top, limit, self._prober.probes.origins)

    @property
    def best(self) -> Candidate | None:
        """The top-ranked candidate that passes every test, or ``None``."""
        top = self.ranked()
        return top[0] if top and top[0].passed else None

    @property
    def notices(self) -> list[str]:
        """Things the user should know: budget stop, synthesizer limits, failed requests."""
        with self._lock:
            return list(self._notices)

    @property
    def done(self) -> bool:
        """True once the run has ended (finished, stopped or failed)."""
        return self._done.is_set()

    @property
    def progress(self) -> Progress:
        """Counts so far."""
        _, cands = self._table.snapshot()
        spent, past = self.source.counters(), self._past_spent
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            state, round_ = self._state, self._round
        return Progress(
            state=state, round=round_, generated=self._table.generated, candidates=len(cands),
            verified=sum(c.verified for c in cands), passing=sum(c.passed for c in cands),
            tokens=spent.tokens + past.tokens,
            cost=None if spent.cost_unknown and not spent.cost else spent.cost + past.cost,
            requests=spent.requests + past.requests, elapsed=end - self._started, explored=spent.explored,
        )

    def subscribe(self, listener: Callable[[str, Any], None]) -> Callable[[], None]:
        """Call ``listener(event, payload)`` on each event, from the engine thread.

        Events: ``"candidate"`` (a Candidate, new or updated), ``"notice"`` (str),
        ``"progress"`` (Progress), ``"done"`` (Progress). Returns a function that unsubscribes.
        """
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def wait(self, timeout: float | None = None) -> SearchRun:
        """Block until the run ends (or ``timeout`` seconds pass); returns the run."""
        self._done.wait(timeout)
        return self

    def stop(self) -> None:
        """Stop generating and verifying; what is verified so far stays."""
        if not self.done:
            _engine.submit(self._request_stop("stopped by the user"))

    def recorded(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything a reader could have seen of the run so far is in the history;
        ``False`` on timeout. A display reads the run, calls this, then shows what it read: what
        it shows survives a killed kernel."""
        if self.history_flush is None:
            return True
        if not self.done and not _engine.in_engine_thread():
            # A change and its event happen in one step of the engine loop: once a step of ours
            # has run there, every change a reader saw has been handed to the writer too.
            try:
                _engine.run_sync(asyncio.sleep(0), timeout)
            except (TimeoutError, concurrent.futures.TimeoutError):  # one class from Python 3.11 on
                return False
        return self.history_flush(timeout)

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per candidate, best first; every ranking key a column."""
        return frame(self.ranked())

    def __repr__(self) -> str:
        p = self.progress
        best = self.best
        head = f"<SearchRun {self.spec.name}: {p.state}, {p.candidates} candidates, {p.passing} passing"
        return head + (f", best #{best.id}>" if best else ">")

    # -- running (engine loop only) --------------------------------------------------------------

    def start(self) -> None:
        """Start the run on the engine loop (from any thread but the engine's)."""

        async def main() -> None:
            self._task = asyncio.current_task()
            await self._main()

        _engine.submit(main())

    def _emit(self, event: str, payload: Any) -> None:
        for listener in list(self._listeners):
            try:
                listener(event, payload)
            except Exception:  # a broken display must not break the search
                log.exception("a listener of the run failed")

    def _notice(self, text: str) -> None:
        with self._lock:
            if text in self._notices:
                return
            self._notices.append(text)
        self._emit("notice", text)

    async def _request_stop(self, reason: str) -> None:
        if self._stop_reason is None:
            self._stop_reason = reason
        if self._task is not None and not self._task.done() and not self._ending:
            self._task.cancel()

    async def _main(self) -> None:
        cfg = self.config
        timer = None
        if cfg.time_limit is not None:
            timer = asyncio.get_running_loop().call_later(
                cfg.time_limit,
                lambda: asyncio.ensure_future(self._request_stop(f"time limit of {cfg.time_limit:g} s reached")),
            )
        try:
            state = await self._drive()
        finally:
            if timer is not None:
                timer.cancel()
        # Ending must not be interrupted: a second stop (the time limit, the button, a re-run
        # cell) arriving now would otherwise leave the run unfinished and its waiters waiting.
        self._ending = True
        if state != "done":
            try:
                await self._end_side_tasks()
            except asyncio.CancelledError:
                pass  # stopped again while ending: what is left was cancelled already
        self._finish(state)

    async def _drive(self) -> str:
        """Everything from start to the last verdict; the state the run ends in."""
        with self._lock:
            self._state = "running"
        try:
            for note in self.verifier.notices():
                self._notice(note)
            if self.config.api_base and not self.config.model:
                self._notice(f"api_base {self.config.api_base} is not used without a model: set one (--model, "
                             "e.g. openai/my-model) to generate candidates with that server")
            self.source.check()  # before any kernel starts: they would have nothing to do
            starting = asyncio.ensure_future(self.verifier.start())
            starting.add_done_callback(self._on_started)
            if self.config.cluster or self.reference is not None:
                if len(self._past_probes):
                    self._prober.reuse(self._past_probes)
                else:
                    self._prober.start()
            if self.reference is not None:
                self._track(self.reference.verdict(), self._on_reference)
            self._catch_up()
            await run_rounds(self.config, self.source, on_round=self._set_round, take=self._take,
                             settle=self._settle, ranked=self.ranked, enough=self._enough, resume=self._resume,
                             evolution=self._evolution)
            await starting
            return "done"
        except asyncio.CancelledError:
            if self._start_error is None:
                return "stopped"
            self.error = self._start_error
            return "failed"
        except CodeSearchError as e:
            self.error = e
            return "failed"
        except Exception as e:  # a bug of ours: still end cleanly and say what happened
            log.exception("search run failed")
            self.error = CodeSearchError(f"internal error: {type(e).__name__}: {e}")
            self.error.__cause__ = e
            return "failed"

    def _catch_up(self) -> None:
        """A resumed run verifies what its predecessor had not, and probes what it had not."""
        for c in self._table.snapshot()[1]:
            if not c.verified:
                self._verify(c)
            elif c.passed and c.behaviours is None and self._prober.ready is not None:
                self._track(self._prober.probe(c, self._seen), self._on_probed(c.id))
            elif c.behaviours is not None:
                self._scoring.score(c)  # stopped between probing and scoring

    def _on_started(self, fut: asyncio.Future[None]) -> None:
        """Verification that cannot start ends the run at once (not after generation)."""
        if fut.cancelled():
            return
        if fut.exception() is None:  # what only a started verifier knows (a cluster's workers)
            for note in self.verifier.notices():
                self._notice(note)  # once each: notices already given are not repeated
            return
        error = fut.exception()
        if isinstance(error, CodeSearchError):
            self._start_error = error
        else:
            self._start_error = CodeSearchError(f"verification could not start: {type(error).__name__}: {error}")
            self._start_error.__cause__ = error
        if self._task is not None and not self._task.done() and not self._ending:
            self._task.cancel()

    def _set_round(self, round_: int) -> None:
        with self._lock:
            self._round = round_
        self._asked += self.config.n
        self._lane.settling = False

    def _check_enough(self) -> None:
        """Stop asking for samples once the leading behaviour cannot plausibly be overtaken by
        what the remaining ones could bring (``confident``; see ``rank._confidence``)."""
        if not (self.config.confident and self.config.cluster) or self._enough.is_set():
            return
        if self.spec.score is not None:
            return  # optimising: a clear leader today can be beaten by a better score tomorrow
        version, cands = self._table.snapshot()
        if any(c.passed and c.behaviours is None and c.id not in self._lane.skipped for c in cands):
            return  # a passing program not probed yet could belong anywhere
        judged = sum(c.samples for c in cands if c.verified)
        remaining = self._asked - judged
        if judged < MIN_JUDGED or remaining <= 0:
            return
        found = self.clusters()
        # Unprobed samples (the lane's) neither vote nor count as failures: they are left out.
        counted = judged - sum(c.samples for c in cands if c.id in self._lane.skipped)
        if found and leader_holds(found, counted, remaining, seed=version) >= CONFIDENCE:
            self._enough.set()
            self._early = (judged, self._asked)

    async def _end_side_tasks(self) -> None:
        """A failed or stopped run may still be probing, or asking the model for edge cases:
        that ends with the run (left alone, it outlives it and fails noisily once the engine
        stops)."""
        ready = self._prober.ready
        await cancel_all([*self._pending, *([ready] if ready is not None else [])], _SIDE_TASKS_BOUND_S)

    def _finish(self, state: str) -> None:
        for fut in list(self._pending):
            fut.cancel()
        if self._stop_reason and state == "stopped":
            self._notice(self._stop_reason)
        if self._early is not None and state == "done":
            judged, asked = self._early
            saved = asked - self._table.generated
            self._notice(f"stopped drawing samples after {judged} of {asked}: the leading behaviour cannot "
                         f"plausibly be overtaken by the rest ({saved} samples saved; --all-samples draws "
                         "them all)")
        for note in self.source.notices():
            self._notice(note)
        for note in filter(None, [self.optimising.speedup_notice(self.best), self._lane.notice(self.candidates)]):
            self._notice(note)
        with self._lock:
            self._state = state
            self._ended = time.monotonic()
        self._emit("done", self.progress)
        self._done.set()

    async def _settle(self) -> None:
        """Verify what generation held back (``overlap`` off), then wait for every verdict."""
        held, self._held = self._held, []
        for cand in held:
            self._verify(cand)
        self._lane.settling = True
        self._lane.pump()
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        await self._prober.settle()

    async def _take(self, sample: Sample) -> None:
        cand, new = self._table.add(sample)
        if new and self._evolution is not None:
            self._evolution.database.place(cand.id, sample.island)
        self._emit("candidate", cand)
        self._emit("progress", self.progress)
        if not new and self._lane.more_votes(cand):
            return  # probed after all: its votes could change the top now
        if not new or cand.invalid_reason is not None:
            self._check_enough()  # one more vote for a program judged already
        if new and cand.invalid_reason is None:
            if self.config.overlap:
                self._verify(cand)
            else:
                self._held.append(cand)

    def _track(self, coro: Any, done: Callable[[asyncio.Future[Any]], None]) -> None:
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        task.add_done_callback(done)

    def _verify(self, cand: Candidate) -> None:
        self._lane.verifying += 1
        self._track(self.verifier.verify(self._scoring.gate, cand.id, cand.code, self.limits),
                    self._on_verdict(cand.id))

    def _on_verdict(self, index: int) -> Callable[[asyncio.Future[Any]], None]:
        def done(fut: asyncio.Future[Verdict]) -> None:
            self._lane.verifying -= 1
            if fut.cancelled() or fut.exception() is not None:
                return
            verdict = replace(fut.result(), index=index)
            cand = self._table.update(index, lambda c: replace(c, verdict=verdict))
            self.optimising.scored(cand, self._table.generated)
            self._emit("candidate", cand)
            self._emit("progress", self.progress)
            if cand.passed and self._prober.ready is not None:
                self._lane.passed(cand)
            else:
                self._check_enough()

        return done

    def _probe(self, cand: Candidate, urgent: bool) -> None:
        self._track(self.optimising.probe(self._prober, cand, self._seen, urgent), self._on_probed(cand.id))

    def _on_probed(self, index: int) -> Callable[[asyncio.Future[Any]], None]:
        def done(fut: asyncio.Future[Any]) -> None:
            if not (fut.cancelled() or fut.exception() is not None or fut.result() is None):
                behaviours, differs = tuple(fut.result()[0]), fut.result()[1]
                cand = self._table.update(index, lambda c: self.optimising.probed(c, behaviours, differs))
                self.optimising.scored(cand, self._table.generated)
                self._emit("candidate", cand)
                self._check_enough()
            if not fut.cancelled():  # cancelled: the run is ending, nothing more to start
                self._scoring.score(self._table[index])  # by its behaviours if it has them (``_sharing``)
                self._lane.probed(index)  # after the update: what it decides next depends on it

        return done

    def _scored(self, cand: Candidate) -> None:
        self.optimising.scored(cand, self._table.generated)
        self._emit("candidate", cand)
        self._emit("progress", self.progress)

    def _on_reference(self, f: asyncio.Future[Any]) -> None:
        note = None if f.cancelled() or f.exception() is not None else self.optimising.reference_judged(f.result())
        if note is not None:
            self._notice(note)
