"""Offline programming-by-example: enumerate small Python expressions until one fits the examples.

The search is bottom-up by weight with observational equivalence (BUSTLE / Probe style): every
expression is evaluated on all examples at once, and of several expressions with the same values
only the lightest is kept. The vocabulary (``_synth_ops``) covers BUSTLE's spreadsheet string DSL
(concatenation, left/right/mid slices, find with start, replace, strip and whitespace collapse, case
changes, repeat, str(n), +, -, len, comparisons, conditionals) in Python form, plus integer and list
basics and comprehensions over list values.

What guides the search, without any trained model:

* constants mined from the examples: punctuation that occurs in them, substrings that every output
  shares (``'Dr. '``, ``', USA'``), short delimiters every input of a parameter shares (``' Inc'``);
* re-weighting (``Guide``): a string that is neither a piece of the expected output nor contains it,
  or an index beyond every string's length, joins bigger expressions only later;
* conditionals are not enumerated blindly: a value that is right on some examples and a condition
  that separates exactly those are combined into ``if cond: return a / return b``.

What keeps it honest: mined literals are never a whole example output and never a coincidental
letter run, a program built from constants alone is never emitted when there are parameters, and
no mined literal is a whole example input (single characters aside), so a condition is an
ordinary predicate over the inputs and a lookup table cannot be expressed. Every emitted program
is re-checked by executing its source on the examples, so what comes out is exactly what was
verified.

Measured on the 89 SyGuS string tasks, with what each piece buys: ``benchmarks/bench_synth.py``.
"""

from __future__ import annotations

import copy
import keyword
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from jupyter_codesearch._exceptions import CodeSearchError
from jupyter_codesearch.generate._synth_enum import (
    NOT_CONST,
    Caps,
    Context,
    Effort,
    Guide,
    Leaf,
    Node,
    Search,
    Stop,
    literal,
)
from jupyter_codesearch.generate._synth_ops import (
    BOOL,
    FLOAT,
    INT,
    LFLOAT,
    LIST_OF,
    LSTR,
    OPS,
    STR,
    Names,
    Op,
)

__all__ = ["SynthOptions", "SynthProgress", "SynthUnsupported", "synthesize"]

_MAX_LEVEL = 60
_MEMORY_BYTES = 800_000_000
_SCALARS = (STR, INT, FLOAT)


class SynthUnsupported(CodeSearchError):
    """One-line reason the synthesizer cannot help (no examples, values that are not plain data,
    types it does not model)."""


@dataclass(frozen=True)
class SynthProgress:
    """Where the enumeration is: for a progress display."""

    explored: int  # expressions explored so far
    size: int  # current expression size being enumerated
    programs: int  # programs emitted so far


@dataclass(frozen=True)
class SynthOptions:
    """Switches for the guidance pieces, so the benchmark can measure what each one buys."""

    output_constants: bool = True
    input_constants: bool = True
    guide_substring: bool = True
    guide_int_range: bool = True
    guide_list_member: bool = True
    conditionals: bool = True
    comprehensions: bool = True
    fused_split: bool = True
    max_penalty: int = 2
    disabled_ops: frozenset[str] = field(default_factory=frozenset)


# ---------------------------------------------------------------------------------------------
# problem preparation


def _scalar_type(v: object) -> str:
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, int):
        return INT
    if isinstance(v, float):
        return FLOAT
    if isinstance(v, str):
        return STR
    raise SynthUnsupported(
        f"the synthesizer only models str, int, float, bool and flat lists of them, not {type(v).__name__}"
    )


def _type_of(v: object) -> str:
    """Type tag of one value; ``list[?]`` for an empty list (settled by the other examples)."""
    if isinstance(v, (list, tuple)):
        kinds = {_scalar_type(x) for x in v}
        if not kinds:
            return "list[?]"
        if kinds == {INT, FLOAT}:
            return LFLOAT
        if len(kinds) == 1:
            (k,) = kinds
            if k in LIST_OF:
                return LIST_OF[k]
        names = ", ".join(sorted(kinds))
        raise SynthUnsupported(f"lists must hold one kind of str, int or float, not {names}")
    return _scalar_type(v)


def _unify(kinds: Sequence[str], what: str) -> str:
    ks = set(kinds)
    if len(ks) > 1 and "list[?]" in ks:
        ks.discard("list[?]")
    if ks == {INT, FLOAT}:
        return FLOAT
    if ks == {LIST_OF[INT], LFLOAT}:
        return LFLOAT
    if len(ks) != 1:
        raise SynthUnsupported(f"{what} has mixed types across examples ({', '.join(sorted(ks))})")
    (k,) = ks
    if k == "list[?]":
        return LSTR  # only empty lists: any element type works, str is the common case
    return k


