"""What an optimising run (a cell with a ``@score``) keeps beside the candidates: which way
scores go, the program database its rounds draw on, the climb of the best score, and the
``--reference`` with its verdict (differential probing, the speed-up's baseline)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from .._config import SearchConfig
from .._model import Behaviour, Candidate, Limits, Verdict
from .._seams import Verifier
from ..rank._policy import Goal
from ..spec import Spec
from ._database import Evolution
from ._probing import Prober
from ._reference import Reference, speedup, speedup_words

__all__ = ["Optimising"]


class Optimising:
    """One run's optimising state; every field ``None`` (or empty) for a cell without a score."""

    def __init__(self, spec: Spec, config: SearchConfig, verifier: Verifier, limits: Limits) -> None:
        self.spec = spec
        self.goal = Goal(maximize=config.maximize, runtime=spec.score_mode == "runtime") \
            if spec.score is not None else None
        self.evolution = Evolution(config, self.goal) if self.goal is not None else None
        self.reference = Reference(spec, config.reference, verifier, limits) if config.reference else None
        self.reference_verdict: Verdict | None = None
        self._trajectory: list[tuple[int, float]] = []
        self._lock = threading.Lock()

    @property
    def trajectory(self) -> list[tuple[int, float]]:
        with self._lock:
            return list(self._trajectory)

    def restore(self, candidates: Sequence[Candidate], trajectory: Sequence[tuple[int, float]]) -> None:
        """Start from a past run's scores (``--resume``, ``%search_open``): its scored programs
        back in the database (they are not scored again), its climb where it ended."""
        if self.evolution is None:
            return
        for c in candidates:
            if c.passed and c.score is not None:
                self.evolution.database.add(c)
        with self._lock:
            self._trajectory = [(int(n), float(v)) for n, v in trajectory]

    def scored(self, cand: Candidate, generated: int) -> None:
        """A new score: into the program database, and onto the climb if it is the best so far
        (``generated``: samples drawn by now). With a reference, only once it has agreed."""
        goal, evolution = self.goal, self.evolution
        if goal is None or evolution is None or cand.score is None or not cand.passed:
            return
        if self.reference is not None and cand.behaviours is None:
            return  # scored once the reference has agreed with it (the run's probing)
        evolution.database.add(cand)
        with self._lock:
            last = self._trajectory[-1][1] if self._trajectory else None
            if last is None or goal.sign * cand.score < goal.sign * last:
                self._trajectory.append((generated, cand.score))

    async def probe(self, prober: Prober, cand: Candidate, known: Callable[[Sequence[Behaviour]], bool],
                    urgent: bool = False) -> tuple[Sequence[Behaviour], str | None] | None:
        """Probe a passing candidate; with a reference, also why it differs from it (or None)."""
        found = await prober.probe(cand, known, urgent)
        if found is None or self.reference is None:
            return None if found is None else (found, None)
        expected = await self.reference.behaviours(prober.probes)
        return found, self.reference.mismatch(found, expected, prober.inputs)

    @staticmethod
    def probed(c: Candidate, behaviours: tuple[Behaviour, ...], differs: str | None) -> Candidate:
        """``c`` with its probe behaviours; rejected (failed, unscored) when it differs from the reference."""
        if differs is None or c.verdict is None:
            return replace(c, behaviours=behaviours)
        rejected = replace(c.verdict, status="failed", passed=False, error=differs, score=None, score_interval=None)
        return replace(c, behaviours=behaviours, verdict=rejected)

    def reference_judged(self, verdict: Verdict) -> str | None:
        """Keep the reference's verdict; what the user should know about it, if anything."""
        self.reference_verdict = verdict
        if self.reference is not None and not verdict.passed:
            return f"the reference `{self.reference.name}` does not pass the tests itself: {verdict.error}"
        return None

    def speedup(self, cand: Candidate) -> tuple[float, float, float] | None:
        """``(times faster, low, high)`` than the reference on the benchmark (runtime only)."""
        ref = self.reference_verdict
        if ref is None or cand.verdict is None or self.spec.score_mode != "runtime":
            return None
        return speedup(ref, cand.verdict)

    def speedup_notice(self, best: Candidate | None) -> str | None:
        found = self.speedup(best) if best is not None else None
        if best is None or found is None or self.reference is None:
            return None
        return speedup_words(best.id, self.reference.name, found)
