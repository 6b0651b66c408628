"""Conditionals learnt by divide and conquer, the way EUSolver and FlashFill split examples.

Every output-typed value the enumerator finds is right on some set of examples (its *cover*,
a bit mask); every boolean value splits the examples into a True and a False side. A program
``if c: return a`` / ``return b`` exists as soon as some value covers ``c``'s True side and
another covers its False side. Two conditions make three branches: ``if c1: return a``,
``if c2: return b``, ``return d``, where ``c2`` only has to separate what ``c1`` left over.

Nothing here is enumerated blindly: a conditional is only ever assembled from a cover and a
condition that separates exactly the examples that cover needs. Solutions are queued with their
weight (one per ``if`` plus the parts, plus a simplicity prior per extra branch) and handed out
when the enumeration reaches that weight, so a plain expression of the same size comes first.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from itertools import compress
from typing import Any

from jupyter_codesearch.generate._synth_nodes import Node
from jupyter_codesearch.generate._synth_ops import NOT_OP

__all__ = ["Branches", "Conditionals"]

Vec = tuple[Any, ...]

# Below this many examples a three-way split explains almost anything: it is only fitting.
_MIN_EXAMPLES_3 = 5
# The extra weight of a third branch: more structure must buy a better fit, not an equal one.
_THIRD_BRANCH_PRIOR = 2
# Bit-mask tables are exact but exponential: with more examples only two branches are learnt.
_MAX_EXAMPLES_TABLE = 12
# Pairs of conditions grow quadratically: the lightest few hundred hold the readable ones.
_MAX_CONDITIONS = 300


@dataclass(frozen=True)
class Branches:
    """``if arms[0][0]: return arms[0][1]`` ... ``return default`` (no arms: a plain expression)."""

    arms: tuple[tuple[Node, Node], ...]
    default: Node


def _mask(bits: Vec) -> int:
    m = 0
    for i in compress(range(len(bits)), bits):
        m |= 1 << i
    return m


class Conditionals:
    """Covers and conditions seen so far, and the conditional programs they make."""

    def __init__(self, n: int, target: Vec) -> None:
        self.n = n
        self.target = target
        self.full = (1 << n) - 1
        self.partial: dict[int, tuple[int, Node]] = {}  # cover mask -> lightest value
        self._partial_keys: set[tuple[bool, ...]] = set()
        self.bools: dict[int, tuple[int, Node]] = {}  # True-side mask -> lightest condition
        self.pending: list[tuple[int, int, Branches]] = []
        self._seq = 0
        self._fresh = False  # something new since the last three-branch pass
        self._queued3: dict[tuple[int, int], int] = {}

    # -- two branches, incrementally ----------------------------------------------------------

    def note_partial(self, vec: Vec, node: Node, w: int) -> None:
        """A value of the output type: remember what it covers; pair it with known conditions."""
        hits = tuple(map(operator.eq, vec, self.target))
        if True not in hits or hits in self._partial_keys:
            return
        self._partial_keys.add(hits)
        m = _mask(hits)
        self.partial[m] = (w, node)
        self._fresh = True
        full = self.full
        for c, (wc, cn) in self.bools.items():
            if c & ~m == 0:  # this value covers the condition's True side
                other = self.best_cover(full & ~c)
                if other is not None:
                    self._queue(1 + wc + w + other[0], Branches(((cn, node),), other[1]))
            nc = full & ~c
            if nc & ~m == 0:  # ... or its False side
                other = self.best_cover(c)
                if other is not None:
                    self._queue(1 + wc + w + other[0], Branches(((cn, other[1]),), node))

    def note_bool(self, vec: Vec, node: Node, w: int) -> None:
        """A condition: remember its split; pair it with known covers of both sides."""
        c = _mask(vec)
        if c in self.bools:
            return
        self.bools[c] = (w, node)
        self._fresh = True
        yes = self.best_cover(c)
        no = self.best_cover(self.full & ~c)
        if yes is not None and no is not None:
            self._queue(1 + w + yes[0] + no[0], Branches(((node, yes[1]),), no[1]))

    def best_cover(self, need: int) -> tuple[int, Node] | None:
        """The lightest value right on every example in ``need``."""
        best: tuple[int, Node] | None = None
        for m, (w, node) in self.partial.items():
            if need & ~m == 0 and (best is None or w < best[0]):
                best = (w, node)
        return best

    def _queue(self, weight: int, plan: Branches) -> None:
        self._seq += 1
        self.pending.append((weight, self._seq, plan))

    def take(self, max_weight: int | None) -> list[tuple[int, Branches]]:
        """Solutions with weight <= ``max_weight`` (all if None), lightest first."""
        self.pending.sort(key=lambda p: (p[0], p[1]))
        out, keep = [], []
        for p in self.pending:
            if max_weight is None or p[0] <= max_weight:
                out.append((p[0], p[2]))
            else:
                keep.append(p)
        self.pending = keep
        return out

    # -- three branches, in a pass per level --------------------------------------------------

    def _cover_table(self) -> list[tuple[int, Node] | None]:
        """For every example subset, the lightest value covering it (superset-minimum sweep)."""
        table: list[tuple[int, Node] | None] = [None] * (1 << self.n)
        for m, entry in self.partial.items():
            cur = table[m]
            if cur is None or entry[0] < cur[0]:
                table[m] = entry
        for bit in range(self.n):
            b = 1 << bit
            for m in range(len(table)):
                if m & b == 0:
                    sup = table[m | b]
                    if sup is not None and (table[m] is None or sup[0] < table[m][0]):  # type: ignore[index]
                        table[m] = sup
        return table

    def plan_three(self, max_weight: int) -> None:
        """Queue ``if c1 / if c2 / else`` programs no heavier than ``max_weight``."""
        if not self._fresh or self.n < _MIN_EXAMPLES_3 or self.n > _MAX_EXAMPLES_TABLE:
            return
        self._fresh = False
        cov = self._cover_table()
        full = self.full
        conds = sorted(self.bools.items(), key=lambda kv: kv[1][0])[:_MAX_CONDITIONS]
        for c1, (w1, n1) in conds:
            for first, negated in ((c1, False), (full & ~c1, True)):
                a = cov[first]
                rest = full & ~first
                if a is None or cov[rest] is not None:
                    continue  # nothing for the first branch, or two branches already do
                base = 2 + _THIRD_BRANCH_PRIOR + w1 + int(negated) + a[0]
                if base >= max_weight:
                    continue
                self._split_rest(cov, rest, base, max_weight, n1, negated, a[1], conds)

    def _split_rest(
        self,
        cov: list[tuple[int, Node] | None],
        rest: int,
        base: int,
        max_weight: int,
        n1: Node,
        negated: bool,
        first_value: Node,
        conds: list[tuple[int, tuple[int, Node]]],
    ) -> None:
        for c2, (w2, n2) in conds:
            if base + w2 >= max_weight:
                break
            x = c2 & rest
            if x == 0 or x == rest:
                continue
            b, d = cov[x], cov[rest & ~x]
            if b is None or d is None:
                continue
            weight = base + w2 + b[0] + d[0]
            key = (rest, x)
            if weight > max_weight or self._queued3.get(key, max_weight + 1) <= weight:
                continue
            self._queued3[key] = weight
            cond1 = Node(NOT_OP, (n1,)) if negated else n1
            self._queue(weight, Branches(((cond1, first_value), (n2, b[1])), d[1]))


