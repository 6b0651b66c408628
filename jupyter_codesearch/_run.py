"""A search run: generate candidates, verify each as it arrives, rank, and go round again.

All work happens on the engine loop (``_engine``), so a run can be driven from any thread — the
notebook widget reads it from a worker thread, the CLI waits on it. State is only changed on the
engine loop; readers get copies.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from . import _engine
from ._config import SearchConfig, resolve_config
from ._exceptions import CodeSearchError, ConfigError
from ._model import Candidate, Cluster, Disagreement, Limits, Progress, Verdict
from .execute._isolation import detect_isolation, unsandboxed_notice, warn_if_unsandboxed
from .generate._examples import examples_from_spec
from .generate._extract import extract, program_key, program_size
from .generate._llm import Budget, LLMGenerator, Prompt, Reply, first_prompt, repair_prompt
from .rank import clusters, disagreements, probe_inputs, ranked
from .rank._probes import call_arguments, edge_case_prompt, from_model_reply
from .spec import Spec

__all__ = ["Candidate", "Progress", "SearchRun", "search"]


class SearchRun:
    """A running or finished search. Made by :func:`search`; safe to read from any thread."""

    def __init__(self, spec: Spec, config: SearchConfig) -> None:
        self.spec = spec
        self.config = config
        self._lock = threading.Lock()
        self._candidates: list[Candidate] = []
        self._by_key: dict[str, int] = {}
        self._notices: list[str] = []
        self._listeners: list[Callable[[str, Any], None]] = []
        self._state = "starting"
        self._round = 0
        self._generated = 0
        self._explored = 0
        self._requests = 0
        self._budget = Budget(config.max_cost, config.max_tokens)
        self._started = time.monotonic()
        self._ended: float | None = None
        self._done = threading.Event()
        self._stop_reason: str | None = None
        self._ending = False  # past the point where a stop could interrupt the run
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Future[Any]] = set()
        self._llm: LLMGenerator | None = None
        self._held: list[Candidate] = []
        self._probe_trees: tuple[Any, ...] = ()
        self._version = 0
        self._cluster_cache: tuple[int, list[Cluster]] | None = None
        self._pool_task: asyncio.Future[Any] | None = None
        self._probes_ready: asyncio.Future[tuple[Any, ...]] | None = None
        self.error: CodeSearchError | None = None
        """Why the run failed (``state == "failed"``), as one readable message."""

    # -- reading ----------------------------------------------------------------------------

    @property
    def candidates(self) -> list[Candidate]:
        """Every candidate so far, in arrival order."""
        with self._lock:
            return list(self._candidates)

    def ranked(self) -> list[Candidate]:
        """Candidates best first: passing ones by behaviour cluster (most votes first), then
        runtime, then size; then the rest by tests passed. ``cluster`` fields are filled in."""
        candidates, found = self._clustered()
        return ranked(candidates, found)

    def clusters(self) -> list[Cluster]:
        """Behaviour clusters of the passing candidates probed so far, heaviest first."""
        return self._clustered()[1]

    def _clustered(self) -> tuple[list[Candidate], list[Cluster]]:
        # One clustering per state of the run: a display that asks for the ranking and then the
        # disagreements gets both from the same clusters (and pays for clustering once).
        with self._lock:
            version, candidates = self._version, list(self._candidates)
            cached = self._cluster_cache
        if cached is not None and cached[0] == version:
            return candidates, cached[1]
        found = clusters(candidates) if self.config.cluster else []
        with self._lock:
            self._cluster_cache = (version, found)
        return candidates, found

    @property
    def probes(self) -> tuple[tuple[Any, ...], ...]:
        """The probe inputs (argument tuples) candidates are clustered on."""
        from .execute._codec import from_tree

        return tuple(tuple(from_tree(p)) for p in self._probe_trees)  # type: ignore[arg-type]

    def disagreements(self, top: int = 3, limit: int = 10) -> list[Disagreement]:
        """Probe inputs on which the top clusters differ: asserts the spec may be missing."""
        return disagreements(self.clusters(), self.probes, self.spec.name, top, limit)

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
        with self._lock:
            cands = self._candidates
            end = self._ended if self._ended is not None else time.monotonic()
            return Progress(
                state=self._state, round=self._round, generated=self._generated,
                candidates=len(cands), verified=sum(c.verified for c in cands),
                passing=sum(c.passed for c in cands), tokens=self._budget.tokens,
                cost=None if self._budget.cost_unknown and not self._budget.cost else self._budget.cost,
                requests=self._requests, elapsed=end - self._started, explored=self._explored,
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

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per candidate, best first; every ranking key a column."""
        import pandas as pd  # type: ignore[import-untyped]

        rows = []
        for rank, c in enumerate(self.ranked(), 1):
            rows.append({
                "rank": rank, "id": c.id, "status": c.status, "passed": c.passed,
                "tests_passed": c.tests_passed, "tests_total": c.tests_total,
                "cluster": c.cluster, "cluster_size": c.cluster_size,
                "runtime_s": c.runtime_s, "size": c.size, "round": c.round, "origin": c.origin,
                "model": c.model, "samples": c.samples, "tokens": c.tokens, "cost": c.cost,
                "parent": c.parent, "rank_reason": c.rank_reason, "error": c.error, "code": c.code,
            })
        columns = ["rank", "id", "status", "passed", "tests_passed", "tests_total", "cluster", "cluster_size",
                   "runtime_s", "size", "round", "origin", "model", "samples", "tokens", "cost", "parent",
                   "rank_reason", "error", "code"]
        return pd.DataFrame(rows, columns=columns).set_index("rank")

    def __repr__(self) -> str:
        p = self.progress
        best = self.best
        head = f"<SearchRun {self.spec.name}: {p.state}, {p.candidates} candidates, {p.passing} passing"
        return head + (f", best #{best.id}>" if best else ">")

    # -- running (engine loop only) --------------------------------------------------------------

    def _emit(self, event: str, payload: Any) -> None:
        for listener in list(self._listeners):
            try:
                listener(event, payload)
            except Exception:  # a broken display must not break the search
                pass

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
            with self._lock:
                self._state = "running"
            iso = detect_isolation(cfg.sandbox)
            unsandboxed = unsandboxed_notice(iso)
            if unsandboxed is not None:
                self._notice(unsandboxed)
            if cfg.api_base and not cfg.model:
                self._notice(f"api_base {cfg.api_base} is not used without a model: set one (--model, "
                             "e.g. openai/my-model) to generate candidates with that server")
            if cfg.effective_generator == "synth":
                examples, why_not = examples_from_spec(self.spec)
                if not examples:  # fail before starting kernels that would have nothing to do
                    self._synth_cannot(why_not or "no examples", required=True)
            self._pool_task = asyncio.ensure_future(_engine.shared_pool(iso, cfg.workers or _cores()))
            if cfg.cluster:
                self._probes_ready = asyncio.ensure_future(self._make_probes())
                # Retrieved here too: when the run fails first, nobody awaits it.
                self._probes_ready.add_done_callback(lambda t: t.cancelled() or t.exception())
            for round_ in range(1, cfg.rounds + 1):
                self._round = round_
                more = await self._one_round(round_)
                await self._settle()
                if not more or (cfg.until_pass and any(c.passed for c in self.candidates)):
                    break
            state = "done"
        except asyncio.CancelledError:
            state = "stopped"
        except CodeSearchError as e:
            self.error = e
            state = "failed"
        except Exception as e:  # a bug of ours: still end cleanly and say what happened
            self.error = CodeSearchError(f"internal error: {type(e).__name__}: {e}")
            state = "failed"
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

    async def _end_side_tasks(self) -> None:
        """A failed or stopped run may still be probing, or asking the model for edge cases:
        that ends with the run (left alone, it outlives it and fails noisily once the engine
        stops)."""
        side = [*self._pending, *([self._probes_ready] if self._probes_ready is not None else [])]
        for fut in side:
            fut.cancel()
        if side:
            done, _ = await asyncio.wait(side, timeout=5)  # a hard bound, unlike wait_for
            for fut in done:  # retrieved, so nothing is reported as never retrieved
                if not fut.cancelled():
                    fut.exception()

    def _finish(self, state: str) -> None:
        for fut in list(self._pending):
            fut.cancel()
        pool = self._pool_task
        if pool is not None and pool.done() and not pool.cancelled():
            pool.exception()  # a start-up failure nobody awaited is still reported, via self.error
        if self._stop_reason and state == "stopped":
            self._notice(self._stop_reason)
        if self._llm is not None:
            for note in self._llm.notices:
                self._notice(note)
            if self._llm.failed:
                failed = self._llm.failed
                self._notice(f"{failed} model request{'s' if failed != 1 else ''} failed after retries")
        with self._lock:
            self._state = state
            self._ended = time.monotonic()
        progress = self.progress
        self._emit("done", progress)
        self._done.set()

    async def _settle(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        if self._probes_ready is not None and not self._probes_ready.done():
            await asyncio.gather(self._probes_ready, return_exceptions=True)

    async def _one_round(self, round_: int) -> bool:
        """Generate and verify one round; False when another round would bring nothing new."""
        cfg = self.config
        which = cfg.effective_generator
        jobs = []
        if which in ("llm", "both"):
            prompts = self._prompts(round_)
            if prompts:
                jobs.append(self._run_llm(prompts))
        if which in ("synth", "both") and round_ == 1:
            jobs.append(self._run_synth(required=which == "synth"))
        if not jobs:
            return False
        await _all_or_none(jobs)
        held, self._held = self._held, []
        for cand in held:  # overlap off: verification starts only now
            await self._verify(cand)
        return which != "synth"

    def _prompts(self, round_: int) -> list[Prompt]:
        n = self.config.n
        if round_ == 1:
            return [first_prompt(self.spec, n)]
        failing = [c for c in self.ranked() if c.verdict is not None and not c.passed and c.invalid_reason is None]
        shown = []
        for c in failing:
            failures = _visible_failures(c)
            if failures:
                shown.append((c, failures))
            if len(shown) == 3:
                break
        if not shown:  # nothing a model could learn from: fresh samples instead
            p = first_prompt(self.spec, n)
            return [replace(p, round=round_, messages=(*p.messages, ("user", f"(attempt {round_})")))]
        share = [n // len(shown) + (i < n % len(shown)) for i in range(len(shown))]
        return [
            repair_prompt(self.spec, c.code, failures, k, round_, c.id)
            for (c, failures), k in zip(shown, share, strict=True) if k
        ]

    async def _run_llm(self, prompts: list[Prompt]) -> None:
        if self._llm is None:
            self._llm = LLMGenerator(self.config, self._budget, on_request=self._count_request)
        async for reply in self._llm.stream(prompts):
            await self._add_reply(reply)

    def _count_request(self) -> None:
        with self._lock:
            self._requests += 1

    async def _add_reply(self, reply: Reply) -> None:
        got = extract(reply.text, self.spec.name)
        code = got.code if got.code is not None else reply.text
        await self._add(
            code, origin="llm", model=self.config.model, round_=reply.prompt.round,
            parent=reply.prompt.parent, tokens=reply.tokens, cost=0.0 if reply.cached else reply.cost,
            invalid=got.reason,
        )

    async def _add(self, code: str, *, origin: str, model: str | None, round_: int, parent: int | None,
                   tokens: int = 0, cost: float | None = 0.0, invalid: str | None = None) -> None:
        key = program_key(code) if invalid is None else "invalid:" + program_key(code)
        with self._lock:
            self._generated += 1
            existing = self._by_key.get(key)
            if existing is not None:
                old = self._candidates[existing]
                merged_cost = None if old.cost is None or cost is None else old.cost + cost
                cand = replace(old, samples=old.samples + 1, synth_samples=old.synth_samples + (origin == "synth"),
                               tokens=old.tokens + tokens, cost=merged_cost)
                self._candidates[existing] = cand
                self._version += 1
            else:
                cand = Candidate(
                    id=len(self._candidates), code=code, origin=origin, model=model, round=round_,
                    parent=parent, tokens=tokens, cost=cost, size=program_size(code) if invalid is None else 0,
                    invalid_reason=invalid, key=key, synth_samples=int(origin == "synth"),
                )
                self._by_key[key] = cand.id
                self._candidates.append(cand)
                self._version += 1
        self._emit("candidate", cand)
        self._emit("progress", self.progress)
        if existing is None and invalid is None:
            if self.config.overlap:
                await self._verify(cand)
            else:
                self._held.append(cand)

    async def _verify(self, cand: Candidate) -> None:
        assert self._pool_task is not None
        pool = await self._pool_task
        fut = pool.submit(self.spec, cand.id, cand.code, Limits(self.config.timeout, self.config.memory_mb))
        self._pending.add(fut)
        fut.add_done_callback(self._on_verdict)

    def _on_verdict(self, fut: asyncio.Future[Verdict]) -> None:
        self._pending.discard(fut)
        if fut.cancelled() or fut.exception() is not None:
            return
        verdict = fut.result()
        with self._lock:
            cand = replace(self._candidates[verdict.index], verdict=verdict)
            self._candidates[verdict.index] = cand
            self._version += 1
        self._emit("candidate", cand)
        self._emit("progress", self.progress)
        if cand.passed and self._probes_ready is not None:
            task = asyncio.ensure_future(self._probe(cand))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _make_probes(self) -> tuple[Any, ...]:
        """Probe inputs from the tests (mutations, type hints) and, with a model, its edge cases."""
        extra: list[tuple[Any, ...]] = []
        if self.config.effective_generator in ("llm", "both"):
            try:
                reply = await self._ask_edge_cases()
                if reply:
                    extra = from_model_reply(reply, call_arguments(self.spec))
            except CodeSearchError:
                pass  # generation reports provider problems; probes just go without
        self._probe_trees = await asyncio.to_thread(probe_inputs, self.spec, extra)
        return self._probe_trees

    async def _ask_edge_cases(self) -> str | None:
        if self._llm is None:
            self._llm = LLMGenerator(self.config, self._budget, on_request=self._count_request)
        prompt = Prompt((("user", edge_case_prompt(self.spec)),), 1)
        replies = [r async for r in self._llm.stream([prompt])]
        return replies[0].text if replies else None

    async def _probe(self, cand: Candidate) -> None:
        assert self._probes_ready is not None
        probes = await self._probes_ready
        if not probes:
            return
        assert self._pool_task is not None
        pool = await self._pool_task
        result = await pool.submit_probes(
            self.spec, cand.id, cand.code, probes, Limits(self.config.timeout, self.config.memory_mb)
        )
        with self._lock:
            cand = replace(self._candidates[cand.id], behaviours=tuple(result))
            self._candidates[cand.id] = cand
            self._version += 1
        self._emit("candidate", cand)

    async def _run_synth(self, required: bool) -> None:
        examples, why_not = examples_from_spec(self.spec)
        if not examples:
            return self._synth_cannot(why_not or "no examples", required)
        from .execute._codec import Unserializable, to_tree

        try:
            request = {
                "examples": [[to_tree(list(a)), to_tree(e)] for a, e in examples],
                "params": list(self.spec.stub.params), "name": self.spec.name,
                "time_limit": self.config.time_limit or 20.0, "max_programs": min(self.config.n, 8),
            }
        except Unserializable:
            return self._synth_cannot("the examples are not plain data", required)
        # A plain Popen, waited for by us: asyncio's child watcher (a thread per child in 3.11)
        # races other reapers in a Jupyter kernel and prints "Unknown child process pid ...".
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_codesearch.generate._synth_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout
        found = 0
        enough_at = math.inf
        try:
            def send() -> None:
                with stdin:
                    stdin.write((json.dumps(request) + "\n").encode())

            await asyncio.to_thread(send)
            while True:
                # Programs come smallest first, each a new behaviour or spelling; once some are
                # found, stop when nothing new has come for a while rather than at the time limit.
                wait = enough_at - time.monotonic()
                if wait <= 0:
                    break
                try:
                    line = await asyncio.wait_for(asyncio.to_thread(stdout.readline),
                                                  None if wait == math.inf else wait)
                except asyncio.TimeoutError:  # not yet the builtin TimeoutError in Python 3.10
                    break
                if not line:
                    break
                msg = json.loads(line)
                if "program" in msg:
                    found += 1
                    enough_at = time.monotonic() + _SYNTH_QUIET_S
                    await self._add(msg["program"], origin="synth", model=None, round_=1, parent=None)
                elif "progress" in msg:
                    self._explored = int(msg["progress"].get("explored", 0))
                    self._emit("progress", self.progress)
                elif "unsupported" in msg:
                    return self._synth_cannot(str(msg["unsupported"]), required)
        finally:
            proc.kill()  # a no-op once it has exited and been waited for
            await asyncio.to_thread(proc.wait)  # also ends a readline still blocked on its output
            stdout.close()
        if not found:
            self._notice("the offline synthesizer found no program within its time limit")

    def _synth_cannot(self, why: str, required: bool) -> None:
        if required:
            raise ConfigError(
                f"no model is configured and the offline synthesizer cannot use these tests: {why}. "
                "Set a model with --model (e.g. openai/gpt-4o-mini) or CODESEARCH_MODEL, with its API "
                "key in the provider's variable (OPENAI_API_KEY, ...)."
            )
        self._notice(f"offline synthesizer skipped: {why}")


async def _all_or_none(jobs: list[Coroutine[Any, Any, None]]) -> None:
    """Run jobs together; when one fails, cancel the others (the synthesizer must not go on
    adding candidates to a run that has failed) and raise its error."""
    tasks = [asyncio.ensure_future(j) for j in jobs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


_SYNTH_QUIET_S = 8.0
"""Stop the synthesizer after this long without a new program (once it has found one)."""


def _visible_failures(c: Candidate) -> list[str]:
    """What went wrong on tests a model may see (never a hidden test's values)."""
    out = []
    assert c.verdict is not None
    for t in c.verdict.tests:
        if t.passed or t.hidden:
            continue
        if t.got is not None and t.expected is not None:
            out.append(f"`{t.source}`: got {t.got}, expected {t.expected}")
        elif t.error:
            out.append(f"`{t.source}`: {t.error}")
        else:
            last = t.calls[-1] if t.calls else None
            extra = f" ({last['call']} returned {last.get('got', '?')})" if last else ""
            out.append(f"`{t.source}` failed{extra}")
        if len(out) == 5:
            break
    return out


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def search(spec: Spec | str, config: SearchConfig | None = None, *, wait: bool = True, **options: Any) -> SearchRun:
    """Search for implementations of ``spec``'s function.

    ``config`` (or keyword ``options`` naming :class:`SearchConfig` fields, which take
    precedence) says how; unset fields come from ``CODESEARCH_*`` environment variables, then
    defaults. With ``wait=False`` the run continues in the background and is returned at once.
    """
    spec = Spec.parse(spec) if isinstance(spec, str) else spec
    if config is None:
        config, _ = resolve_config(options)
    elif options:
        config = config.with_(**options)
    try:  # said here, in the caller's thread, where a warning is seen; the run notes it too
        warn_if_unsandboxed(detect_isolation(config.sandbox))
    except CodeSearchError:
        pass  # the run reports it as its error
    run = SearchRun(spec, config)

    async def start() -> None:
        run._task = asyncio.current_task()
        await run._main()

    _engine.submit(start())
    if wait:
        try:
            run.wait()
        except KeyboardInterrupt:
            run.stop()
            run.wait(10)
            raise
    return run
