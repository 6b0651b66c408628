"""The simplicity prior: which of several programs that fit the examples comes out first.

Enumeration already orders programs by weight (one per operation and leaf). On top of that, a
program is held back by a few weight units for shapes that fit the examples more often than they
generalise:

* a parameter it never reads (with two or more parameters): the examples let it get away
  without it, the task almost certainly needs it;
* a computed separator or needle (``s.split(s.lower())``, ``t.find(s[2])``): code people write
  splits on a literal or on a parameter; a computed one fits by coincidence.

Held-back programs wait in a queue ordered by weight and come out when the enumeration reaches
their weight, or when time runs out.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence

from jupyter_codesearch.generate._synth_cond import Branches
from jupyter_codesearch.generate._synth_nodes import NOT_CONST, Leaf, Node

__all__ = ["Queue", "prior"]

UNUSED_PARAM = 3
COMPUTED_SEPARATOR = 3


def _walk(node: Node, params: frozenset[str], used: set[str]) -> int:
    if isinstance(node, Leaf):
        if node.value is NOT_CONST and node.src:
            used.update(p for p in node.src.strip("[]").split(", ") if p in params)
        return 0
    gathered = node.args[0] if node.args else None
    if node.op.tmpl == "{0}[{1}]" and isinstance(gathered, Leaf) and gathered.src.startswith("["):
        # [a, b, c][1] reads one parameter, however many the list names
        i = node.args[1].const_value()
        names = gathered.src.strip("[]").split(", ")
        if isinstance(i, int) and -len(names) <= i < len(names):
            used.add(names[i])
            return 0
    penalty = 0
    sep = node.op.sep
    if 0 <= sep < len(node.args):
        arg = node.args[sep]
        if not isinstance(arg, Leaf) and arg.const_value() is NOT_CONST:
            penalty += COMPUTED_SEPARATOR
    for a in node.args:
        penalty += _walk(a, params, used)
    return penalty


def prior(plan: Branches, params: Sequence[str]) -> int:
    """Extra weight for shapes that generalise badly (0 for most programs)."""
    names = frozenset(params)
    used: set[str] = set()
    penalty = 0
    for cond, value in plan.arms:
        penalty += _walk(cond, names, used) + _walk(value, names, used)
    penalty += _walk(plan.default, names, used)
    if len(names) > 1:
        penalty += UNUSED_PARAM * len(names - used)
    return penalty


class Queue:
    """Programs found but not due yet, lightest first (ties: in the order found)."""

    def __init__(self, params: Sequence[str]) -> None:
        self.params = list(params)
        self._heap: list[tuple[float, int, Branches]] = []
        self._seq = 0

    def __bool__(self) -> bool:
        return bool(self._heap)

    def offer(self, weight: int, plan: Branches) -> bool:
        """Queue a program found at ``weight``; True when it is due at once (no prior)."""
        extra = prior(plan, self.params)
        self._seq += 1
        # held back: after the plain programs of its new weight (+ 0.5)
        heapq.heappush(self._heap, (weight + extra + (0.5 if extra else 0), self._seq, plan))
        return extra == 0

    def due(self, level: float) -> Iterator[Branches]:
        """Take out every program no heavier than ``level``, lightest first."""
        while self._heap and self._heap[0][0] <= level:
            yield heapq.heappop(self._heap)[2]
