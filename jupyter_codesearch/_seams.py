"""The two seams of a search: where candidates come from, and who judges them.

A :class:`~jupyter_codesearch.run.SearchRun` talks to one :class:`CandidateSource` (the
litellm generator, the offline synthesizer, or both merged) and one :class:`Verifier` (the local
kernel pool; a Dask cluster is the second). Tests drive the run in-process through small fakes
of these, as httpx tests a client through ``MockTransport``; the real parts have their own
integration tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from ._model import Behaviour, Candidate, Limits, Verdict
from .spec import Spec

__all__ = ["CandidateSource", "ProbeOrigin", "ProbeSet", "RoundRequest", "Sample", "SourceCounters", "Verifier"]


@dataclass(frozen=True)
class Sample:
    """One program text a source produced (a model's reply, or a synthesized program)."""

    text: str
    """The reply or program as produced; extraction of the code happens in the run."""
    origin: str
    """``"llm"`` or ``"synth"``."""
    model: str | None = None
    round: int = 1
    parent: int | None = None
    tokens: int = 0
    cost: float | None = 0.0
    """USD, ``None`` when the price is unknown; 0 for a cached reply."""
    code: bool = False
    """``text`` is already a program (the synthesizer's), not a reply to extract code from."""
    island: int | None = None
    """The program-database island whose programs its prompt showed (optimising runs)."""


@dataclass(frozen=True)
class RoundRequest:
    """What one round asks of a source: ``n`` samples, from scratch or repairing some candidates."""

    round: int
    n: int
    repairs: tuple[tuple[Candidate, tuple[str, ...]], ...] = ()
    """Failing candidates to show, each with its failures on visible tests (never hidden ones)."""
    skip: int = 0
    """Samples of this round a stopped run drew already (``--resume``): only samples ``skip`` to
    ``n - 1`` are asked for, so a resumed run neither pays twice nor gets the same replies."""
    shots: tuple[tuple[int, tuple[Candidate, ...]], ...] = ()
    """Optimising runs: per island, its best scored programs, worst first (best-shot prompts)."""
    maximize: bool = True
    """Which way the shown scores go (for the prompt's words)."""


@dataclass(frozen=True)
class SourceCounters:
    """What a source has spent and done so far (for progress displays)."""

    requests: int = 0
    tokens: int = 0
    cost: float = 0.0
    cost_unknown: bool = False
    explored: int = 0
    """Expressions the offline synthesizer explored."""


@runtime_checkable
class CandidateSource(Protocol):
    """Produces program texts for a spec, round by round."""

    def check(self) -> None:
        """Raise a :class:`CodeSearchError` now if this source cannot work at all (no model key,
        tests the synthesizer cannot learn from), before any kernel is started for nothing."""
        ...

    def samples(self, request: RoundRequest) -> AsyncIterator[Sample]:
        """Samples as they arrive. Raises a :class:`CodeSearchError` when the source cannot work
        at all (a model that refuses us, a synthesizer that cannot use the tests)."""
        ...

    async def ask(self, prompt: str, samples: int = 1) -> list[str]:
        """Side requests in words (edge-case inputs, test cases): up to ``samples`` replies to
        ``prompt``; none when this source has no model to ask."""
        ...

    def counters(self) -> SourceCounters:
        """Requests, tokens, cost, work done so far."""
        ...

    def notices(self) -> list[str]:
        """What the user should know once the source is done (budget stop, failed requests)."""
        ...

    def more_rounds(self) -> bool:
        """Whether a later round could bring something new (a model: yes; a synthesizer: no)."""
        ...


ProbeOrigin = Literal["doc", "model", "domain", "edge", "mutation", "hint"]
"""Where a probe input came from: the docstring's examples, a model-written test, a draw like the
tests' own arguments, a model's edge case, a mutation of a test's arguments, the type hints."""


@dataclass(frozen=True, eq=False)
class ProbeSet:
    """The probe inputs of one run (argument lists, as codec trees), where each came from, and,
    for those that come with an answer (docstring examples, model-written tests), the digest of
    that answer. One object per run: jobs that share it can share batches."""

    trees: tuple[Any, ...] = ()
    origins: tuple[ProbeOrigin, ...] = ()
    expected: tuple[str | None, ...] = ()
    """``value_digest`` of the answer each probe should give, or ``None`` when nobody said."""

    def __len__(self) -> int:
        return len(self.trees)


@runtime_checkable
class Verifier(Protocol):
    """Judges candidates against a spec's tests, in sandboxes that never see the tests."""

    async def start(self) -> None:
        """Get ready (start kernels, connect to a cluster); raises a :class:`SandboxError`."""
        ...

    async def verify(self, spec: Spec, index: int, source: str, limits: Limits) -> Verdict:
        """The verdict of one candidate (``index`` is the caller's number for it)."""
        ...

    async def probe(
        self, spec: Spec, index: int, source: str, probes: ProbeSet, limits: Limits, urgent: bool = False
    ) -> Sequence[Behaviour]:
        """One :class:`Behaviour` per probe input. ``urgent``: the ranking shown depends on it, so
        it may go before waiting verifications (otherwise probes wait for them)."""
        ...

    def notices(self) -> list[str]:
        """What the user should know about where verification runs (no sandbox, ...)."""
        ...
