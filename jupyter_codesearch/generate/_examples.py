"""Input/output examples read from a spec's visible asserts, for the offline synthesizer."""

from __future__ import annotations

import ast
from typing import Any

from ..spec import Spec

__all__ = ["examples_from_spec"]


def examples_from_spec(spec: Spec) -> tuple[list[tuple[tuple[Any, ...], Any]], str | None]:
    """``([(args, expected), ...], why_not)`` from ``assert f(<literals>) == <literal>`` tests.

    Only visible tests are used: hidden ones stay out of everything that proposes candidates,
    so they keep checking what the examples did not say. Values must be literals; nothing is
    evaluated. ``why_not`` says in one line why there are no examples.
    """
    name, params = spec.name, spec.stub.params
    found: list[tuple[tuple[Any, ...], Any]] = []
    for test in spec.visible_tests:
        try:
            node = ast.parse(test.source).body[0]
        except SyntaxError:
            continue
        if not isinstance(node, ast.Assert) or not isinstance(node.test, ast.Compare):
            continue
        cmp = node.test
        if len(cmp.ops) != 1 or not isinstance(cmp.ops[0], ast.Eq):
            continue
        for call, other in ((cmp.left, cmp.comparators[0]), (cmp.comparators[0], cmp.left)):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == name:
                example = _example(call, other, params)
                if example is not None:
                    found.append(example)
                break
    if found:
        return found, None
    if not spec.visible_tests:
        return [], "every test is hidden, so there are no examples to learn from"
    return [], f"no test has the form `assert {name}(<values>) == <value>` with literal values"


def _example(call: ast.Call, expected: ast.expr, params: tuple[str, ...]) -> tuple[tuple[Any, ...], Any] | None:
    try:
        args = [ast.literal_eval(a) for a in call.args]
        for kw in call.keywords:
            if kw.arg is None or kw.arg not in params:
                return None
            if params.index(kw.arg) != len(args):  # only keywords that fill the next position
                return None
            args.append(ast.literal_eval(kw.value))
        return tuple(args), ast.literal_eval(expected)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
