"""Tests made to say what they saw: asserts rewritten to record got vs expected, and the fast
checks planned specs use instead of running each test's code per candidate.

Runs on the trusted side only (the tests never reach a candidate). Shipped into the kernel as
source: standard library only.
"""

from __future__ import annotations

import ast
import operator
import sys
import types
from collections.abc import Callable
from typing import Any, Protocol

from ._shown import short

__all__ = [
    "CMP_NAME", "SEEN_NAME", "TRUTH_NAME", "Check", "Recorder", "compile_item", "differences", "fast_check",
    "record_cmp", "record_seen", "record_truth",
]

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
SEEN_NAME = "__cs_seen__"
"""Name the data idioms' operands are wrapped in (:func:`record_seen`): ``f(df).equals(e)``,
``(f(a) == b).all()``, ``np.allclose(f(a), b)``, ``pd.testing.assert_frame_equal(f(df), e)``."""
_PAIRS = {"equals", "array_equal", "array_equiv", "allclose", "isclose"}
"""Called with (got, expected), as method (``got.equals(expected)``) or function (two arguments)."""
_REDUCED = {"all", "any"}
"""Reductions of an elementwise comparison: ``(got == expected).all()``, ``np.all(got == expected)``."""


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

    def _seen(self, got: ast.expr, expected: ast.expr) -> tuple[ast.expr, ast.expr]:
        """The two operands wrapped so their values are recorded; the candidate's is the one
        mentioning the function (the left one if neither or both do)."""
        got_left = self._mentions(got) or not self._mentions(expected)
        roles = ("got", "expected") if got_left else ("expected", "got")
        return tuple(  # type: ignore[return-value]
            ast.copy_location(ast.Call(ast.Name(SEEN_NAME, ast.Load()), [e, ast.Constant(r)], []), e)
            for e, r in zip((got, expected), roles, strict=True))

    def _data_idiom(self, t: ast.expr) -> None:
        """Record the operands of ``got.equals(e)``, ``np.allclose(got, e)``, ``(got == e).all()``."""
        if not isinstance(t, ast.Call):
            return
        func = t.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if called in _PAIRS and isinstance(func, ast.Attribute) and len(t.args) == 1 and self._mentions(func.value):
            func.value, t.args[0] = self._seen(func.value, t.args[0])
        elif called in _PAIRS and len(t.args) >= 2:
            t.args[0], t.args[1] = self._seen(t.args[0], t.args[1])
        elif called in _REDUCED:
            inner = func.value if isinstance(func, ast.Attribute) and not t.args else t.args[0] if t.args else None
            if isinstance(inner, ast.Compare) and len(inner.ops) == 1:
                inner.left, inner.comparators[0] = self._seen(inner.left, inner.comparators[0])

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        """A top-level ``assert_*(got, expected, ...)`` call: its operands recorded."""
        call = node.value
        if isinstance(call, ast.Call) and len(call.args) >= 2:
            func = call.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called.startswith("assert_"):
                call.args[0], call.args[1] = self._seen(call.args[0], call.args[1])
        return node

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        t = node.test
        self._data_idiom(t.operand if isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not) else t)
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
    """``value`` (or ``not value``), noting it as got (unless its operands were recorded)."""
    if "got" not in trial.seen:
        trial.seen = {"got": short(value), "expected": "a false value" if negate else "a true value"}
    return (not value) if negate else value


def record_seen(trial: Recorder, value: Any, role: str) -> Any:
    """``value`` unchanged, noted as the test's ``got`` or ``expected`` (a data idiom's operand)."""
    trial.seen[role] = shown(value)
    trial.seen["_" + role] = value
    return value


def shown(value: Any) -> str:
    """``short(value)``, with a frame's or array's shape and dtypes first: what ``repr`` hides
    (int vs float, object vs str) is often the difference."""
    t = type(value)
    mod = (getattr(t, "__module__", "") or "").split(".")[0]
    head = ""
    if mod == "pandas" and t.__name__ == "DataFrame":
        dtypes = ", ".join(f"{c}: {d}" for c, d in list(value.dtypes.items())[:8])
        head = f"DataFrame {value.shape[0]}x{value.shape[1]} ({dtypes}{', …' if value.shape[1] > 8 else ''})\n"
    elif mod == "pandas" and t.__name__ in ("Series", "Index"):
        head = f"{t.__name__} of {len(value)} {value.dtype}\n"
    elif mod == "numpy" and t.__name__ == "ndarray":
        head = f"array {value.shape} {value.dtype}\n"
    return head + short(value)


def differences(trial: Recorder) -> str | None:
    """Where the recorded got and expected differ, in the data library's own words
    (``pandas.testing``'s or ``numpy.testing``'s assertion message), for frames and arrays."""
    if "_got" not in trial.seen or "_expected" not in trial.seen:
        return None
    got, expected = trial.seen["_got"], trial.seen["_expected"]
    pd, np = sys.modules.get("pandas"), sys.modules.get("numpy")
    try:
        if pd is not None and type(got) is type(expected) and type(got) in (pd.DataFrame, pd.Series):
            check = pd.testing.assert_frame_equal if type(got) is pd.DataFrame else pd.testing.assert_series_equal
            check(got, expected, check_exact=True)
        elif np is not None and type(got) is np.ndarray:
            np.testing.assert_array_equal(got, expected, strict=True)
        else:
            return None
    except AssertionError as e:
        return " ".join(str(e).split())[:500]
    except Exception:  # values the check cannot compare: the test's own failure says enough
        return None
    return None


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
