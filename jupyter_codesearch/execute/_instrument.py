"""Tests made to say what they saw: asserts rewritten to record got vs expected, and the fast
checks planned specs use instead of running each test's code per candidate.

Runs on the trusted side only (the tests never reach a candidate). Shipped into the kernel as
source: standard library only.
"""

from __future__ import annotations

import ast
import operator
import types
from collections.abc import Callable
from typing import Any, Protocol

from ._shown import short

__all__ = ["CMP_NAME", "TRUTH_NAME", "Check", "Recorder", "compile_item", "fast_check", "record_cmp", "record_truth"]

CMP_NAME = "__cs_cmp__"
"""Name the rewritten ``assert A <op> B`` calls in the tests' namespace (:func:`record_cmp`)."""
TRUTH_NAME = "__cs_truth__"
"""Name the rewritten ``assert f(...)`` / ``assert not f(...)`` calls (:func:`record_truth`)."""

_CMP: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne), ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le), ast.Gt: (">", operator.gt), ast.GtE: (">=", operator.ge),
    ast.Is: ("is", operator.is_), ast.IsNot: ("is not", operator.is_not),
    ast.In: ("in", lambda a, b: a in b), ast.NotIn: ("not in", lambda a, b: a not in b),
}
_OPS = list(_CMP.values())


class Recorder(Protocol):
    """What a test records into and calls through: one candidate's run (``_candidate.Trial``)."""

    seen: dict[str, Any]

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...


Check = Callable[[Recorder], None]
"""A planned test as a check of the candidate's next answer (see :func:`fast_check`)."""


class _Instrument(ast.NodeTransformer):
    """Rewrite ``assert A <op> B`` so the values compared are recorded (got vs expected)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _mentions(self, node: ast.AST) -> bool:
        return any(isinstance(n, ast.Name) and n.id == self.name for n in ast.walk(node))

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        t = node.test
        if isinstance(t, ast.Compare) and len(t.ops) == 1 and type(t.ops[0]) in _CMP:
            a, b = t.left, t.comparators[0]
            got_left = self._mentions(a) or not self._mentions(b)
            op_index = list(_CMP).index(type(t.ops[0]))
            call = ast.Call(
                ast.Name(CMP_NAME, ast.Load()),
                [a, b, ast.Constant(op_index), ast.Constant(got_left)], [],
            )
            node.test = ast.copy_location(call, t)
        elif self._mentions(t):
            negate = isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not)
            inner = t.operand if isinstance(t, ast.UnaryOp) and negate else t
            call = ast.Call(ast.Name(TRUTH_NAME, ast.Load()), [inner, ast.Constant(negate)], [])
            node.test = ast.copy_location(call, t)
        return node


def compile_item(source: str, line: int, name: str) -> types.CodeType:
    """Compile one test or setup statement, instrumented, with the cell's line numbers."""
    tree = ast.parse(source)
    tree = _Instrument(name).visit(tree)
    ast.increment_lineno(tree, line - 1)
    ast.fix_missing_locations(tree)
    return compile(tree, "<cell>", "exec")


def record_cmp(trial: Recorder, a: Any, b: Any, op: int, got_left: bool) -> Any:
    """``a <op> b``, noting which side is the candidate's (got) and what it was compared with."""
    symbol, fn = _OPS[op]
    got, other = (a, b) if got_left else (b, a)
    trial.seen = {"got": short(got), "expected": short(other) if symbol == "==" else f"{symbol} {short(other)}"}
    return fn(a, b)


def record_truth(trial: Recorder, value: Any, negate: bool) -> Any:
    """``value`` (or ``not value``), noting it as got."""
    trial.seen = {"got": short(value), "expected": "a false value" if negate else "a true value"}
    return (not value) if negate else value


def fast_check(test: ast.expr, ns: dict[str, Any]) -> Check:
    """``assert f(...) <op> <expr>`` / ``assert f(...)`` / ``assert not f(...)`` as a check of the
    next planned answer, with ``<expr>`` evaluated now, once, in ``ns``."""
    if isinstance(test, ast.Compare):
        if len(test.ops) != 1:
            raise ValueError("chained comparison")
        symbol, fn = _CMP[type(test.ops[0])]
        expected = eval(compile(ast.Expression(test.comparators[0]), "<cell>", "eval"), ns)
        shown = short(expected) if symbol == "==" else f"{symbol} {short(expected)}"

        def compare(trial: Recorder) -> None:
            got = trial.call((), {})
            trial.seen = {"got": short(got), "expected": shown}
            if not fn(got, expected):
                raise AssertionError

        return compare
    negate = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)

    def truth(trial: Recorder) -> None:
        got = trial.call((), {})
        trial.seen = {"got": short(got), "expected": "a false value" if negate else "a true value"}
        if bool(got) == negate:
            raise AssertionError

    return truth
