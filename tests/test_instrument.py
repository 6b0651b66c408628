"""Asserts rewritten to record what they compared, and the fast checks of planned specs."""

from __future__ import annotations

import ast
import traceback
from typing import Any

import pytest

from jupyter_codesearch.execute._instrument import (
    CMP_NAME,
    TRUTH_NAME,
    compile_item,
    fast_check,
    record_cmp,
    record_truth,
)


class Run:
    """Stands for a candidate's run: answers every call with ``answer``."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.seen: dict[str, Any] = {}
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.calls.append((args, kwargs))
        return self.answer


def run_test(source: str, answer: Any, line: int = 1) -> tuple[bool, dict[str, Any]]:
    """Run one instrumented test with ``f`` answering ``answer``: (passed, what it saw)."""
    run = Run(answer)
    ns: dict[str, Any] = {
        "f": lambda *a, **k: run.call(a, k),
        CMP_NAME: lambda a, b, op, got_left: record_cmp(run, a, b, op, got_left),
        TRUTH_NAME: lambda v, negate: record_truth(run, v, negate),
    }
    try:
        exec(compile_item(source, line, "f"), ns)
    except AssertionError:
        return False, run.seen
    return True, run.seen


def test_an_equality_records_got_and_expected() -> None:
    assert run_test("assert f(1) == 3", 2) == (False, {"got": "2", "expected": "3"})
    assert run_test("assert f(1) == 3", 3) == (True, {"got": "3", "expected": "3"})


def test_got_is_the_side_that_calls_the_function_whichever_it_is() -> None:
    assert run_test("assert 'b' == f('a')", "a") == (False, {"got": "'a'", "expected": "'b'"})


def test_other_comparisons_show_the_operator_with_the_expected_value() -> None:
    assert run_test("assert f(1) < 2", 5) == (False, {"got": "5", "expected": "< 2"})
    assert run_test("assert f(1) not in (1, 2)", 2) == (False, {"got": "2", "expected": "not in (1, 2)"})
    assert run_test("assert f(1) is None", None)[0]


def test_a_plain_or_negated_truth_test_records_the_value() -> None:
    assert run_test("assert f(1)", 0) == (False, {"got": "0", "expected": "a true value"})
    assert run_test("assert not f(1)", []) == (True, {"got": "[]", "expected": "a false value"})


def test_asserts_not_about_the_function_and_chained_comparisons_run_as_written() -> None:
    assert run_test("assert 1 < 2 < 3", None) == (True, {})
    assert run_test("assert isinstance(3, int)", None) == (True, {})


def test_compiled_tests_keep_the_cells_line_numbers() -> None:
    with pytest.raises(ZeroDivisionError) as e:
        exec(compile_item("x = 1\nassert f(1) == 1 / 0", 41, "f"), {"f": lambda x: x, CMP_NAME: record_cmp})
    assert traceback.extract_tb(e.value.__traceback__)[-1].lineno == 42


def check(test: str, ns: dict[str, Any] | None = None) -> Any:
    node = ast.parse(test).body[0]
    assert isinstance(node, ast.Assert)
    return fast_check(node.test, ns if ns is not None else {})


def test_a_fast_check_compares_the_next_answer_with_a_value_computed_once() -> None:
    ns: dict[str, Any] = {"y": [1, 2]}
    compare = check("assert f(9) == y + [3]", ns)
    ns["y"] = ["changed"]  # computed when the check was made, not per candidate
    run = Run([1, 2, 3])
    compare(run)
    assert run.calls == [((), {})]  # the arguments are planned: the check asks for the next answer
    assert run.seen == {"got": "[1, 2, 3]", "expected": "[1, 2, 3]"}
    with pytest.raises(AssertionError):
        compare(Run([0]))


def test_fast_checks_of_truth_and_order() -> None:
    check("assert f(1)")(Run(1))
    with pytest.raises(AssertionError):
        check("assert not f(1)")(Run(1))
    run = Run(7)
    with pytest.raises(AssertionError):
        check("assert f(1) >= 8")(run)
    assert run.seen == {"got": "7", "expected": ">= 8"}


def test_a_chained_comparison_has_no_fast_check() -> None:
    with pytest.raises(ValueError, match="chained"):
        check("assert 0 < f(1) < 3")
