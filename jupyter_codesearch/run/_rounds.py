"""Rounds: what each round asks the source for, and the loop that runs them.

Round 1 asks for fresh samples. A later round shows the model up to three failing candidates,
best first, with what went wrong on the *visible* tests (a hidden test's values never reach a
prompt), and shares the round's samples out among them; with nothing to show, it asks for fresh
samples again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._config import SearchConfig
from .._model import Candidate
from .._seams import CandidateSource, RoundRequest, Sample

if TYPE_CHECKING:
    from ._database import Evolution

__all__ = ["REPAIRS_SHOWN", "next_request", "run_rounds", "visible_failures"]

REPAIRS_SHOWN = 3
"""Failing candidates a repair round shows (more would make long prompts of similar code)."""
_FAILURES_SHOWN = 5


def visible_failures(c: Candidate) -> tuple[str, ...]:
    """What went wrong on tests a model may see (never a hidden test's values, nor a visible
    test that ran after a hidden one had given the candidate its arguments)."""
    out: list[str] = []
    assert c.verdict is not None
    for t in c.verdict.tests:
        if t.passed or t.hidden or t.withheld:
            continue
        if t.got is not None and t.expected is not None:
            out.append(f"`{t.source}`: got {t.got}, expected {t.expected}")
        elif t.error:
            out.append(f"`{t.source}`: {t.error}")
        else:
            last = t.calls[-1] if t.calls else None
            extra = f" ({last['call']} returned {last.get('got', '?')})" if last else ""
            out.append(f"`{t.source}` failed{extra}")
        if len(out) == _FAILURES_SHOWN:
            break
    return tuple(out)


def next_request(round_: int, n: int, ranked: Sequence[Candidate]) -> RoundRequest:
    """The request of round ``round_``, given the candidates so far, best first."""
    if round_ == 1:
        return RoundRequest(1, n)
    shown: list[tuple[Candidate, tuple[str, ...]]] = []
    for c in ranked:
        if c.verdict is None or c.passed or c.invalid_reason is not None:
            continue
        failures = visible_failures(c)
        if failures:
            shown.append((c, failures))
        if len(shown) == REPAIRS_SHOWN:
            break
    return RoundRequest(round_, n, tuple(shown))


async def run_rounds(
    config: SearchConfig,
    source: CandidateSource,
    *,
    on_round: Callable[[int], None],
    take: Callable[[Sample], Awaitable[None]],
    settle: Callable[[], Awaitable[None]],
    ranked: Callable[[], list[Candidate]],
    enough: asyncio.Event,
    resume: tuple[int, int] = (1, 0),
    evolution: Evolution | None = None,
) -> None:
    """Run the configured rounds: ``take`` each sample, ``settle`` (everything verified) after
    each round, and stop early when another round would bring nothing new or, with
    ``until_pass``, once a candidate passes. When ``enough`` is set, the round's remaining
    samples are not asked for (what is in flight is cancelled) and no further round starts.
    ``resume`` is ``(round, samples of it drawn already)`` for a run that continues a stopped one.

    With an ``evolution`` (a spec with a score), later rounds are its best-shot requests and
    the rounds go on while budget or time remain; a round that brings no new program (the
    budget is spent, or every reply was seen before) is the last."""
    first, skip = resume
    last = evolution.rounds if evolution is not None else config.rounds
    for round_ in range(first, last + 1):
        on_round(round_)
        request = next_request(round_, config.n, ranked() if round_ > 1 else [])
        if evolution is not None:
            request = evolution.request(round_, request)
        if round_ == first and skip:
            request = replace(request, skip=skip)
        before = len(ranked()) if evolution is not None else 0
        if request.skip < request.n:  # a resumed round drawn in full asks for nothing
            await _until(enough, _drain(source, request, take))
        await settle()
        if evolution is not None:
            evolution.after_round(round_)
        if enough.is_set() or not source.more_rounds() or (config.until_pass and any(c.passed for c in ranked())):
            return
        if evolution is not None and len(ranked()) == before:
            return


async def _drain(source: CandidateSource, request: RoundRequest, take: Callable[[Sample], Awaitable[None]]) -> None:
    async for sample in source.samples(request):
        await take(sample)


async def _until(event: asyncio.Event, work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` until it ends or ``event`` is set, whichever comes first."""
    task = asyncio.ensure_future(work)
    waiting = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
        if not task.done():
            task.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
    try:
        await task
    except asyncio.CancelledError:
        if not event.is_set():
            raise  # the run itself was stopped, not just this round's generation
