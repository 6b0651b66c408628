"""The synthesizer's vocabulary: value types, operations and how they print as Python.

Every value the enumerator handles is a *vector*: a tuple with one entry per example (or per list
element, inside a comprehension body). Operations are applied to whole vectors at once, so the
per-candidate cost is one ``tuple(map(...))`` call, mostly in C. Lists are held as tuples so vectors
stay hashable for observational-equivalence dedupe; they print (and behave, for every operation
here) as lists.

An operation that raises on any example simply produces no value; guards below turn the few
operations that could blow up (string repeat, multiplication) into such exceptions.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "BOOL",
    "FLOAT",
    "INT",
    "LFLOAT",
    "LINT",
    "LIST_OF",
    "LSTR",
    "NOT_OP",
    "OPS",
    "PREC_ATOM",
    "PREC_COND",
    "PREC_UNARY",
    "STR",
    "Names",
    "Op",
]

STR = "str"
INT = "int"
FLOAT = "float"
BOOL = "bool"
LSTR = "list[str]"
LINT = "list[int]"
LFLOAT = "list[float]"
LIST_OF = {STR: LSTR, INT: LINT, FLOAT: LFLOAT}

# Python operator precedence, coarse: a child is parenthesised when its level is below what the
# parent's slot needs.
PREC_COND = 10
PREC_OR = 20
PREC_AND = 25
PREC_NOT = 30
PREC_CMP = 50
PREC_ADD = 70
PREC_MUL = 80
PREC_UNARY = 85
PREC_ATOM = 100

# Repeats and products are the only ways a value can grow fast; beyond these it is not a value.
_MAX_REPEAT = 64
_MAX_STR = 10_000
_MAX_INT = 10**12


@dataclass(frozen=True)
class Names:
    """Variable names used inside generated comprehensions, chosen not to shadow parameters."""

    elem: str = "x"
    char: str = "c"


Rendered = tuple[str, int]


@dataclass(frozen=True)
class Op:
    """One operation: its signature, vectorised evaluator and source template.

    ``elem`` computes one example's result (the enumerator maps it over whole vectors). ``tmpl``
    is a ``str.format`` template over the argument sources ``{0}..{n}`` plus ``{x}``/``{c}`` for
    comprehension variables; ``need[i]`` is the precedence argument ``i`` must have to go in
    unparenthesised. ``comm`` marks commutative operations so each unordered pair is tried once.
    """

    name: str
    args: tuple[str, ...]
    ret: str
    elem: Callable[..., object]
    tmpl: str
    prec: int = PREC_ATOM
    need: tuple[int, ...] = ()
    weight: int = 1
    imports: tuple[str, ...] = ()
    comm: bool = False
    numeric: bool = False  # arithmetic that only number tasks need (kept out of string tasks)
    const_arg: bool = False  # the last argument must be the same on every example
    logic: bool = False  # and/or/not: only where the answer itself is a truth value
    digits: bool = False  # a number format: only where the examples hold digits
    sep: int = -1  # the argument that is a separator or needle: a plain name or literal in sane code

    def render(self, args: Sequence[Rendered], names: Names) -> Rendered:
        """Source for this operation applied to already-rendered arguments."""
        parts = []
        for i, (src, prec) in enumerate(args):
            want = self.need[i] if i < len(self.need) else 0
            parts.append(f"({src})" if prec < want else src)
        return self.tmpl.format(*parts, x=names.elem, c=names.char), self.prec


# ---------------------------------------------------------------------------------------------
# element-wise helpers (plain functions; each raises on inputs where the op is undefined)


def _repeat(s: str, n: int) -> str:
    if n < 0 or n > _MAX_REPEAT or len(s) * n > _MAX_STR:
        raise ValueError("repeat too large")
    return s * n


def _mul(a: int, b: int) -> int:
    r = a * b
    if -_MAX_INT <= r <= _MAX_INT:
        return r
    raise OverflowError("product too large")


def _to_int(s: str) -> int:
    # Only plain digit strings: int() would also take ' 7', '1_0' and '+3', which no user means.
    if not s or len(s) > 12 or not (s.isdigit() or (s[0] == "-" and s[1:].isdigit())):
        raise ValueError("not an integer literal")
    return int(s)


def _find_from(s: str, sub: str, start: int) -> int:
    return s.find(sub, start)


def _strip_chars(s: str, chars: str) -> str:
    if not chars:
        raise ValueError("empty strip set")
    return s.strip(chars)


_NON_DIGIT = re.compile(r"\D")
_NON_LETTER = re.compile(r"[\W\d_]")
_DIGIT = re.compile(r"\d")


# Regex forms of the printed ``''.join(c for c in s if ...)`` filters, for speed; a rare Unicode
# character where they differ is caught when the printed program is re-checked.
def _digits(s: str) -> str:
    return _NON_DIGIT.sub("", s)


def _letters(s: str) -> str:
    return _NON_LETTER.sub("", s)


def _no_digits(s: str) -> str:
    return _DIGIT.sub("", s)


def _before_first(s: str, sep: str) -> str:
    return s.split(sep)[0]


def _after_last(s: str, sep: str) -> str:
    return s.split(sep)[-1]


def _after_first(s: str, sep: str) -> str:
    return s.partition(sep)[2]


def _before_last(s: str, sep: str) -> str:
    return s.rpartition(sep)[0]


def _split(s: str, sep: str) -> tuple[str, ...]:
    return tuple(s.split(sep))


def _split_ws(s: str) -> tuple[str, ...]:
    return tuple(s.split())


def _collapse(s: str) -> str:
    return " ".join(s.split())


def _join(sep: str, items: tuple[str, ...]) -> str:
    if len(sep) * len(items) > max(_MAX_STR, sum(map(len, items))):
        raise ValueError("join too large")
    return sep.join(items)


def _index(seq: Sequence[object], i: int) -> object:
    return seq[i]


def _prefix(seq: Sequence[object], i: int) -> Sequence[object]:
    return seq[:i]


def _suffix(seq: Sequence[object], i: int) -> Sequence[object]:
    return seq[i:]


def _mid(seq: Sequence[object], i: int, j: int) -> Sequence[object]:
    return seq[i:j]


def _reverse(seq: Sequence[object]) -> Sequence[object]:
    return seq[::-1]


def _sorted(seq: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(sorted(seq))  # type: ignore[type-var]


def _nonempty(seq: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(filter(None, seq))


def _first_containing(items: tuple[str, ...], sub: str) -> str:
    # never let StopIteration out of an element function: inside map() it would silently end
    # the vector early
    if sub:
        for x in items:
            if sub in x:
                return x
    raise ValueError("no item contains it")


def _replace(s: str, old: str, new: str) -> str:
    # replacing every space of a long text by that text is quadratic: refuse big growth up front
    if len(new) > len(old) and s.count(old) * (len(new) - len(old)) > max(_MAX_STR, len(s)):
        raise ValueError("replacement too large")
    return s.replace(old, new)


def _replace1(s: str, old: str, new: str) -> str:
    return s.replace(old, new, 1)


def _or(a: str, b: str) -> str:
    return a or b


def _findall(pattern: str) -> Callable[[str], tuple[str, ...]]:
    rx = re.compile(pattern)

    def run(s: str) -> tuple[str, ...]:
        return tuple(rx.findall(s))

    return run


def _floordiv(a: int, b: int) -> int:
    return a // b


def _round(a: float, n: int) -> float:
    if not -6 <= n <= 12:
        raise ValueError("unreasonable rounding")
    return round(a, n)


def _not(a: bool) -> bool:
    return not a


def _and(a: bool, b: bool) -> bool:
    return a and b


def _or_b(a: bool, b: bool) -> bool:
    return a or b


NOT_OP = Op("not", (BOOL,), BOOL, _not, "not {0}", PREC_NOT, (PREC_NOT,), logic=True)

A = PREC_ATOM


def _ops() -> list[Op]:
    S, I, B, F = STR, INT, BOOL, FLOAT  # noqa: E741 -- short type names keep the table readable
    ops: list[Op] = []

    def add(
        name: str,
        args: tuple[str, ...],
        ret: str,
        f: Callable[..., object],
        tmpl: str,
        prec: int = A,
        need: tuple[int, ...] = (),
        **kw: object,
    ) -> None:
        ops.append(Op(name, args, ret, f, tmpl, prec, need, **kw))  # type: ignore[arg-type]

    # -- strings -------------------------------------------------------------------------------
    # concatenation is associative, so a + (b + c) prints without the parentheses
    add("concat", (S, S), S, operator.add, "{0} + {1}", PREC_ADD, (PREC_ADD, PREC_ADD))
    add("before_first", (S, S), S, _before_first, "{0}.split({1})[0]", need=(A,), sep=1)
    add("after_last", (S, S), S, _after_last, "{0}.split({1})[-1]", need=(A,), sep=1)
    add("after_first", (S, S), S, _after_first, "{0}.partition({1})[2]", need=(A,), sep=1)
    add("before_last", (S, S), S, _before_last, "{0}.rpartition({1})[0]", need=(A,), sep=1)
    add("prefix", (S, I), S, _prefix, "{0}[:{1}]", need=(A,))
    add("suffix", (S, I), S, _suffix, "{0}[{1}:]", need=(A,))
    add("char_at", (S, I), S, _index, "{0}[{1}]", need=(A,))
    add("strip", (S,), S, str.strip, "{0}.strip()", need=(A,))
    add("lower", (S,), S, str.lower, "{0}.lower()", need=(A,))
    add("upper", (S,), S, str.upper, "{0}.upper()", need=(A,))
    add("title", (S,), S, str.title, "{0}.title()", need=(A,))
    add("capitalize", (S,), S, str.capitalize, "{0}.capitalize()", need=(A,))
    add("collapse_ws", (S,), S, _collapse, "' '.join({0}.split())", need=(A,))
    add("reverse_str", (S,), S, _reverse, "{0}[::-1]", need=(A,), weight=2)
    add("digits", (S,), S, _digits, "''.join({c} for {c} in {0} if {c}.isdigit())", need=(A,))
    add("letters", (S,), S, _letters, "''.join({c} for {c} in {0} if {c}.isalpha())", need=(A,))
    add(
        "no_digits",
        (S,),
        S,
        _no_digits,
        "''.join({c} for {c} in {0} if not {c}.isdigit())",
        need=(A,),
    )
    add("replace", (S, S, S), S, _replace, "{0}.replace({1}, {2})", need=(A,), sep=1)
    add("replace1", (S, S, S), S, _replace1, "{0}.replace({1}, {2}, 1)", need=(A,), sep=1)
    add("mid", (S, I, I), S, _mid, "{0}[{1}:{2}]", need=(A,))
    # a character set is a literal in any sensible program; a computed one only fits by accident
    add("strip_chars", (S, S), S, _strip_chars, "{0}.strip({1})", need=(A,), const_arg=True)
    add("repeat", (S, I), S, _repeat, "{0} * {1}", PREC_MUL, (PREC_MUL, PREC_MUL + 1), weight=2)
    add("or", (S, S), S, _or, "{0} or {1}", PREC_OR, (PREC_OR + 1, PREC_OR + 1))
    add("str_int", (I,), S, str, "str({0})")
    add("join", (S, LSTR), S, _join, "{0}.join({1})", need=(A,), sep=0)
    add("index_ls", (LSTR, I), S, _index, "{0}[{1}]", need=(A,))
    # "the word that contains '@'": FlashFill's select-by-content, as a filtered comprehension
    add(
        "first_containing",
        (LSTR, S),
        S,
        _first_containing,
        "[{x} for {x} in {0} if {1} in {x}][0]",
        need=(PREC_COND + 1, PREC_CMP + 1), sep=1)

    # -- integers ------------------------------------------------------------------------------
    add("len_s", (S,), I, len, "len({0})")
    add("find", (S, S), I, str.find, "{0}.find({1})", need=(A,), sep=1)
    add("rfind", (S, S), I, str.rfind, "{0}.rfind({1})", need=(A,), sep=1)
    add("count", (S, S), I, str.count, "{0}.count({1})", need=(A,), sep=1)
    add("find_from", (S, S, I), I, _find_from, "{0}.find({1}, {2})", need=(A,), sep=1)
    add("int_s", (S,), I, _to_int, "int({0})")
    add("add", (I, I), I, operator.add, "{0} + {1}", PREC_ADD, (PREC_ADD, PREC_ADD), comm=True)
    add("sub", (I, I), I, operator.sub, "{0} - {1}", PREC_ADD, (PREC_ADD, PREC_ADD + 1))
    add("mul", (I, I), I, _mul, "{0} * {1}", PREC_MUL, (PREC_MUL, PREC_MUL), comm=True, numeric=True)
    add(
        "floordiv",
        (I, I),
        I,
        _floordiv,
        "{0} // {1}",
        PREC_MUL,
        (PREC_MUL, PREC_MUL + 1),
        numeric=True,
    )
    add(
        "mod",
        (I, I),
        I,
        operator.mod,
        "{0} % {1}",
        PREC_MUL,
        (PREC_MUL, PREC_MUL + 1),
        numeric=True,
    )
    add("neg", (I,), I, operator.neg, "-{0}", PREC_UNARY, (PREC_UNARY,))
    add("abs", (I,), I, abs, "abs({0})", numeric=True)
    add("min", (I, I), I, min, "min({0}, {1})", comm=True)
    add("max", (I, I), I, max, "max({0}, {1})", comm=True)

    # -- floats --------------------------------------------------------------------------------
    add("fadd", (F, F), F, operator.add, "{0} + {1}", PREC_ADD, (PREC_ADD, PREC_ADD), comm=True)
    add("fsub", (F, F), F, operator.sub, "{0} - {1}", PREC_ADD, (PREC_ADD, PREC_ADD + 1))
    add("fmul", (F, F), F, operator.mul, "{0} * {1}", PREC_MUL, (PREC_MUL, PREC_MUL), comm=True)
    add("fdiv", (F, F), F, operator.truediv, "{0} / {1}", PREC_MUL, (PREC_MUL, PREC_MUL + 1))
    add("fabs", (F,), F, abs, "abs({0})")
    add("fround", (F, I), F, _round, "round({0}, {1})")
    add("fmin", (F, F), F, min, "min({0}, {1})", comm=True)
    add("fmax", (F, F), F, max, "max({0}, {1})", comm=True)
    add("float_int", (I,), F, float, "float({0})")
    add("round_int", (F,), I, round, "round({0})")

    # -- predicates ----------------------------------------------------------------------------
    cmp = (PREC_CMP + 1, PREC_CMP + 1)
    add("eq_s", (S, S), B, operator.eq, "{0} == {1}", PREC_CMP, cmp, comm=True)
    add("in_s", (S, S), B, operator.contains, "{1} in {0}", PREC_CMP, cmp, sep=1)
    add("startswith", (S, S), B, str.startswith, "{0}.startswith({1})", need=(A,), sep=1)
    add("endswith", (S, S), B, str.endswith, "{0}.endswith({1})", need=(A,), sep=1)
    add("isdigit", (S,), B, str.isdigit, "{0}.isdigit()", need=(A,))
    add("isalpha", (S,), B, str.isalpha, "{0}.isalpha()", need=(A,))
    add("isupper", (S,), B, str.isupper, "{0}.isupper()", need=(A,))
    add("islower", (S,), B, str.islower, "{0}.islower()", need=(A,))
    add("eq_i", (I, I), B, operator.eq, "{0} == {1}", PREC_CMP, cmp, comm=True)
    add("lt", (I, I), B, operator.lt, "{0} < {1}", PREC_CMP, cmp)
    add("le", (I, I), B, operator.le, "{0} <= {1}", PREC_CMP, cmp)
    add("flt", (F, F), B, operator.lt, "{0} < {1}", PREC_CMP, cmp)
    add("fle", (F, F), B, operator.le, "{0} <= {1}", PREC_CMP, cmp)
    add("isalnum", (S,), B, str.isalnum, "{0}.isalnum()", need=(A,))
    add("isspace", (S,), B, str.isspace, "{0}.isspace()", need=(A,))
    add("istitle", (S,), B, str.istitle, "{0}.istitle()", need=(A,))
    # combinations: a truth-valued answer is often two tests joined (not for conditions, where
    # a second branch does the same job for less)
    ops.append(NOT_OP)
    add("and", (B, B), B, _and, "{0} and {1}", PREC_AND, (PREC_AND, PREC_AND + 1), comm=True, logic=True, weight=0)
    add("or_b", (B, B), B, _or_b, "{0} or {1}", PREC_OR, (PREC_OR, PREC_OR + 1), comm=True, logic=True, weight=0)

    # -- lists ---------------------------------------------------------------------------------
    add("split", (S, S), LSTR, _split, "{0}.split({1})", need=(A,), sep=1)
    add("split_ws", (S,), LSTR, _split_ws, "{0}.split()", need=(A,))
    for label, pattern in (
        ("numbers", r"\d+"),
        ("words", r"[A-Za-z]+"),
        ("tokens", r"\w+"),
    ):
        add(
            f"findall_{label}",
            (S,),
            LSTR,
            _findall(pattern),
            "re.findall(r'" + pattern + "', {0})",
            imports=("re",),
        )
    add("nonempty", (LSTR,), LSTR, _nonempty, "[{x} for {x} in {0} if {x}]")
    for lt, et in ((LSTR, S), (LINT, I), (LFLOAT, F)):
        sfx = lt.replace("list[", "").rstrip("]")
        add(f"len_{sfx}l", (lt,), I, len, "len({0})")
        add(f"prefix_{sfx}l", (lt, I), lt, _prefix, "{0}[:{1}]", need=(A,))
        add(f"suffix_{sfx}l", (lt, I), lt, _suffix, "{0}[{1}:]", need=(A,))
        add(f"mid_{sfx}l", (lt, I, I), lt, _mid, "{0}[{1}:{2}]", need=(A,), weight=2)
        add(f"reverse_{sfx}l", (lt,), lt, _reverse, "{0}[::-1]", need=(A,))
        add(f"sorted_{sfx}l", (lt,), lt, _sorted, "sorted({0})", weight=2 if et == S else 1)
        add(
            f"concat_{sfx}l",
            (lt, lt),
            lt,
            operator.add,
            "{0} + {1}",
            PREC_ADD,
            (PREC_ADD, PREC_ADD),
            weight=2,
        )
        add(f"in_{sfx}l", (lt, et), B, operator.contains, "{1} in {0}", PREC_CMP, cmp)
        add(f"count_{sfx}l", (lt, et), I, operator.countOf, "{0}.count({1})", need=(A,))
        if et != S:
            add(f"index_{sfx}l", (lt, I), et, _index, "{0}[{1}]", need=(A,))
            add(f"sum_{sfx}l", (lt,), et, sum, "sum({0})")
            add(f"min_{sfx}l", (lt,), et, min, "min({0})")
            add(f"max_{sfx}l", (lt,), et, max, "max({0})")
    return ops


OPS: tuple[Op, ...] = tuple(_ops())