def _freeze(v: Any) -> Any:
    return tuple(v) if isinstance(v, (list, tuple)) else v


@dataclass
class _Problem:
    params: list[str]
    func_name: str
    inputs: list[tuple[Any, ...]]  # per parameter: its value on each example
    in_types: list[str]
    target: tuple[Any, ...]
    out_type: str
    wrap_tuple: bool
    examples: list[tuple[tuple[object, ...], object]]


def _prepare(examples: Sequence[tuple[tuple[object, ...], object]], params: Sequence[str], func_name: str) -> _Problem:
    if not examples:
        raise SynthUnsupported("no input/output examples to synthesize from")
    if not func_name.isidentifier() or keyword.iskeyword(func_name):
        raise SynthUnsupported(f"{func_name!r} is not a usable function name")
    for p in params:
        if not p.isidentifier() or keyword.iskeyword(p):
            raise SynthUnsupported(f"parameter {p!r} is not a plain name")
    if len(set(params)) != len(params):
        raise SynthUnsupported("parameter names repeat")
    exs: list[tuple[tuple[object, ...], object]] = []
    for args, out in examples:
        args = tuple(args)
        if len(args) != len(params):
            raise SynthUnsupported(f"an example passes {len(args)} arguments but {func_name}() takes {len(params)}")
        exs.append((args, out))
    in_types = [_unify([_type_of(a[i]) for a, _ in exs], f"parameter {params[i]!r}") for i in range(len(params))]
    out_type = _unify([_type_of(o) for _, o in exs], "the expected output")
    wrap = False
    if out_type.startswith("list"):
        kinds = {type(o) for _, o in exs}
        if len(kinds) > 1:
            raise SynthUnsupported("expected outputs mix lists and tuples")
        wrap = kinds == {tuple}
    inputs = [tuple(_freeze(a[i]) for a, _ in exs) for i in range(len(params))]
    target = tuple(_freeze(o) for _, o in exs)
    return _Problem(list(params), func_name, inputs, in_types, target, out_type, wrap, exs)


# ---------------------------------------------------------------------------------------------
# constants


def _common_substrings(strings: Sequence[str], max_len: int = 40) -> list[str]:
    """Maximal substrings present in every string, longest first."""
    if len(strings) < 2 or max(map(len, strings)) > 2000:
        return []  # literals are mined from cell-sized values; big texts would cost seconds
    base = min(strings, key=len)
    others = [s for s in strings if s is not base]
    found: set[str] = set()
    n = min(len(base), 300)  # constants sit in short cells; long texts would cost quadratic time
    for i in range(n):
        for j in range(i + 1, min(n, i + max_len) + 1):
            sub = base[i:j]
            if all(sub in o for o in others):
                found.add(sub)
            else:
                break  # longer substrings starting at i cannot be common either
    maximal = [s for s in found if not any(s != o and s in o for o in found)]
    return sorted(maximal, key=lambda s: (-len(s), s))


def _has_punct(s: str) -> bool:
    return any(not c.isalnum() for c in s)


def _string_constants(prob: _Problem, opts: SynthOptions) -> list[str]:
    strings: list[str] = []
    per_example_inputs: list[list[str]] = [[] for _ in prob.target]
    for vec, t in zip(prob.inputs, prob.in_types, strict=True):
        for i, v in enumerate(vec):
            if t == STR:
                per_example_inputs[i].append(v)
            elif t == LSTR:
                per_example_inputs[i].extend(v)
    for ins in per_example_inputs:
        strings.extend(ins)
    outs: list[str] = []
    if prob.out_type == STR:
        outs = list(prob.target)
    elif prob.out_type == LSTR:
        outs = [x for lst in prob.target for x in lst]
    consts: list[str] = ["", " "]
    # punctuation is structure (separators, brackets); letters and digits are data
    chars = sorted({c for s in strings + outs for c in s if not c.isalnum() and c != " "})
    consts.extend(chars)
    if opts.output_constants and prob.out_type == STR and len(outs) >= 2:
        whole = set(outs)
        mined = [
            s
            for s in _common_substrings(outs)
            # a literal part of every output: not a whole output (that would be a lookup), not
            # copied from the inputs in every example, and with some punctuation or space in
            # it (shared letters alone are mostly coincidence: 'ABC' in two product codes)
            if len(s) >= 2
            and s not in whole
            and _has_punct(s)
            and not all(any(s in x for x in ins) for ins in per_example_inputs)
        ]
        consts.extend(mined[:6])
    if opts.input_constants:
        for vec, t in zip(prob.inputs, prob.in_types, strict=True):
            if t == STR:
                mined = [
                    s
                    for s in _common_substrings(vec, 6)
                    # a multi-character delimiter every input shares, like ' Inc' or '= ';
                    # short mixes like 's ' (from 'is a' and 'names look') are coincidences
                    if 2 <= len(s) <= 6
                    and _has_punct(s)
                    and not any(c.isdigit() for c in s)
                    and (len(s) >= 4 or 2 * sum(not c.isalnum() for c in s) > len(s))
                ]
                consts.extend(mined[:4])
    # a mined literal equal to one example's whole input would allow `if s == '...'`: a lookup
    # (single characters stay: "is it a dash" is a property, not a table)
    whole_inputs = set(strings)
    return [c for c in dict.fromkeys(consts) if len(c) <= 1 or c not in whole_inputs]


