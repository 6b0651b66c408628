"""Probing: run passing candidates on extra inputs, so that ranking can cluster them by behaviour.

The probe inputs are made once per run, while the first candidates are generated
(``rank._probes``): the docstring's examples, draws like the tests' arguments, mutations, type
hints, and, when the source has a model, the test cases and edge cases it proposes from the
visible spec (never the hidden tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from .._exceptions import CodeSearchError
from .._model import Behaviour, Candidate, Limits
from .._seams import CandidateSource, ProbeSet, Verifier
from ..rank import probe_inputs
from ..rank._model_tests import parse_model_tests, test_case_prompt
from ..rank._probes import call_arguments, edge_case_prompt, from_model_reply
from ..spec import CallExample, Spec

__all__ = ["FAST_S", "FURTHER", "LOOK_S", "MIN_LOOK", "Prober", "cancel_all", "seen_before"]

FAST_S = 2e-3
"""Per test: a candidate at most this slow runs every probe (they cost it milliseconds)."""
LOOK_S = 0.2
"""Seconds of calls a slower candidate's first look at the probes may take."""
MIN_LOOK = 3
"""Probes a first look runs however slow the candidate (fewer tell too little)."""
FURTHER = 4
"""How many times more probes a behaviour not seen yet runs: it may lead a cluster."""


class Prober:
    """Makes a run's probe inputs (in the background, from :meth:`start`) and probes candidates."""

    def __init__(self, spec: Spec, source: CandidateSource, verifier: Verifier, limits: Limits,
                 test_requests: int = 0) -> None:
        self.spec = spec
        self.source = source
        self.verifier = verifier
        self.limits = limits
        self.test_requests = test_requests
        self.probes = ProbeSet()
        self.model_tests: list[CallExample] = []
        self.ready: asyncio.Future[ProbeSet] | None = None
        self._prefixes: dict[int, ProbeSet] = {}

    def start(self) -> None:
        """Begin making the probe inputs (engine loop only)."""
        self.ready = asyncio.ensure_future(self._make())
        # Retrieved here too: when the run fails first, nobody awaits it.
        self.ready.add_done_callback(lambda t: t.cancelled() or t.exception())

    def reuse(self, probes: ProbeSet) -> None:
        """Take a stopped run's probe inputs (``--resume``, engine loop only): the behaviours
        found on them stay comparable, and no side request is made again."""
        self.probes = probes
        self.ready = asyncio.get_running_loop().create_future()
        self.ready.set_result(probes)

    async def _make(self) -> ProbeSet:
        edge, tests = await asyncio.gather(self._edge_cases(), self._model_tests())
        self.model_tests = tests
        self.probes = await asyncio.to_thread(probe_inputs, self.spec, tests, edge)
        return self.probes

    async def _edge_cases(self) -> list[tuple[Any, ...]]:
        try:
            replies = await self.source.ask(edge_case_prompt(self.spec))
        except CodeSearchError:
            return []  # generation reports provider problems; probes just go without
        return from_model_reply(replies[0], call_arguments(self.spec)) if replies else []

    async def _model_tests(self) -> list[CallExample]:
        if not self.test_requests:
            return []
        try:
            replies = await self.source.ask(test_case_prompt(self.spec), self.test_requests)
        except CodeSearchError:
            return []
        return parse_model_tests(replies, self.spec)

    @property
    def inputs(self) -> tuple[tuple[Any, ...], ...]:
        """The probe inputs as argument tuples (decoded from their trees)."""
        from ..execute._codec import from_tree

        return tuple(tuple(from_tree(t)) for t in self.probes.trees)  # type: ignore[arg-type]

    async def probe(self, cand: Candidate, known: Callable[[Sequence[Behaviour]], bool],
                    urgent: bool = False) -> Sequence[Behaviour] | None:
        """The candidate's behaviour on the probes (``None`` when there are none).

        A fast candidate runs them all. A slow one (more than :data:`FAST_S` per test) first runs
        as many of the first, in-domain probes as :data:`LOOK_S` seconds of its calls allow; when
        that shows a behaviour some candidate already has (``known``), its cluster is settled and
        probing stops there; a behaviour not seen yet may lead a cluster, so it runs
        :data:`FURTHER` times as many. So probing slow programs costs seconds, not minutes.
        ``urgent``: the verifier runs it before waiting verifications (see ``_lane``).
        """
        assert self.ready is not None
        probes = await self.ready
        if not probes:
            return None
        first = self._first_look(cand.runtime_s, len(probes))
        found = await self.verifier.probe(self.spec, cand.id, cand.code, self._prefix(first), self.limits, urgent)
        if first == len(probes) or known(found):
            return found
        further = min(len(probes), first * FURTHER)
        return await self.verifier.probe(self.spec, cand.id, cand.code, self._prefix(further), self.limits, urgent)

    @staticmethod
    def _first_look(runtime_s: float | None, count: int) -> int:
        if runtime_s is None or runtime_s <= FAST_S:
            return count
        return min(count, max(MIN_LOOK, int(LOOK_S / runtime_s)))

    def _prefix(self, count: int) -> ProbeSet:
        # One object per length: probe jobs that share it share batches in the pool.
        probes = self.probes
        if count >= len(probes):
            return probes
        cached = self._prefixes.get(count)
        if cached is None:
            cached = self._prefixes[count] = ProbeSet(
                probes.trees[:count], probes.origins[:count], probes.expected[:count])
        return cached

    async def settle(self) -> None:
        """Wait until the probe inputs exist (or could not be made)."""
        if self.ready is not None and not self.ready.done():
            await asyncio.gather(self.ready, return_exceptions=True)


def seen_before(candidates: Sequence[Candidate], found: Sequence[Behaviour]) -> bool:
    """Some candidate probed as far or further behaves like ``found`` on those probes (failures
    of any kind count as alike)."""
    def alike(a: Behaviour, b: Behaviour) -> bool:
        return a == b or (a.failed and b.failed)

    for c in candidates:
        seen = c.behaviours
        if seen is not None and len(seen) >= len(found) and all(map(alike, seen, found)):
            return True
    return False


async def cancel_all(futures: Sequence[asyncio.Future[Any]], bound_s: float) -> None:
    """Cancel ``futures`` and wait for them to end, at most ``bound_s`` seconds (a hard bound,
    unlike ``wait_for``); their exceptions are retrieved, so none is reported as never retrieved."""
    for fut in futures:
        fut.cancel()
    if futures:
        done, _ = await asyncio.wait(futures, timeout=bound_s)
        for fut in done:
            if not fut.cancelled():
                fut.exception()
