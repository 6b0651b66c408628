"""Input/output examples read from a spec's visible asserts, for the offline synthesizer."""

from __future__ import annotations

import ast
from typing import Any

from ..spec import Spec, calls_name, literal_call

__all__ = ["examples_from_spec"]


def examples_from_spec(spec: Spec) -> tuple[list[tuple[tuple[Any, ...], Any]], str | None]:
    """``([(args, expected), ...], why_not)`` from ``assert f(<literals>) == <literal>`` tests.

    Only visible tests are used: hidden ones stay out of everything that proposes candidates,
    so they keep checking what the examples did not say. Values must be literals; nothing is
    evaluated (the call is read by ``spec.literal_call``, keywords as positions). ``why_not``
    says in one line why there are no examples.
    """
    name = spec.name
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
            if calls_name(call, name):
                example = _example(spec, call, other)
                if example is not None:
                    found.append(example)
                break
    if found:
        return found, None
    if not spec.visible_tests:
        return [], "every test is hidden, so there are no examples to learn from"
    if _uses_data_libraries(spec.setup_context):
        return [], "it does not handle data values (numpy arrays, pandas frames); a model does"
    return [], f"no test has the form `assert {name}(<values>) == <value>` with literal values"


def _uses_data_libraries(context: str) -> bool:
    """The cell's context imports numpy or pandas: its tests are about data values."""
    try:
        tree = ast.parse(context)
    except SyntaxError:
        return False
    roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    roots |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return bool(roots & {"numpy", "pandas"})


def _example(spec: Spec, call: ast.Call, expected: ast.expr) -> tuple[tuple[Any, ...], Any] | None:
    read = literal_call(call, spec.name, spec.stub.params)
    if read is None:
        return None
    try:
        return read.positional, ast.literal_eval(expected)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
