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
from collections.abc import Callable, Iterator, Sequence
from itertools import compress
from typing import Any

from jupyter_codesearch.generate._synth_concat import Pieces
from jupyter_codesearch.generate._synth_cond import Branches, Conditionals
from jupyter_codesearch.generate._synth_nodes import FILTER_OP, MAP_OP, Caps, Effort, Node, Stop
from jupyter_codesearch.generate._synth_ops import BOOL, FLOAT, INT, LIST_OF, LSTR, STR, Op

__all__ = ["Context", "Guide", "Search"]

Vec = tuple[Any, ...]  # one plain-data value per example: dynamically typed by design
Entry = tuple[Vec, "Node"]

_contains = operator.contains
# how much heavier than the current level a concatenation path may be: enough for a date's
# five parts, not so much that the path search itself gets slow
_PATH_LOOKAHEAD = 14
_le = operator.le



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
        # a truth-valued answer is a test or two on the inputs, rarely a test on a value
        # transformed three times over (which fits a few examples by coincidence)
        self.shallow = out_type == BOOL

    def penalty(self, t: str, vec: Vec, node: Node) -> int:
        """Extra weight for a new value of type ``t``."""
        tgt = self.target
        if self.shallow:
            return 0 if t == BOOL else min(4, 2 * max(0, node.depth() - 1))
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
        concat_paths: bool = False,
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
        # conditional bookkeeping (main search only)
        self.cond = Conditionals(n, target) if self.conditionals and target is not None else None
        concat = next((op for op in self.ops if op.name == "concat"), None)
        self.pieces: Pieces | None = None
        if concat_paths and concat is not None and target is not None and out_type == STR:
            self.pieces = Pieces(target, concat, budget)
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
        w = weight + (guide.penalty(t, vec, node) if guide is not None else 0)
        self.seen[t][vec] = node
        self.budget.stored += 1
        lv = self.levels[t]
        if w in lv:
            lv[w].append((vec, node))
        else:
            lv[w] = [(vec, node)]
        if w > self.last_new:
            self.last_new = w
        if self.pieces is not None and t == STR:
            self.pieces.note(vec, node, w)
        if self.cond is not None:
            if t == self.out_type:
                self.cond.note_partial(vec, node, w)
            elif t == BOOL:
                self.cond.note_bool(vec, node, w)
        if self.make_context is not None and t.startswith("list") and w <= self.context_max_weight:
            self._new_context(t, vec, node, w)
        return False

    # -- conditionals ----------------------------------------------------------------------------

    def take_pending(self, max_weight: int | None) -> list[tuple[int, Branches]]:
        """Solutions assembled rather than enumerated (conditionals, concatenation paths) with
        weight <= ``max_weight`` (all if None), lightest first; paths of any weight come out as
        soon as they are found, for the caller to hold until they are due."""
        out: list[tuple[int, Branches]] = []
        if self.pieces is not None and max_weight is not None:
            path = self.pieces.search(max_weight + _PATH_LOOKAHEAD)
            if path is not None:
                out.append((path[0], Branches((), path[1])))
        if self.cond is not None:
            if max_weight is not None:
                self.cond.plan_three(max_weight)
            out.extend(self.cond.take(max_weight))
        return out

    @property
    def pending(self) -> bool:
        """Whether conditional solutions wait for their level."""
        return self.cond is not None and bool(self.cond.pending)

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
