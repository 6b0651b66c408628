"""Probing: run passing candidates on extra inputs, so that ranking can cluster them by behaviour.

The probe inputs are made once per run, while the first candidates are generated
(``rank._probes``): the docstring's examples, draws like the tests' arguments, mutations, type
hints, and, when the source has a model, the test cases and edge cases it proposes from the
visible spec (never the hidden tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from .._exceptions import CodeSearchError
from .._model import Behaviour, Candidate, Limits
from .._seams import CandidateSource, ProbeSet, Verifier
from ..rank import probe_inputs
from ..rank._model_tests import ModelTest, parse_model_tests, test_case_prompt
from ..rank._probes import call_arguments, edge_case_prompt, from_model_reply
from ..spec import Spec

__all__ = ["Prober"]


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
        self.model_tests: list[ModelTest] = []
        self.ready: asyncio.Future[ProbeSet] | None = None

    def start(self) -> None:
        """Begin making the probe inputs (engine loop only)."""
        self.ready = asyncio.ensure_future(self._make())
        # Retrieved here too: when the run fails first, nobody awaits it.
        self.ready.add_done_callback(lambda t: t.cancelled() or t.exception())

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

    async def _model_tests(self) -> list[ModelTest]:
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

    async def probe(self, cand: Candidate) -> Sequence[Behaviour] | None:
        """The candidate's behaviour on every probe (``None`` when there are no probes)."""
        assert self.ready is not None
        probes = await self.ready
        if not probes:
            return None
        return await self.verifier.probe(self.spec, cand.id, cand.code, probes, self.limits)

    async def settle(self) -> None:
        """Wait until the probe inputs exist (or could not be made)."""
        if self.ready is not None and not self.ready.done():
            await asyncio.gather(self.ready, return_exceptions=True)
