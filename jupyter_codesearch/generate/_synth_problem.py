"""The synthesizer's problem: examples checked and typed, and the constants mined from them.

Mined constants are the only literals a program may contain besides a few small numbers: the
punctuation the examples use, substrings every output shares, short delimiters every input of a
parameter shares. None of them is ever a whole example input or output (single characters
aside), so a program cannot be a lookup table of the examples.
"""

from __future__ import annotations

import keyword
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jupyter_codesearch._exceptions import CodeSearchError
from jupyter_codesearch.generate._synth_ops import BOOL, FLOAT, INT, LFLOAT, LIST_OF, LSTR, STR

__all__ = [
    "Problem",
    "SynthOptions",
    "SynthProgress",
    "SynthUnsupported",
    "int_constants", "prepare", "string_constants"]


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
    formats: bool = True
    concat_paths: bool = True
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
class Problem:
    params: list[str]
    func_name: str
    inputs: list[tuple[Any, ...]]  # per parameter: its value on each example
    in_types: list[str]
    target: tuple[Any, ...]
    out_type: str
    wrap_tuple: bool
    examples: list[tuple[tuple[object, ...], object]]


def prepare(examples: Sequence[tuple[tuple[object, ...], object]], params: Sequence[str], func_name: str) -> Problem:
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
    return Problem(list(params), func_name, inputs, in_types, target, out_type, wrap, exs)


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


def _labels(outs: Sequence[str], per_example_inputs: Sequence[Sequence[str]]) -> list[str]:
    """Whole outputs that come back on several examples: a class label such as 'N/A' or 'Yes'.

    An output seen once is an answer, and a literal for it would make a lookup table; one that
    several different inputs share is the value a condition chooses. Not when every output is
    it (that ignores the inputs), nor when it is simply copied from those examples' inputs.
    """
    counts: dict[str, int] = {}
    for o in outs:
        counts[o] = counts.get(o, 0) + 1
    labels = [
        o
        for o, k in counts.items()
        if o
        and 2 <= k < len(outs)
        and len(o) <= 20
        and not all(any(o in x for x in ins) for ins, out in zip(per_example_inputs, outs, strict=True) if out == o)
    ]
    return sorted(labels, key=lambda o: (-counts[o], o))[:3]


def _shared_by_some(outs: Sequence[str], per_example_inputs: Sequence[Sequence[str]], known: set[str]) -> list[str]:
    """Literals that part of the outputs share: a branch's own text (' PM' where others say ' AM').

    Only with enough examples for a part to be more than one example, and only pieces with a
    space or punctuation in them that the inputs of those examples do not hold already.
    """
    if len(outs) < 4:
        return []
    head = list(outs[:12])  # pairs grow quadratically; a dozen outputs show the pattern
    found: set[str] = set()
    for i in range(len(head)):
        for j in range(i + 1, len(head)):
            found.update(c for c in _common_substrings([head[i], head[j]], 24)[:3] if len(c) >= 2 and _has_punct(c))
    scored = []
    for c in found - known:
        having = [k for k, o in enumerate(outs) if c in o]
        if 2 <= len(having) < len(outs) and c not in outs and not all(
            any(c in x for x in per_example_inputs[k]) for k in having
        ):
            scored.append((-len(having) * len(c), c))
    return [c for _, c in sorted(scored)[:4]]


def _has_punct(s: str) -> bool:
    return any(not c.isalnum() for c in s)


def string_constants(prob: Problem, opts: SynthOptions) -> list[str]:
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
        consts.extend(_labels(outs, per_example_inputs))
        consts.extend(_shared_by_some(outs, per_example_inputs, set(mined)))
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


def int_constants(prob: Problem) -> list[int]:
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