def _int_constants(prob: _Problem) -> list[int]:
    consts = [0, 1, 2, 3, -1]
    if prob.out_type in (INT, FLOAT) or INT in prob.in_types:
        consts.append(10)
    if prob.out_type == STR:
        lens = {len(o) for o in prob.target}
        if len(lens) == 1 and len(prob.target) >= 2:
            # fixed-width outputs are usually a fixed-width cut of an input
            (n,) = lens
            consts.extend([n, -n])
    return list(dict.fromkeys(consts))


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


def _build(prob: _Problem, budget: Effort, opts: SynthOptions) -> tuple[Search, list[Node], Names]:
    """The main search with its leaves registered; also returns leaves that already fit."""
    n = len(prob.target)
    str_consts = _string_constants(prob, opts)
    int_consts = _int_constants(prob)
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
    guide = Guide(
        prob.target,
        prob.out_type,
        substring=opts.guide_substring,
        int_range=opts.guide_int_range,
        list_member=opts.guide_list_member,
        max_penalty=opts.max_penalty,
        int_limit=limits,
    )
    leaf_types = set(prob.in_types) | {INT}
    if STR in leaf_types or LSTR in leaf_types or prob.out_type == STR:
        leaf_types.add(STR)
    if prob.out_type == FLOAT or FLOAT in leaf_types:
        leaf_types.add(FLOAT)
    extra: set[str] = set()
    if opts.comprehensions:
        extra = {LIST_OF[t] for t in _SCALARS if t in leaf_types}
    ops = [op for op in OPS if op.name not in opts.disabled_ops]
    numeric = INT in prob.in_types or prob.out_type == INT or LIST_OF[INT] in prob.in_types
    if not numeric:
        ops = [op for op in ops if not op.numeric]
    if not opts.fused_split:
        ops = [op for op in ops if op.name not in _FUSED]
    main_ops = _reachable_ops(ops, leaf_types, prob.out_type, extra)
    names = _names(prob.params)

    leaves: list[_LeafSpec] = []
    for p, t, vec in zip(prob.params, prob.in_types, prob.inputs, strict=True):
        leaves.append(_LeafSpec(t, Leaf(p), 1, per_example=vec))
    consts: list[tuple[str, object]] = [(STR, s) for s in str_consts]
    consts.extend((INT, k) for k in int_consts)
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
        make_context=make_context if opts.comprehensions else None,
    )
    hits: list[Node] = []
    for spec in leaves:
        if main.add_leaf(spec.type, spec.vector(n), spec.node, spec.weight):
            hits.append(spec.node)
    return main, hits, names


# ---------------------------------------------------------------------------------------------
# rendering and checking


def _function(prob: _Problem, names: Names, body: list[str], imports: set[str]) -> str:
    lines = [f"def {prob.func_name}({', '.join(prob.params)}):"]
    lines.extend(f"    import {m}" for m in sorted(imports))
    lines.extend("    " + b for b in body)
    return "\n".join(lines) + "\n"


def _wrap(prob: _Problem, src: str) -> str:
    return f"tuple({src})" if prob.wrap_tuple else src


def _expr_source(prob: _Problem, node: Node, names: Names) -> str:
    src, _ = node.render(names)
    return _function(prob, names, [f"return {_wrap(prob, src)}"], node.imports())


def _cond_source(prob: _Problem, cond: Node, yes: Node, no: Node, names: Names) -> str:
    c = cond.render(names)[0]
    y = _wrap(prob, yes.render(names)[0])
    o = _wrap(prob, no.render(names)[0])
    imports = cond.imports() | yes.imports() | no.imports()
    return _function(prob, names, [f"if {c}:", f"    return {y}", f"return {o}"], imports)


