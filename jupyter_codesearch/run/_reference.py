"""A reference implementation (``--reference NAME``): differential testing, and the baseline a
``--optimize runtime`` run reports its speed-up against.

The reference is a function of the cell's context or the session (``--use``), so the sandbox
already holds it: it runs there as a candidate whose body only calls it, with the same limits
(its timeout ``REFERENCE_TIMES`` the candidates'). Its behaviour on every probe input is the
expected one: a passing candidate that behaves otherwise on any probe it ran is rejected, with
the input and both answers in its verdict -- so "faster" never means "different".
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .._exceptions import ConfigError
from .._model import Behaviour, Limits, Verdict
from .._seams import ProbeSet, Verifier
from ..execute._shown import label
from ..spec import Spec

__all__ = ["REFERENCE_INDEX", "REFERENCE_TIMES", "Reference", "speedup", "speedup_words"]

REFERENCE_TIMES = 5
"""The reference's timeout, in candidates' timeouts: a slow reference is the point of the exercise."""
REFERENCE_INDEX = -1
"""Its number in verifier calls (candidates count from 0)."""


class Reference:
    """The reference of one run: its verdict (and runtime score) and its probe behaviours, each
    computed once, on first need."""

    def __init__(self, spec: Spec, name: str, verifier: Verifier, limits: Limits) -> None:
        if not name.isidentifier() or not _defined(spec, name):
            raise ConfigError(f"reference (--reference) {name!r}: no function of that name in the cell's context or "
                              "the session's --use values; define it above the stub, or pass it with --use")
        if name == spec.name:
            raise ConfigError(f"reference (--reference) {name!r} is the function being searched for: "
                              "give the reference another name")
        self.name = name
        self.spec = spec
        self.verifier = verifier
        self.limits = replace(limits, timeout=limits.timeout * REFERENCE_TIMES)
        self.source = f"def {spec.name}(*args, **kwargs):\n    return {name}(*args, **kwargs)\n"
        self._verdict: asyncio.Future[Verdict] | None = None
        self._behaviours: dict[int, asyncio.Future[Sequence[Behaviour]]] = {}

    async def verdict(self) -> Verdict:
        """The reference judged like a candidate: tests, and the score (its runtime, when optimising)."""
        if self._verdict is None:
            self._verdict = asyncio.ensure_future(
                self.verifier.verify(self.spec, REFERENCE_INDEX, self.source, self.limits))
        return await asyncio.shield(self._verdict)

    async def behaviours(self, probes: ProbeSet) -> Sequence[Behaviour]:
        """What the reference does on ``probes`` (the run's full probe set)."""
        fut = self._behaviours.get(id(probes))
        if fut is None:
            fut = self._behaviours[id(probes)] = asyncio.ensure_future(
                self.verifier.probe(self.spec, REFERENCE_INDEX, self.source, probes, self.limits))
        return await asyncio.shield(fut)

    def mismatch(self, found: Sequence[Behaviour], expected: Sequence[Behaviour],
                 inputs: Sequence[tuple[Any, ...]]) -> str | None:
        """Why a candidate's probe behaviours are not the reference's, or ``None`` when they are.
        A probe the reference itself cannot answer (it hung or crashed) proves nothing."""
        for k, (got, want) in enumerate(zip(found, expected, strict=False)):
            if want.kind in ("timeout", "crashed") or got == want:
                continue
            call = label(self.spec.name, inputs[k], {}) if k < len(inputs) else f"probe {k + 1}"
            return (f"differs from the reference `{self.name}` on {call}: got {got.text}, "
                    f"the reference gives {want.text}")
        return None


def speedup(reference: Verdict, candidate: Verdict) -> tuple[float, float, float] | None:
    """How many times faster ``candidate`` runs the benchmark than ``reference``: the ratio of
    median runtimes and its bounds from the two 95% intervals (``None`` without both)."""
    if reference.score is None or candidate.score is None or candidate.score <= 0:
        return None
    r_low, r_high = reference.score_interval or (reference.score, reference.score)
    c_low, c_high = candidate.score_interval or (candidate.score, candidate.score)
    if c_low <= 0 or c_high <= 0:
        return None
    return reference.score / candidate.score, r_low / c_high, r_high / c_low


def speedup_words(best: int, reference: str, found: tuple[float, float, float]) -> str:
    """``best #3 runs the benchmark 41x as fast as the reference `slow` (95% interval ...)``."""
    times, low, high = found
    return (f"best #{best} runs the benchmark {times:.3g}x as fast as the reference `{reference}` "
            f"(95% interval {low:.3g}x to {high:.3g}x)")


def _defined(spec: Spec, name: str) -> bool:
    """Whether the context, the session's preamble or a ``--use`` value binds ``name``."""
    if any(n == name for n, _ in spec.objects):
        return True
    for source in (spec.context, spec.preamble):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                return True
            if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                    (a.asname or a.name.split(".")[0]) == name for a in node.names):
                return True
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                return True
    return False
