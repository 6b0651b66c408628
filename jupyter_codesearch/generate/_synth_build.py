"""Setting up the search: which operations can matter, the leaves, budgets and the guide."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jupyter_codesearch.generate._synth_enum import Context, Guide, Search
from jupyter_codesearch.generate._synth_formats import FORMAT_OPS
from jupyter_codesearch.generate._synth_nodes import Caps, Effort, Leaf, Node, literal
from jupyter_codesearch.generate._synth_ops import BOOL, FLOAT, INT, LIST_OF, LSTR, OPS, STR, Names, Op
from jupyter_codesearch.generate._synth_problem import Problem, SynthOptions, int_constants, string_constants

__all__ = ["build"]

_MEMORY_BYTES = 800_000_000
_SCALARS = (STR, INT, FLOAT)


# ---------------------------------------------------------------------------------------------
# search set-up


def _reachable_ops(ops: Sequence[Op], leaf_types: set[str], out_type: str, extra: set[str]) -> list[Op]:
    """Operations that can take part in building an ``out_type`` (or a condition)."""
    if FLOAT not in leaf_types and out_type != FLOAT:
        # floats only when the examples have them: int -> float -> int detours add nothing
        ops = [op for op in ops if FLOAT not in op.ret and not any(FLOAT in a for a in op.args)]
    have = set(leaf_types) | extra
    changed = True
    while changed:
        changed = False
        for op in ops:
            if op.ret not in have and all(a in have for a in op.args):
                have.add(op.ret)
                changed = True
    useful = {out_type, BOOL}
    changed = True
    while changed:
        changed = False
        for op in ops:
            if op.ret in useful and all(a in have for a in op.args):
                for a in op.args:
                    if a not in useful:
                        useful.add(a)
                        changed = True
    return [op for op in ops if op.ret in useful and all(a in have for a in op.args)]


@dataclass
class _LeafSpec:
    """A parameter (its value per example) or a constant (one value everywhere)."""

    type: str
    node: Leaf
    weight: int
    per_example: tuple[Any, ...] | None = None
    value: object = None

    def vector(self, n: int) -> tuple[Any, ...]:
        """The value vector over ``n`` examples."""
        return self.per_example if self.per_example is not None else (self.value,) * n

    def expanded(self, lens: Sequence[int]) -> tuple[Any, ...]:
        """The vector inside a comprehension: one entry per list element of each example."""
        if self.per_example is None:
            return (self.value,) * sum(lens)
        return tuple(v for v, k in zip(self.per_example, lens, strict=True) for _ in range(k))


_FUSED = frozenset({"before_first", "after_last", "after_first", "before_last"})


def _names(params: Sequence[str]) -> Names:
    taken = set(params)
    elem = next(n for n in ("x", "item", "elem", "x_") if n not in taken)
    char = next(n for n in ("c", "ch", "char", "c_") if n not in taken and n != elem)
    return Names(elem, char)


def _sizes(prob: Problem, budget: Effort) -> tuple[Caps, list[int]]:
    """Value caps, the memory and clock-check budgets, and per example the longest string."""
    n = len(prob.target)
    typed = list(zip([*prob.inputs, prob.target], [*prob.in_types, prob.out_type], strict=True))
    all_strs: list[int] = []
    for vec, t in typed:
        if t == STR or t.startswith("list"):
            all_strs.extend(map(len, vec))
        if t == LSTR:
            all_strs.extend(len(x) for lst in vec for x in lst)
    longest = max(all_strs, default=10)
    ints = [abs(v) for vec, t in typed if t == INT for v in vec]
    # keep memory near _MEMORY_BYTES: a stored value costs about a tuple of n strings plus
    # bookkeeping
    avg = sum(all_strs) / len(all_strs) if all_strs else 8.0
    budget.max_stored = max(2_000, int(_MEMORY_BYTES / (200 + n * (60 + avg))))
    # one candidate costs about one pass over the example strings: keep clock checks ~10 ms apart
    budget.check_every = max(10, min(2000, 200_000 // (1 + sum(all_strs))))
    caps = Caps(
        str_len=2 * longest + 20,
        list_len=longest + 20,
        int_abs=max(10**6, 100 * max(ints, default=0)),
    )
    # per example: the longest string around, bounding useful indices
    limits = [
        1 + max((len(vec[i]) for vec, t in typed if t == STR or t.startswith("list")), default=0) for i in range(n)
    ]
    return caps, limits


def _leaf_types(prob: Problem) -> set[str]:
    leaf_types = set(prob.in_types) | {INT}
    if STR in leaf_types or LSTR in leaf_types or prob.out_type == STR:
        leaf_types.add(STR)
    if prob.out_type == FLOAT or FLOAT in leaf_types:
        leaf_types.add(FLOAT)
    return leaf_types


def _has_digits(prob: Problem) -> bool:
    """Every example has a digit in some input or in its output (or numbers are the data)."""
    if INT in prob.in_types or prob.out_type == INT:
        return True
    texts: list[list[str]] = [[] for _ in prob.target]
    for vec, t in zip([*prob.inputs, prob.target], [*prob.in_types, prob.out_type], strict=True):
        for i, v in enumerate(vec):
            if t == STR:
                texts[i].append(v)
            elif t == LSTR:
                texts[i].extend(v)
    return all(any(c.isdigit() for s in ts for c in s) for ts in texts)


def _ops(prob: Problem, opts: SynthOptions) -> list[Op]:
    ops = [op for op in (*OPS, *FORMAT_OPS) if op.name not in opts.disabled_ops]
    if not opts.formats or not _has_digits(prob):
        ops = [op for op in ops if not op.digits]
    numeric = INT in prob.in_types or prob.out_type == INT or LIST_OF[INT] in prob.in_types
    # a parameter that is a whole number on every example is a number written as text
    numeric = numeric or any(
        t == STR and all(v.isdigit() and len(v) <= 12 for v in vec)
        for vec, t in zip(prob.inputs, prob.in_types, strict=True)
    )
    if not numeric:
        ops = [op for op in ops if not op.numeric]
    if prob.out_type != BOOL:
        ops = [op for op in ops if not op.logic]
    if not opts.fused_split:
        ops = [op for op in ops if op.name not in _FUSED]
    return ops


def _leaves(prob: Problem, opts: SynthOptions, leaf_types: set[str]) -> list[_LeafSpec]:
    """Parameters, mined constants, and same-typed parameters gathered into one list."""
    n = len(prob.target)
    leaves: list[_LeafSpec] = []
    for p, t, vec in zip(prob.params, prob.in_types, prob.inputs, strict=True):
        leaves.append(_LeafSpec(t, Leaf(p), 1, per_example=vec))
    consts: list[tuple[str, object]] = [(STR, s) for s in string_constants(prob, opts)]
    consts.extend((INT, k) for k in int_constants(prob))
    if FLOAT in leaf_types:
        consts.extend((FLOAT, f) for f in (0.5, 1.0, 2.0))
    if prob.out_type == BOOL:
        consts.extend((BOOL, b) for b in (True, False))
    for t, v in consts:
        src, prec = literal(v)
        leaves.append(_LeafSpec(t, Leaf(src, prec, value=v), 1, value=v))
    # several parameters of one kind are often meant as one list: [a, b, c]
    by_type: dict[str, list[int]] = {}
    for i, t in enumerate(prob.in_types):
        by_type.setdefault(t, []).append(i)
    for t, idx in by_type.items():
        if t in LIST_OF and len(idx) >= 2:
            vec = tuple(tuple(prob.inputs[i][e] for i in idx) for e in range(n))
            src = "[" + ", ".join(prob.params[i] for i in idx) + "]"
            # weight 3: indexing it with a computed int is a disguised, brittle conditional
            leaves.append(_LeafSpec(LIST_OF[t], Leaf(src), 3, per_example=vec))
    return leaves


def build(prob: Problem, budget: Effort, opts: SynthOptions) -> tuple[Search, list[Node], Names]:
    """The main search with its leaves registered; also returns leaves that already fit."""
    n = len(prob.target)
    caps, limits = _sizes(prob, budget)
    guide = Guide(
        prob.target,
        prob.out_type,
        substring=opts.guide_substring,
        int_range=opts.guide_int_range,
        list_member=opts.guide_list_member,
        max_penalty=opts.max_penalty,
        int_limit=limits,
    )
    leaf_types = _leaf_types(prob)
    extra: set[str] = set()
    if opts.comprehensions:
        extra = {LIST_OF[t] for t in _SCALARS if t in leaf_types}
    ops = _ops(prob, opts)
    main_ops = _reachable_ops(ops, leaf_types, prob.out_type, extra)
    leaves = _leaves(prob, opts, leaf_types)
    sub_ops = [
        op
        for op in _reachable_ops(ops, leaf_types, STR, set())
        if not any(a.startswith("list") for a in (*op.args, op.ret))
    ]

    def make_context(
        node: Node, weight: int, elem_type: str, flat: tuple[object, ...], lens: tuple[int, ...]
    ) -> Context | None:
        if not flat or len(flat) > 400 or len(main.contexts) >= 12:
            return None
        sub = Search(len(flat), sub_ops, budget, caps)
        sub.add_leaf(elem_type, flat, Leaf(""), 1)
        for spec in leaves:
            if spec.type in _SCALARS and spec.type in sub.types:
                sub.add_leaf(spec.type, spec.expanded(lens), spec.node, spec.weight)
        return Context(node, weight, elem_type, flat, lens, sub)

    main = Search(
        n,
        main_ops,
        budget,
        caps,
        target=prob.target,
        out_type=prob.out_type,
        guide=guide,
        conditionals=opts.conditionals,
        concat_paths=opts.concat_paths,
        make_context=make_context if opts.comprehensions else None,
    )
    hits: list[Node] = []
    for spec in leaves:
        if main.add_leaf(spec.type, spec.vector(n), spec.node, spec.weight):
            hits.append(spec.node)
    return main, hits, _names(prob.params)
