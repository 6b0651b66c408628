"""A past run from the history as a finished :class:`SearchRun`: same table, ranking, view.

``%search_open ID`` and ``jupyter-codesearch show ID`` show it as they show a live run (Insert
below works: the candidates are there). Nothing runs: its source has nothing to give and its
verifier refuses; ``%%search --resume ID`` continues it instead.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._config import SearchConfig
from .._exceptions import CodeSearchError, ConfigError
from .._model import Behaviour, Limits, Verdict
from .._seams import ProbeSet, RoundRequest, Sample, SourceCounters
from ..spec import Spec
from ._run import SearchRun

if TYPE_CHECKING:
    from ..store._read import PastRun

__all__ = ["continued", "restored"]

_UNFINISHED = "this run did not finish (stopped while it ran, or its kernel died): %%search --resume {id} continues it"


class _Spent:
    """The source of a past run: what it spent, and no more samples."""

    def __init__(self, counters: SourceCounters) -> None:
        self._counters = counters

    def check(self) -> None:
        pass

    async def samples(self, request: RoundRequest) -> AsyncIterator[Sample]:
        return
        yield  # an async generator that yields nothing

    async def ask(self, prompt: str, samples: int = 1) -> list[str]:
        return []

    def counters(self) -> SourceCounters:
        return self._counters

    def notices(self) -> list[str]:
        return []

    def more_rounds(self) -> bool:
        return False


class _Judged:
    """The verifier of a past run: everything it judged is in the history already."""

    async def start(self) -> None:
        raise CodeSearchError("a past run is not verified again: %%search --resume ID continues it")

    async def verify(self, spec: Spec, index: int, source: str, limits: Limits) -> Verdict:
        raise CodeSearchError("a past run is not verified again")

    async def probe(self, spec: Spec, index: int, source: str, probes: ProbeSet,
                    limits: Limits, urgent: bool = False) -> Sequence[Behaviour]:
        raise CodeSearchError("a past run is not probed again")

    def notices(self) -> list[str]:
        return []


def config_of(past: PastRun) -> SearchConfig:
    """The settings the run had (those this version knows); defaults if they no longer hold."""
    from ..store import past_settings

    try:
        return SearchConfig(**past_settings(past))
    except (ConfigError, TypeError):
        return SearchConfig()


def restored(past: PastRun) -> SearchRun:
    """``past`` as a finished run (state ``done``, ``stopped`` or ``failed``)."""
    s: dict[str, Any] = past.summary
    try:
        spec = Spec.parse(past.spec_text)
    except CodeSearchError as e:  # a spec this version parses differently: say which run
        raise CodeSearchError(f"run {past.id}: its spec no longer parses ({e})") from e
    spent = SourceCounters(requests=s["requests"] or 0, tokens=s["tokens"] or 0, cost=s["cost"] or 0.0,
                           cost_unknown=s["cost"] is None)
    run = SearchRun(spec, config_of(past), source=_Spent(spent), verifier=_Judged())
    run._table.seed(past.candidates, s["generated"])
    run.optimising.restore(past.candidates, past.trajectory)
    run._prober.probes = past.probes
    notices = list(past.notices)
    state = s["status"]
    if state not in ("done", "stopped", "failed"):
        state = "stopped"
        notices.append(_UNFINISHED.format(id=past.id))
    run._notices = notices
    if past.error:
        run.error = CodeSearchError(past.error)
    run._round = max((c.round for c in past.candidates), default=1)
    ended = s["ended"] if s["ended"] is not None else s["started"]  # a killed run: how long is unknown
    run._started = time.monotonic() - (ended - s["started"])
    run._ended = time.monotonic()
    run._state = state
    run.history_id = past.id
    run._done.set()
    return run


def continued(run: SearchRun, past: PastRun) -> None:
    """``run`` starts where ``past``, a stopped run, ended (``--resume``): its candidates,
    verdicts, scores and probe inputs are kept (verdicts and scores only for the same tests and
    score: nothing is scored twice), its spending counts, and only the samples it did not draw
    are asked for."""
    same = past.spec_key == run.spec.key
    run._past_probes = past.probes if same else ProbeSet()
    keep_behaviours = same and len(past.probes) > 0
    cands = [c if same else replace(c, verdict=None) for c in past.candidates]
    cands = [c if keep_behaviours else replace(c, behaviours=None) for c in cands]
    by_round = past.generated_by_round
    last = max(by_round, default=1)
    drawn = by_round.get(last, 0)
    n, rounds = run.config.n, run.config.rounds
    run._resume = (last + 1, 0) if drawn >= n and last < rounds else (last, min(drawn, n))
    run._asked = n * (run._resume[0] - 1)
    run._table.seed(cands, sum(by_round.values()))
    if same:
        run.optimising.restore(cands, past.trajectory)
        run._scoring.known(cands)
    s = past.summary
    run._past_spent = SourceCounters(requests=s["requests"] or 0, tokens=s["tokens"] or 0, cost=s["cost"] or 0.0)
