"""Scores shared by behaviour (``share_scores``): a program that behaves like one scored already
on every probe input takes its score instead of running the score function again.

With ``share_scores`` on, an optimising run with a *value* score (what the ``@score`` function
returns) and probes (clustering on, or a ``--reference``) judges a new program in two steps:
its tests alone first (the spec :meth:`~jupyter_codesearch.spec.Spec.without_score`), then,
once probing has found its behaviour, the score:

- a candidate whose behaviours on the probes equal those of a candidate scored already takes
  that score (``Verdict.score_from`` says whose; its rank reason says so), and the score
  function does not run for it;
- one whose behaviour is being scored at that moment waits for that score;
- one with a behaviour not seen yet is verified again with the spec's score function.

Programs with the same normalised code are one candidate in any case (``_candidates``): they
are never verified or scored twice, setting or not.

Why it is off by default: equal behaviour on the probes means an equal score only when the
score depends on the candidate's answers to inputs like the probes. A score function that calls
the candidate on inputs of its own (FunSearch's bin packing: up to 240 calls on random item
sizes, where the probes are a few calls like the tests') can tell such programs apart: on the
bin-packing cell with the mutating fake model (``benchmarks/bench_score_sharing.py``, 8 seeds)
sharing saved 2 score runs of 243, and both scores it shared were wrong (once: a program that
uses 88 bins shown with its twin's 89). ``--optimize runtime`` never shares: two programs that
answer alike can differ in speed, so each is timed.
The price of sharing is running a new behaviour's tests twice. Without probes (``cluster`` off
and no reference), or with sharing off, a program is scored in the same step as its tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .._model import Behaviour, Candidate, Limits, Verdict
from .._seams import Verifier
from ..spec import Spec
from ._candidates import CandidateTable

__all__ = ["Scoring"]

Track = Callable[[Any, Callable[[asyncio.Future[Any]], None]], None]


class Scoring:
    """Scores passing candidates of one run, sharing them between behaviour-equal programs."""

    def __init__(self, spec: Spec, verifier: Verifier, limits: Limits, table: CandidateTable, *, share: bool,
                 track: Track, scored: Callable[[Candidate], None]) -> None:
        self.spec = spec
        self.on = spec.score is not None and spec.score_mode != "runtime" and share
        """Scoring is a step of its own (after probing), shared by behaviour."""
        self.gate = spec.without_score() if self.on else spec
        """The spec a new candidate is verified against first."""
        self.verifier, self.limits, self.table = verifier, limits, table
        self._track, self._scored = track, scored
        self._by_behaviour: dict[tuple[Behaviour, ...], int] = {}
        self._waiting: dict[tuple[Behaviour, ...], list[int]] = {}
        self.runs = 0
        """Times the score function was asked to run (candidates verified with it)."""
        self.shared = 0
        """Candidates that took another's score instead."""

    def needs(self, c: Candidate) -> bool:
        """A passing candidate without a score (nor a reason why it has none)."""
        v = c.verdict
        return self.on and v is not None and v.passed and v.score is None and v.score_error is None

    def known(self, candidates: list[Candidate]) -> None:
        """Scores a resumed run has already: later programs that behave alike share them."""
        for c in candidates:
            v = c.verdict
            if v is not None and v.passed and v.score is not None and c.behaviours is not None:
                self._by_behaviour.setdefault(c.behaviours, c.id if v.score_from is None else v.score_from)

    def score(self, cand: Candidate) -> None:
        """Score ``cand`` (probed, or with no probes to run): share, wait, or run the score."""
        if not self.needs(cand):
            return
        key = cand.behaviours
        if key is not None:
            source = self._by_behaviour.get(key)
            if source is not None:
                self._share(cand.id, self.table[source])
                return
            if key in self._waiting:
                self._waiting[key].append(cand.id)
                return
            self._waiting[key] = []
        self.runs += 1
        self._track(self.verifier.verify(self.spec, cand.id, cand.code, self.limits), self._on_score(cand.id, key))

    def _on_score(self, index: int, key: tuple[Behaviour, ...] | None) -> Callable[[asyncio.Future[Any]], None]:
        def done(fut: asyncio.Future[Any]) -> None:
            if fut.cancelled():
                return  # the run stopped: it stays unscored (a resumed run scores it)
            error = fut.exception()
            cand = self.table.update(index, lambda c: _with_score(c, None if error else fut.result(), error))
            self._scored(cand)
            waiting = self._waiting.pop(key, []) if key is not None else []
            if cand.score is not None and key is not None:
                self._by_behaviour[key] = index
            for other in waiting:
                if cand.score is not None:
                    self._share(other, cand)
                else:  # its score failed: each of the others is scored itself
                    self.score(self.table[other])

        return done

    def _share(self, index: int, source: Candidate) -> None:
        sv = source.verdict
        assert sv is not None
        self.shared += 1

        def shared(c: Candidate) -> Candidate:
            assert c.verdict is not None
            return replace(c, verdict=replace(c.verdict, score=sv.score, score_interval=sv.score_interval,
                                              score_from=source.id))

        self._scored(self.table.update(index, shared))


def _with_score(c: Candidate, v: Verdict | None, error: BaseException | None) -> Candidate:
    """``c`` with the score of ``v``, the verdict of running it again with the score function."""
    assert c.verdict is not None
    if v is None:
        why = f"scoring failed: {type(error).__name__}: {error}"
        return replace(c, verdict=replace(c.verdict, score_error=why))
    if not v.passed:  # it passed a moment ago: the machine, or a program that is not deterministic
        why = f"run again to be scored, it did not pass ({v.status}: {v.error})"
        return replace(c, verdict=replace(c.verdict, score_error=why))
    return replace(c, verdict=replace(c.verdict, score=v.score, score_interval=v.score_interval,
                                      score_error=v.score_error))
