"""The program database of an optimising run: scored programs on islands, as in FunSearch.

Each island evolves on its own: a round's prompt shows the best few programs of one island
(best-shot prompting, worst first, each with its score), and what comes back lives on that
island (the sample's ``island``). Islands keep the search from
collapsing onto one idea; every few rounds the weaker half is emptied and re-seeded with the
best program of a stronger island, so effort moves to where the scores are.

Programs the table already merged (same normalised code) are never verified or scored twice;
within an island, programs with the same score are one entry (the smallest program: FunSearch
groups an island's programs by their score signature the same way), so a prompt never spends
its shots on programs that score alike.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .._config import SearchConfig
from .._exceptions import ConfigError
from .._model import Candidate
from .._seams import RoundRequest
from ..rank._policy import Goal
from ..spec import Spec

__all__ = ["MAX_ROUNDS", "RESET_EVERY", "Evolution", "Island", "ProgramDatabase", "scored_spec"]

MAX_ROUNDS = 1000
"""Rounds of an open-ended optimising run: a bound its budget or time limit reaches first."""

RESET_EVERY = 4
"""Rounds between resets of the weaker half of the islands."""


@dataclass
class Island:
    """Scored programs, one per score."""

    programs: dict[float, Candidate] = field(default_factory=dict)

    def best(self, goal: Goal, k: int) -> list[Candidate]:
        """The ``k`` best programs, best first (ties: the smaller program, then the older)."""
        return sorted(self.programs.values(), key=lambda c: (goal.sign * (c.score or 0.0), c.size, c.id))[:k]


class ProgramDatabase:
    """Islands of scored programs; :meth:`shots` is what the next round's prompts show."""

    def __init__(self, goal: Goal, islands: int, seed: int = 0) -> None:
        self.goal = goal
        self.islands = [Island() for _ in range(max(1, islands))]
        self._home: dict[int, int] = {}
        self._rng = random.Random(seed)

    def place(self, candidate: int, island: int | None) -> None:
        """Where a new candidate lives: the island whose prompt it answers (none: round-robin)."""
        if island is not None and candidate not in self._home:
            self._home[candidate] = island % len(self.islands)

    def add(self, c: Candidate) -> None:
        """Record a scored passing candidate on its island."""
        if not c.passed or c.score is None:
            return
        island = self._home.setdefault(c.id, c.id % len(self.islands))
        signature = c.score
        held = self.islands[island].programs.get(signature)
        if held is None or (c.size, c.id) < (held.size, held.id):
            self.islands[island].programs[signature] = c

    def shots(self, k: int) -> list[tuple[int, tuple[Candidate, ...]]]:
        """For each island with programs: its number and its ``k`` best, *worst first* (the
        prompt ends on the best, which the model is asked to improve on)."""
        return [(n, tuple(reversed(i.best(self.goal, k)))) for n, i in enumerate(self.islands) if i.programs]

    def best(self) -> Candidate | None:
        """The best program of any island."""
        tops = [i.best(self.goal, 1)[0] for i in self.islands if i.programs]
        return min(tops, key=lambda c: (self.goal.sign * (c.score or 0.0), c.size, c.id)) if tops else None

    def reset_weak(self) -> int:
        """Empty the weaker half of the islands (by best score) and seed each with the best
        program of a random stronger one; how many were reset."""
        ranked = sorted(range(len(self.islands)), key=self._island_key)
        if len(ranked) < 2 or any(not self.islands[i].programs for i in ranked):
            return 0
        keep, weak = ranked[: (len(ranked) + 1) // 2], ranked[(len(ranked) + 1) // 2 :]
        for i in weak:
            donor = self.islands[self._rng.choice(keep)].best(self.goal, 1)[0]
            self.islands[i] = Island({donor.score or 0.0: donor})
        return len(weak)

    def _island_key(self, i: int) -> float:
        top = self.islands[i].best(self.goal, 1)
        return self.goal.sign * (top[0].score or 0.0) if top else float("inf")


class Evolution:
    """What an optimising run's rounds ask for: best-shot prompts from the database's islands
    (``best_shot`` programs each), while a budget or time limit remains (else ``rounds``)."""

    def __init__(self, config: SearchConfig, goal: Goal) -> None:
        self.config = config
        self.goal = goal
        self.database = ProgramDatabase(goal, config.islands, config.seed)
        budgeted = config.time_limit is not None or config.max_cost is not None or config.max_tokens is not None
        self.rounds = MAX_ROUNDS if budgeted else config.rounds
        self.resets = 0

    def request(self, round_: int, fallback: RoundRequest) -> RoundRequest:
        """Round ``round_``'s request: best shots once something is scored, else ``fallback``
        (repairs of failing candidates, or fresh samples)."""
        k = self.config.best_shot
        shots = self.database.shots(k) if k > 0 else []
        if round_ == 1 or not shots:
            return fallback
        return RoundRequest(round_, self.config.n, shots=tuple(shots), maximize=self.goal.maximize)

    def after_round(self, round_: int) -> None:
        if round_ % RESET_EVERY == 0:
            self.resets += self.database.reset_weak()


def scored_spec(spec: Spec, config: SearchConfig) -> Spec:
    """``spec`` as ``config`` scores it (``--optimize runtime``: by the time of the @score calls)."""
    if config.optimize != "runtime":
        return spec
    if spec.score is None:
        raise ConfigError("optimize (--optimize) runtime needs benchmark calls: add a `@score` function after the "
                          "tests that calls the candidate on the inputs to time, e.g. `@score\ndef bench(f):\n"
                          "    f(list(range(10_000)))`")
    return spec.optimizing("runtime")
