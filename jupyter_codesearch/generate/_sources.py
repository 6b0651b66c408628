"""Candidate sources: the litellm generator as a :class:`CandidateSource`, and several merged.

The run asks a source for a round (:class:`RoundRequest`: ``n`` samples, fresh or repairing some
failing candidates) and takes the :class:`Sample` texts as they come. How a round becomes
prompts is the model source's business, so the run knows nothing of prompts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from .._config import SearchConfig
from .._seams import CandidateSource, RoundRequest, Sample, SourceCounters
from ..spec import Spec
from ._llm import Budget, LLMGenerator, Prompt, evolve_prompt, first_prompt, repair_prompt

__all__ = ["LLMSource", "MergedSource"]


class LLMSource:
    """Samples from the configured model through litellm (imported on first request)."""

    def __init__(self, spec: Spec, config: SearchConfig) -> None:
        self.spec = spec
        self.config = config
        self._budget = Budget(config.max_cost, config.max_tokens)
        self._requests = 0
        self._made: LLMGenerator | None = None

    @property
    def _gen(self) -> LLMGenerator:
        # Made on first use, inside the run: a missing key is the run's error, not the caller's.
        if self._made is None:
            self._made = LLMGenerator(self.config, self._budget, on_request=self._count)
        return self._made

    def _count(self) -> None:
        self._requests += 1

    def check(self) -> None:
        self._gen  # noqa: B018 - building it checks the model and the key variable

    def prompts(self, request: RoundRequest) -> list[Prompt]:
        """The prompts of a round: the first prompt, repairs of the candidates shown (the samples
        shared out among them), or fresh samples when there is nothing to repair; samples a
        resumed run drew already (``request.skip``) are not drawn again."""
        made = self._prompts(request)
        skip = request.skip
        out = []
        for p in made:  # the samples drawn already are the first ones, prompt after prompt
            drop = min(skip, p.samples)
            skip -= drop
            if drop < p.samples:
                out.append(replace(p, first=drop))
        return out

    def _prompts(self, request: RoundRequest) -> list[Prompt]:
        n, round_ = request.n, request.round
        if round_ == 1:
            return [first_prompt(self.spec, n)]
        if request.shots:  # an optimising round: each island's best programs, the samples shared out
            share = [n // len(request.shots) + (i < n % len(request.shots)) for i in range(len(request.shots))]
            return [
                evolve_prompt(self.spec, [(c.code, c.score or 0.0) for c in shown], k, round_,
                              parent=shown[-1].id, island=island, maximize=request.maximize)
                for (island, shown), k in zip(request.shots, share, strict=True) if k
            ]
        if not request.repairs:  # nothing a model could learn from: fresh samples instead
            p = first_prompt(self.spec, n)
            return [replace(p, round=round_, messages=(*p.messages, ("user", f"(attempt {round_})")))]
        shown = request.repairs
        share = [n // len(shown) + (i < n % len(shown)) for i in range(len(shown))]
        return [
            repair_prompt(self.spec, c.code, list(failures), k, round_, c.id)
            for (c, failures), k in zip(shown, share, strict=True) if k
        ]

    async def samples(self, request: RoundRequest) -> AsyncIterator[Sample]:
        async for reply in self._gen.stream(self.prompts(request)):
            yield Sample(
                reply.text, "llm", self.config.model, reply.prompt.round, reply.prompt.parent,
                reply.tokens, 0.0 if reply.cached else reply.cost, island=reply.prompt.island,
            )

    async def ask(self, prompt: str, samples: int = 1) -> list[str]:
        return [r.text async for r in self._gen.stream([Prompt((("user", prompt),), samples)])]

    def counters(self) -> SourceCounters:
        b = self._budget
        return SourceCounters(requests=self._requests, tokens=b.tokens, cost=b.cost, cost_unknown=b.cost_unknown)

    def notices(self) -> list[str]:
        if self._made is None:
            return []
        out = list(self._made.notices)
        if self._made.failed:
            failed = self._made.failed
            out.append(f"{failed} model request{'s' if failed != 1 else ''} failed after retries")
        return out

    def more_rounds(self) -> bool:
        return True


class MergedSource:
    """Several sources at once (``--generator both``): their samples interleave as they come.

    When one fails, the others are stopped (the synthesizer must not go on adding candidates to
    a run that has failed) and its error is raised.
    """

    def __init__(self, sources: Sequence[CandidateSource]) -> None:
        self.sources = tuple(sources)

    def check(self) -> None:
        for source in self.sources:
            source.check()

    async def samples(self, request: RoundRequest) -> AsyncIterator[Sample]:
        queue: asyncio.Queue[Sample | None] = asyncio.Queue()

        async def drain(source: CandidateSource) -> None:
            async for sample in source.samples(request):
                await queue.put(sample)

        tasks = [asyncio.ensure_future(drain(s)) for s in self.sources]
        everything = asyncio.ensure_future(asyncio.gather(*tasks))
        everything.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (sample := await queue.get()) is not None:
                yield sample
            await everything  # raises the first error
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if not everything.done():
                everything.cancel()
            await asyncio.gather(everything, return_exceptions=True)

    async def ask(self, prompt: str, samples: int = 1) -> list[str]:
        for source in self.sources:
            answers = await source.ask(prompt, samples)
            if answers:
                return answers
        return []

    def counters(self) -> SourceCounters:
        parts = [s.counters() for s in self.sources]
        return SourceCounters(
            requests=sum(p.requests for p in parts), tokens=sum(p.tokens for p in parts),
            cost=sum(p.cost for p in parts), cost_unknown=any(p.cost_unknown for p in parts),
            explored=sum(p.explored for p in parts),
        )

    def notices(self) -> list[str]:
        return [n for s in self.sources for n in s.notices()]

    def more_rounds(self) -> bool:
        return any(s.more_rounds() for s in self.sources)