def _verify(prob: _Problem, source: str) -> bool:
    """Run the generated source on every example (it is our own generated code)."""
    ns: dict[str, object] = {}
    try:
        exec(compile(source, "<synth>", "exec"), ns)
        fn: Any = ns[prob.func_name]
        for args, expected in prob.examples:
            got = fn(*copy.deepcopy(args))
            if got != expected or (type(got) is not type(expected) and not _num_ok(got, expected)):
                return False
    except Exception:
        return False
    return True


def _num_ok(got: object, expected: object) -> bool:
    # 3 for 3.0 is what a user's ``==`` assert accepts; True for 1 is not what anyone means
    return (
        isinstance(got, (int, float))
        and isinstance(expected, (int, float))
        and not isinstance(got, bool)
        and not isinstance(expected, bool)
        and math.isfinite(float(got))
    )


# ---------------------------------------------------------------------------------------------
# public entry point


def synthesize(
    examples: Sequence[tuple[tuple[object, ...], object]],
    params: Sequence[str],
    func_name: str,
    *,
    time_limit: float = 10.0,
    max_programs: int = 5,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[SynthProgress], None] | None = None,
    options: SynthOptions | None = None,
) -> Iterator[str]:
    """Yield ordinary readable Python function sources (``def func_name(params): return ...``),
    smallest first, each consistent with ALL examples.

    Raises :class:`SynthUnsupported` (before yielding anything — in fact when called) when it
    cannot help. Stops after ``max_programs`` programs, after ``time_limit`` seconds (or a memory
    budget of about 800 MB), or as soon as ``should_stop()`` returns true. When time or memory runs
    out, conditional programs already found but heavier than what was enumerated are still
    emitted (a user stop emits nothing more). ``on_progress`` is called about every 0.2 s and once
    at the end. ``options`` switches guidance pieces off (for measurement); the defaults are the
    tuned configuration.
    """
    prob = _prepare(examples, params, func_name)
    return _synthesize(prob, time_limit, max_programs, should_stop, on_progress, options or SynthOptions())


def _synthesize(
    prob: _Problem,
    time_limit: float,
    max_programs: int,
    should_stop: Callable[[], bool] | None,
    on_progress: Callable[[SynthProgress], None] | None,
    opts: SynthOptions,
) -> Iterator[str]:
    emitted: dict[str, None] = {}

    def progress(explored: int, size: int) -> None:
        if on_progress is not None:
            on_progress(SynthProgress(explored, size, len(emitted)))

    budget = Effort(time_limit, should_stop, progress)
    if max_programs <= 0:
        return
    try:
        yield from _search(prob, budget, opts, max_programs, emitted)
    finally:
        # a last report, so callers always see the final count
        progress(budget.explored, budget.size)


def _search(
    prob: _Problem,
    budget: Effort,
    opts: SynthOptions,
    max_programs: int,
    emitted: dict[str, None],
) -> Iterator[str]:
    main, hits, names = _build(prob, budget, opts)

    def accept(src: str) -> bool:
        if src in emitted or not _verify(prob, src):
            return False
        emitted[src] = None
        return True

    def general(node: Node) -> bool:
        # an expression of constants alone ignores the inputs: with parameters around it is
        # the examples' output copied, not a rule (e.g. ' Kim'.strip() when every output is Kim)
        return not prob.params or node.const_value() is NOT_CONST

    for leaf in hits:
        src = _expr_source(prob, leaf, names)
        if general(leaf) and accept(src):
            yield src
            if len(emitted) >= max_programs:
                return
    try:
        for level in range(1, _MAX_LEVEL + 1):
            # conditionals of this weight are all known before the level starts; on a tie they
            # go first, as a named test reads better than an index trick of the same size
            for _, cond, yes, no in main.take_pending(level):
                src = _cond_source(prob, cond, yes, no, names)
                if accept(src):
                    yield src
                    if len(emitted) >= max_programs:
                        return
            for node in main.grow_to(level):
                if not general(node):
                    continue
                src = _expr_source(prob, node, names)
                if accept(src):
                    yield src
                    if len(emitted) >= max_programs:
                        return
            budget.check()
            if main.exhausted() and not main.pending:
                break
    except Stop:
        if budget.user_stopped:
            return
    # out of time or space: conditionals already found are still valid answers
    for _, cond, yes, no in main.take_pending(None):
        if budget.should_stop is not None and budget.should_stop():
            return
        src = _cond_source(prob, cond, yes, no, names)
        if accept(src):
            yield src
            if len(emitted) >= max_programs:
                return
