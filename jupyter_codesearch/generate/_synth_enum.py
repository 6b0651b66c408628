"""Bottom-up enumeration by weight with observational equivalence.

A :class:`Search` keeps, per type and per weight, the expressions found so far, but only one
expression per distinct value vector (the first, hence lightest, one): two expressions that agree on
every example are interchangeable for the rest of the search. Level ``W`` is built by applying every
operation to argument tuples whose weights add up to ``W - op.weight``.

Guidance (see :class:`Guide`) does not prune: it re-files a new value at a heavier level, so values
that look unrelated to the expected output take part in bigger expressions later (BUSTLE's
re-weighting, with hand-written properties instead of a learned model).

Comprehensions are searched in a child :class:`Search` whose "examples" are the flattened elements
of one list value; each body found there becomes ``[body for x in L]`` or ``[x for x in L if body]``
back in the parent.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Any

from jupyter_codesearch.generate._synth_ops import (
    BOOL,
    FLOAT,
    INT,
    LIST_OF,
    LSTR,
    PREC_ATOM,
    PREC_COND,
    PREC_UNARY,
    STR,
    Names,
    Op,
)

__all__ = [
    "NOT_CONST",
    "Caps",
    "Context",
    "Effort",
    "Guide",
    "Leaf",
    "Node",
    "Search",
    "Stop",
    "literal",
]

Vec = tuple[Any, ...]  # one plain-data value per example: dynamically typed by design
Entry = tuple[Vec, "Node"]

_contains = operator.contains
_eq = operator.eq
_le = operator.le


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


class Guide:
    """Hand-written usefulness properties of a value with respect to the expected output.

    Returns an extra weight: 0 for values that look like a piece of the answer, more for values
    that look unrelated. Each property can be switched off to measure what it buys.
    """

    def __init__(
        self,
        target: Vec,
        out_type: str,
        *,
        substring: bool = True,
        int_range: bool = True,
        list_member: bool = True,
        max_penalty: int = 2,
        int_limit: Sequence[int] = (),
    ) -> None:
        self.target = target
        self.out_type = out_type
        self.substring = substring and out_type == STR
        self.int_range = int_range and out_type == STR
        self.list_member = list_member and out_type == STR
        self.max_penalty = max_penalty
        self.int_limit = tuple(int_limit)

    def penalty(self, t: str, vec: Vec) -> int:
        """Extra weight for a new value of type ``t``."""
        tgt = self.target
        if t == STR and self.substring:
            if all(map(_contains, tgt, vec)) or all(map(_contains, vec, tgt)):
                return 0  # a piece of the output, or something the output can be cut from
            if any(map(_contains, tgt, vec)):
                return 1
            return self.max_penalty
        if t == INT and self.int_range:
            # ints serve as indices and counts here: beyond every string's length they index
            # nothing new
            if all(map(_le, map(abs, vec), self.int_limit)):
                return 0
            return self.max_penalty
        if t == LSTR and self.list_member:
            for lst, out in zip(vec, tgt, strict=True):
                # some item holds the output (joined with a character no string contains), or
                # is a piece of it
                if out in "\x00".join(lst) or any(map(out.__contains__, lst)):
                    continue
                return 1
            return 0
        return 0


class Context:
    """One list value whose elements a child search enumerates comprehension bodies over."""

    __slots__ = ("elem_type", "flat", "lens", "node", "search", "weight")

    def __init__(
        self,
        node: Node,
        weight: int,
        elem_type: str,
        flat: Vec,
        lens: tuple[int, ...],
        search: Search,
    ) -> None:
        self.node = node
        self.weight = weight
        self.elem_type = elem_type
        self.flat = flat
        self.lens = lens
        self.search = search


class Search:
    """Weight-ordered bottom-up enumerator over one set of example vectors."""

    def __init__(
        self,
        n: int,
        ops: Sequence[Op],
        budget: Effort,
        caps: Caps,
        *,
        target: Vec | None = None,
        out_type: str | None = None,
        guide: Guide | None = None,
        conditionals: bool = False,
        make_context: Callable[[Node, int, str, Vec, tuple[int, ...]], Context | None] | None = None,
        context_max_weight: int = 3,
        body_max_weight: int = 5,
    ) -> None:
        self.n = n
        self.budget = budget
        self.caps = caps
        self.target = target
        self.out_type = out_type
        self.guide = guide
        self.conditionals = conditionals and target is not None and n > 1
        self.make_context = make_context
        self.context_max_weight = context_max_weight
        self.body_max_weight = body_max_weight
        self.levels: dict[str, dict[int, list[Entry]]] = {}
        self.seen: dict[str, dict[Vec, Node]] = {}
        self.types: set[str] = set()
        for op in ops:
            self.types.update(op.args)
            self.types.add(op.ret)
        if out_type is not None:
            self.types.add(out_type)
        for t in sorted(self.types):  # sorted: str hashing varies between processes
            self.levels[t] = {}
            self.seen[t] = {}
        self.ops = [op for op in ops if all(a in self.types for a in op.args)]
        self.contexts: list[Context] = []
        self.done = 0  # highest level fully enumerated
        self.last_new = 0  # last level that received a value
        # conditional bookkeeping (main search only): mask -> (weight, node)
        self.partial: dict[int, tuple[int, Node]] = {}
        self._partial_keys: set[tuple[bool, ...]] = set()
        self.bools: dict[int, tuple[int, Node]] = {}
        self.pending: list[tuple[int, int, Node, Node, Node]] = []
        self._pending_seq = 0
        self._full = (1 << n) - 1
        self._float_out = out_type == FLOAT

    # -- values ----------------------------------------------------------------------------------

    def add_leaf(self, t: str, vec: Vec, node: Node, weight: int) -> bool:
        """Register a leaf; returns True if it already matches the target."""
        if t not in self.types:
            self.types.add(t)
            self.levels[t] = {}
            self.seen[t] = {}
        if vec in self.seen[t]:
            return False
        # leaves were chosen on purpose: no re-weighting for them
        guide, self.guide = self.guide, None
        try:
            return self._add(t, vec, node, weight)
        finally:
            self.guide = guide

    def _matches(self, vec: Vec) -> bool:
        tgt = self.target
        if tgt is None:
            return False
        if self._float_out:
            return all(
                isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
                for a, b in zip(vec, tgt, strict=True)
            )
        return vec == tgt

    def _add(self, t: str, vec: Vec, node: Node, weight: int) -> bool:
        """Keep a value not seen before. Returns True when it is a complete solution.

        Solutions are not stored, so later, different expressions for the output come out too.
        """
        caps = self.caps
        if t == STR:
            if max(map(len, vec)) > caps.str_len:
                return False
        elif t == INT:
            if max(vec) > caps.int_abs or min(vec) < -caps.int_abs:
                return False
        elif t == BOOL:
            if self.out_type != BOOL and (all(vec) or not any(vec)):
                return False  # a constant condition chooses nothing
        elif t == FLOAT:
            if not all(map(math.isfinite, vec)):
                return False
        elif t.startswith("list"):
            if max(map(len, vec)) > caps.list_len:
                return False
        if t == self.out_type and self._matches(vec):
            return True
        guide = self.guide
        w = weight + (guide.penalty(t, vec) if guide is not None else 0)
        self.seen[t][vec] = node
        self.budget.stored += 1
        lv = self.levels[t]
        if w in lv:
            lv[w].append((vec, node))
        else:
            lv[w] = [(vec, node)]
        if w > self.last_new:
            self.last_new = w
        if self.conditionals:
            if t == self.out_type:
                self._note_partial(vec, node, w)
            elif t == BOOL:
                self._note_bool(vec, node, w)
        if self.make_context is not None and t.startswith("list") and w <= self.context_max_weight:
            self._new_context(t, vec, node, w)
        return False

    # -- conditionals ----------------------------------------------------------------------------

    def _note_partial(self, vec: Vec, node: Node, w: int) -> None:
        assert self.target is not None
        hits = tuple(map(_eq, vec, self.target))
        if True not in hits or hits in self._partial_keys:
            return
        self._partial_keys.add(hits)
        m = 0
        for i in compress(range(self.n), hits):
            m |= 1 << i
        self.partial[m] = (w, node)
        full = self._full
        for c, (wc, cn) in self.bools.items():
            if c & ~m == 0:  # this value covers the condition's True side
                other = self._best_cover(full & ~c)
                if other is not None:
                    self._queue(1 + wc + w + other[0], cn, node, other[1])
            nc = full & ~c
            if nc & ~m == 0:  # ... or its False side
                other = self._best_cover(c)
                if other is not None:
                    self._queue(1 + wc + w + other[0], cn, other[1], node)

    def _note_bool(self, vec: Vec, node: Node, w: int) -> None:
        c = 0
        for i in compress(range(self.n), vec):
            c |= 1 << i
        if c in self.bools:
            return
        self.bools[c] = (w, node)
        yes = self._best_cover(c)
        no = self._best_cover(self._full & ~c)
        if yes is not None and no is not None:
            self._queue(1 + w + yes[0] + no[0], node, yes[1], no[1])

    def _best_cover(self, need: int) -> tuple[int, Node] | None:
        best: tuple[int, Node] | None = None
        for m, (w, node) in self.partial.items():
            if need & ~m == 0 and (best is None or w < best[0]):
                best = (w, node)
        return best

    def _queue(self, weight: int, cond: Node, yes: Node, no: Node) -> None:
        self._pending_seq += 1
        self.pending.append((weight, self._pending_seq, cond, yes, no))

    def take_pending(self, max_weight: int | None) -> list[tuple[int, Node, Node, Node]]:
        """Conditional solutions with weight <= ``max_weight`` (all if None), lightest first."""
        self.pending.sort(key=lambda p: (p[0], p[1]))
        out, keep = [], []
        for p in self.pending:
            if max_weight is None or p[0] <= max_weight:
                out.append((p[0], p[2], p[3], p[4]))
            else:
                keep.append(p)
        self.pending = keep
        return out

    # -- comprehensions --------------------------------------------------------------------------

    def _new_context(self, t: str, vec: Vec, node: Node, w: int) -> None:
        assert self.make_context is not None
        elem = {v: k for k, v in LIST_OF.items()}.get(t)
        if elem is None:
            return
        lens = tuple(map(len, vec))
        flat = tuple(x for lst in vec for x in lst)
        ctx = self.make_context(node, w, elem, flat, lens)
        if ctx is not None:
            self.contexts.append(ctx)

    def _contexts(self, level: int) -> Iterator[Node]:
        for ctx in self.contexts:
            wb = level - 1 - ctx.weight
            if wb < 2 or wb > self.body_max_weight:
                continue
            sub = ctx.search
            for _ in sub.grow_to(wb):
                pass
            lens = ctx.lens
            for bt, lv in sub.levels.items():
                entries = lv.get(wb)
                if not entries:
                    continue
                if bt == BOOL:
                    rt = LIST_OF[ctx.elem_type]
                    seen = self.seen.get(rt)
                    if seen is None:
                        continue
                    flat = ctx.flat
                    for bvec, bnode in entries:
                        if not bnode.uses_var():
                            continue
                        out, i = [], 0
                        for k in lens:
                            out.append(tuple(compress(flat[i : i + k], bvec[i : i + k])))
                            i += k
                        r = tuple(out)
                        if r in seen:
                            continue
                        if self._add(rt, r, Node(FILTER_OP, (ctx.node, bnode)), level):
                            yield Node(FILTER_OP, (ctx.node, bnode))
                    self.budget.tick(len(entries))
                    continue
                lt = LIST_OF.get(bt)
                if lt is None or lt not in self.seen:
                    continue
                seen = self.seen[lt]
                for bvec, bnode in entries:
                    if not bnode.uses_var():
                        continue
                    out, i = [], 0
                    for k in lens:
                        out.append(bvec[i : i + k])
                        i += k
                    r = tuple(out)
                    if r in seen:
                        continue
                    if self._add(lt, r, Node(MAP_OP, (ctx.node, bnode)), level):
                        yield Node(MAP_OP, (ctx.node, bnode))
                self.budget.tick(len(entries))

    # -- enumeration -----------------------------------------------------------------------------

    def grow_to(self, level: int) -> Iterator[Node]:
        """Enumerate all levels up to ``level``, yielding complete solutions as found."""
        while self.done < level:
            self.done += 1
            if self.target is not None:
                self.budget.size = self.done
            yield from self._level(self.done)

    def exhausted(self) -> bool:
        """Nothing new for several levels (and nothing pending above): the space is used up."""
        return self.done - self.last_new > 4 and not self.contexts

    def _level(self, level: int) -> Iterator[Node]:
        for op in self.ops:
            rest = level - op.weight
            k = len(op.args)
            if rest < k:
                continue
            if k == 1:
                yield from self._unary(op, rest, level)
            elif k == 2:
                yield from self._binary(op, rest, level)
            else:
                yield from self._ternary(op, rest, level)
        if self.contexts:
            yield from self._contexts(level)

    def _unary(self, op: Op, rest: int, level: int) -> Iterator[Node]:
        src = self.levels[op.args[0]].get(rest)
        if not src:
            return
        f = op.elem
        rt = op.ret
        seen = self.seen[rt]
        add = self._add
        for av, an in src:
            try:
                r = tuple(map(f, av))
            except MemoryError:
                raise Stop from None
            except Exception:
                continue
            if r in seen:
                continue
            if add(rt, r, Node(op, (an,)), level):
                yield Node(op, (an,))
        self.budget.tick(len(src))

    def _binary(self, op: Op, rest: int, level: int) -> Iterator[Node]:
        t1, t2 = op.args
        lv1 = self.levels[t1]
        lv2 = self.levels[t2]
        f = op.elem
        rt = op.ret
        seen = self.seen[rt]
        add = self._add
        tick = self.budget.tick
        comm = op.comm and t1 == t2
        for w1 in range(1, rest):
            w2 = rest - w1
            if comm and w1 > w2:
                break
            a_list = lv1.get(w1)
            b_list = lv2.get(w2)
            if not a_list or not b_list:
                continue
            if op.const_arg:
                b_list = [e for e in b_list if e[0].count(e[0][0]) == len(e[0])]
            same = comm and w1 == w2
            for i, (av, an) in enumerate(a_list):
                bs = b_list[i:] if same else b_list
                for bv, bn in bs:
                    try:
                        r = tuple(map(f, av, bv))
                    except MemoryError:
                        raise Stop from None
                    except Exception:
                        continue
                    if r in seen:
                        continue
                    if add(rt, r, Node(op, (an, bn)), level):
                        yield Node(op, (an, bn))
                tick(len(bs))

    def _ternary(self, op: Op, rest: int, level: int) -> Iterator[Node]:
        t1, t2, t3 = op.args
        lv1 = self.levels[t1]
        lv2 = self.levels[t2]
        lv3 = self.levels[t3]
        f = op.elem
        rt = op.ret
        seen = self.seen[rt]
        add = self._add
        tick = self.budget.tick
        # replace(s, old, new) and friends do nothing unless ``old`` occurs in ``s`` somewhere
        # (and an empty ``old`` only makes degenerate programs)
        needs_sub = t1 == STR and t2 == STR
        for w1 in range(1, rest - 1):
            a_list = lv1.get(w1)
            if not a_list:
                continue
            for w2 in range(1, rest - w1):
                w3 = rest - w1 - w2
                b_list = lv2.get(w2)
                c_list = lv3.get(w3)
                if not b_list or not c_list:
                    continue
                for av, an in a_list:
                    for bv, bn in b_list:
                        tick(1)  # the containment test alone can be slow on big strings
                        if needs_sub and ("" in bv or not any(map(_contains, av, bv))):
                            continue
                        for cv, cn in c_list:
                            try:
                                r = tuple(map(f, av, bv, cv))
                            except MemoryError:
                                raise Stop from None
                            except Exception:
                                continue
                            if r in seen:
                                continue
                            if add(rt, r, Node(op, (an, bn, cn)), level):
                                yield Node(op, (an, bn, cn))
                        tick(len(c_list))
