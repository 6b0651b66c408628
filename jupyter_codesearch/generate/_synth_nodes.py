"""Expression trees of the synthesizer, the shared clock, and how constants print.

A :class:`Node` is an operation applied to argument nodes; a :class:`Leaf` is a parameter, a
constant or a comprehension variable. :class:`Effort` is the one clock, stop flag and memory count
every search shares; :class:`Stop` is raised from deep inside the loops when it runs out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from jupyter_codesearch.generate._synth_ops import PREC_ATOM, PREC_COND, PREC_UNARY, Names, Op

__all__ = ["FILTER_OP", "MAP_OP", "NOT_CONST", "Caps", "Effort", "Leaf", "Node", "Stop", "literal"]


class Stop(Exception):
    """Raised from deep inside the loops when time is up or the caller asked to stop."""


class Effort:
    """Shared clock, stop flag and progress reporting; polled every few thousand candidates."""

    def __init__(
        self,
        time_limit: float,
        should_stop: Callable[[], bool] | None,
        on_progress: Callable[[int, int], None] | None,
        max_stored: int = 1_500_000,
    ) -> None:
        self.start = time.monotonic()
        self.deadline = self.start + time_limit
        self.should_stop = should_stop
        self.on_progress = on_progress
        self.explored = 0
        self.check_every = 2000  # candidates between clock checks; fewer when values are big
        self.stored = 0  # values kept, across all searches: the memory budget
        self.max_stored = max_stored
        self.size = 0
        self.user_stopped = False
        self._next_check = 0
        self._next_progress = self.start + 0.2

    def tick(self, n: int) -> None:
        """Count ``n`` explored candidates and, every so often, check the clock and stop flag."""
        self.explored += n
        if self.explored >= self._next_check:
            self.check()

    def check(self) -> None:
        """Raise :class:`Stop` if the time is up or the caller wants to stop."""
        self._next_check = self.explored + self.check_every
        now = time.monotonic()
        if self.should_stop is not None and self.should_stop():
            self.user_stopped = True
            raise Stop
        if now >= self.deadline or self.stored >= self.max_stored:
            raise Stop
        if self.on_progress is not None and now >= self._next_progress:
            self._next_progress = now + 0.2
            self.on_progress(self.explored, self.size)


def _unused(*_: object) -> tuple[object, ...]:
    raise AssertionError("comprehensions are evaluated by Search._contexts")


class _NotConst:
    """Marker for expressions whose value depends on the inputs."""

    def __repr__(self) -> str:
        return "NOT_CONST"


NOT_CONST: object = _NotConst()


class Node:
    """An operation applied to argument expressions.

    Kept as small as possible (one is made for every new value); whether it depends on a
    comprehension variable, and its value when it depends on nothing, are computed on demand.
    """

    __slots__ = ("args", "op")

    def __init__(self, op: Op, args: tuple[Node, ...]) -> None:
        self.op = op
        self.args = args

    def uses_var(self) -> bool:
        """Whether the comprehension variable occurs in this expression."""
        return any(a.uses_var() for a in self.args)

    def const_value(self) -> object:
        """The value if the expression depends on no input, else ``NOT_CONST``."""
        if self.op.elem is _unused:
            return NOT_CONST
        vals = []
        for a in self.args:
            v = a.const_value()
            if v is NOT_CONST:
                return NOT_CONST
            vals.append(v)
        try:
            return self.op.elem(*vals)
        except Exception:
            return NOT_CONST

    def render(self, names: Names) -> tuple[str, int]:
        """Python source of this expression and its precedence level."""
        value = self.const_value()
        if value is not NOT_CONST:
            # constants built from constants print folded: ',' + ' ' is ', '
            return literal(value)
        if self.op.name == "concat":
            return self._render_concat(names)
        args = self.args
        if self.op.comm and args[0].const_value() is not NOT_CONST:
            args = args[::-1]  # x % 2 == 0 reads better than 0 == x % 2
        return self.op.render([a.render(names) for a in args], names)

    def _render_concat(self, names: Names) -> tuple[str, int]:
        # a + ',' + ' ' + b prints as a + ', ' + b: flatten the chain, merge adjacent literals
        parts: list[Node] = []

        def flatten(node: Node) -> None:
            if not isinstance(node, Leaf) and node.op.name == "concat":
                if node.const_value() is NOT_CONST:
                    for a in node.args:
                        flatten(a)
                    return
            parts.append(node)

        flatten(self)
        merged: list[tuple[str, int]] = []
        pending = ""
        has_pending = False
        for p in parts:
            v = p.const_value()
            if isinstance(v, str):
                pending += v
                has_pending = True
                continue
            if has_pending:
                merged.append(literal(pending))
                pending, has_pending = "", False
            merged.append(p.render(names))
        if has_pending:
            merged.append(literal(pending))
        need = self.op.need[0]
        return " + ".join(f"({src})" if prec < need else src for src, prec in merged), self.op.prec

    def imports(self) -> set[str]:
        """Modules the rendered source needs."""
        if self.const_value() is not NOT_CONST:
            return set()
        out: set[str] = set(self.op.imports)
        for a in self.args:
            out |= a.imports()
        return out

    def size(self) -> int:
        """Number of nodes (for reporting; the search itself orders by weight)."""
        return 1 + sum(a.size() for a in self.args)

    def depth(self) -> int:
        """Operations stacked on the deepest path (a leaf is 0)."""
        return 1 + max(a.depth() for a in self.args)


class Leaf(Node):
    """A parameter, a constant, or the comprehension variable (``src`` empty)."""

    __slots__ = ("prec", "src", "value")

    def __init__(self, src: str, prec: int = PREC_ATOM, value: object = NOT_CONST) -> None:
        self.src = src
        self.prec = prec
        self.value = value

    def uses_var(self) -> bool:
        return self.src == ""

    def const_value(self) -> object:
        return self.value

    def render(self, names: Names) -> tuple[str, int]:
        return (names.elem if self.src == "" else self.src), self.prec

    def imports(self) -> set[str]:
        return set()

    def size(self) -> int:
        return 1

    def depth(self) -> int:
        return 0


def literal(v: object) -> tuple[str, int]:
    """Source for a constant value (lists are held as tuples but print as lists)."""
    if isinstance(v, tuple):
        return "[" + ", ".join(literal(x)[0] for x in v) + "]", PREC_ATOM
    src = repr(v)
    return src, (PREC_UNARY if src.startswith("-") else PREC_ATOM)


# Comprehension "ops": only rendered; their values are built by Search._contexts.
MAP_OP = Op("map", ("list", "any"), "list", _unused, "[{1} for {x} in {0}]", need=(PREC_COND + 1,))
FILTER_OP = Op(
    "filter",
    ("list", "bool"),
    "list",
    _unused,
    "[{x} for {x} in {0} if {1}]",
    need=(PREC_COND + 1, PREC_COND + 1),
)


@dataclass
class Caps:
    """Largest values worth keeping; bigger ones are dropped as blow-ups."""

    str_len: int
    list_len: int
    int_abs: int
