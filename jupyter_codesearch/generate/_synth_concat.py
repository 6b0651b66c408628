"""Outputs assembled from pieces, found by a shortest path instead of by enumerating concatenations.

A reformatted date or a name put back together is a concatenation of four or five pieces, each
small (``s[5:7]``, ``'/'``, ``s[:4]``): bottom-up enumeration reaches such a program only at the
sum of their weights, which is far too late. FlashFill's answer is to see the output as a path:
every value that is a substring of the expected output on every example is an edge from the
positions where it fits to the positions after it, and a program is a path from the start of
every output to its end that takes the same edges on all examples. The lightest such path (by
the pieces' weights plus one per ``+``) is found with Dijkstra over vectors of positions.

Only values the enumerator has already found take part, so every piece is an ordinary
expression and the result prints as ``a + '/' + b``. Paths are searched once per level, when
new pieces have come in since the last search.
"""

from __future__ import annotations

import heapq
import operator
from typing import Any

from jupyter_codesearch.generate._synth_nodes import Effort, Node
from jupyter_codesearch.generate._synth_ops import Op

__all__ = ["Pieces"]

Vec = tuple[Any, ...]

_MAX_PIECES = 20_000  # beyond this the table is mostly noise from long inputs
_MAX_STATES = 4_000  # positions vectors expanded per search
_MAX_PARTS = 7  # parts in one concatenation


class Pieces:
    """Values that fit inside the output on every example, and the paths they make."""

    def __init__(self, target: Vec, concat: Op, budget: Effort) -> None:
        self.target: tuple[str, ...] = target
        self.budget = budget  # the path search keeps the same clock as the enumeration
        self.concat = concat
        self.goal = tuple(map(len, target))
        # a piece by its value on the first example: at a position, the candidates are the
        # prefixes of what is left of the first output there
        self.by_first: dict[str, list[tuple[Vec, int, Node]]] = {}
        self.count = 0
        self._fresh = False
        self._best: int | None = None

    def note(self, vec: Vec, node: Node, w: int) -> None:
        """A new string value: keep it if it is a piece of every output."""
        if self.count >= _MAX_PIECES or not any(vec) or not all(map(operator.contains, self.target, vec)):
            return
        self.by_first.setdefault(vec[0], []).append((vec, w, node))
        self.count += 1
        self._fresh = True

    def search(self, max_weight: int) -> tuple[int, Node] | None:
        """The lightest concatenation of pieces equal to the output, if one is no heavier than
        ``max_weight`` and lighter than the last one returned."""
        if not self._fresh or len(self.by_first) < 2:
            return None
        self._fresh = False
        limit = max_weight if self._best is None else min(max_weight, self._best - 1)
        found = self._dijkstra(limit)
        if found is not None:
            self._best = found[0]
        return found

    def _dijkstra(self, limit: int) -> tuple[int, Node] | None:
        start = (0,) * len(self.target)
        t0 = self.target[0]
        n = len(self.target)
        # state -> (weight so far, expression so far, parts)
        best: dict[tuple[int, ...], int] = {start: 0}
        heap: list[tuple[int, int, tuple[int, ...], Node | None, int]] = [(0, 0, start, None, 0)]
        seq = 0
        expanded = 0
        while heap and expanded < _MAX_STATES:
            w, _, pos, expr, parts = heapq.heappop(heap)
            if pos == self.goal and expr is not None:
                return (w, expr) if parts > 1 else None  # one part: the enumerator finds it
            if best.get(pos, -1) < w or parts >= _MAX_PARTS:
                continue
            expanded += 1
            self.budget.tick(len(t0) - pos[0] + 1)
            p0 = pos[0]
            for end in range(p0, len(t0) + 1):
                for vec, wv, node in self.by_first.get(t0[p0:end], ()):
                    nxt = self._advance(pos, vec, n)
                    if nxt is None:
                        continue
                    nw = w + wv + (0 if expr is None else self.concat.weight)
                    if nw > limit or best.get(nxt, limit + 1) <= nw:
                        continue
                    best[nxt] = nw
                    seq += 1
                    new = node if expr is None else Node(self.concat, (expr, node))
                    heapq.heappush(heap, (nw, seq, nxt, new, parts + 1))
        return None

    def _advance(self, pos: tuple[int, ...], vec: Vec, n: int) -> tuple[int, ...] | None:
        out = []
        tgt = self.target
        for i in range(n):
            v = vec[i]
            p = pos[i]
            if not tgt[i].startswith(v, p):
                return None
            out.append(p + len(v))
        nxt = tuple(out)
        return None if nxt == pos else nxt
