"""Probing: run passing candidates on extra inputs, so that ranking can cluster them by behaviour.

The probe inputs are made once per run, while the first candidates are generated: mutations of
the tests' arguments and draws from the stub's type hints (``rank._probes``), plus, when the
source has a model, the edge cases it proposes (inputs only: never outputs, never the hidden
tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from .._exceptions import CodeSearchError
from .._model import Behaviour, Candidate, Limits
from .._seams import CandidateSource, ProbeSet, Verifier
from ..rank import probe_inputs
from ..rank._probes import call_arguments, edge_case_prompt, from_model_reply
from ..spec import Spec

__all__ = ["Prober"]


class Prober:
    """Makes a run's probe inputs (in the background, from :meth:`start`) and probes candidates."""

    def __init__(self, spec: Spec, source: CandidateSource, verifier: Verifier, limits: Limits) -> None:
        self.spec = spec
        self.source = source
        self.verifier = verifier
        self.limits = limits
        self.probes = ProbeSet()
        self.ready: asyncio.Future[ProbeSet] | None = None

    def start(self) -> None:
        """Begin making the probe inputs (engine loop only)."""
        self.ready = asyncio.ensure_future(self._make())
        # Retrieved here too: when the run fails first, nobody awaits it.
        self.ready.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _make(self) -> ProbeSet:
        extra: list[tuple[Any, ...]] = []
        try:
            reply = await self.source.ask(edge_case_prompt(self.spec))
            if reply:
                extra = from_model_reply(reply, call_arguments(self.spec))
        except CodeSearchError:
            pass  # generation reports provider problems; probes just go without
        self.probes = ProbeSet(await asyncio.to_thread(probe_inputs, self.spec, extra))
        return self.probes

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
