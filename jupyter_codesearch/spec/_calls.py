"""Calls with literal arguments, read out of a spec's tests: the one reader of them.

``name(<literals>)`` is read the same way for everyone who needs the tests' inputs: the offline
synthesizer's examples, the probes mutated from the tests' arguments, and the evaluator's plan
(the calls known before any candidate runs). Nothing is evaluated: values come from
``ast.literal_eval``.

The keyword rule: a keyword argument must name the stub's parameter that comes next after the
arguments before it (``f(1, b=2)`` for ``def f(a, b)``), so the call is also the positional
call ``f(1, 2)``; ``*args`` and ``**kwargs`` are never literal.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeGuard

from ._spec import Item, Spec

__all__ = ["CallExample", "LiteralCall", "calls_name", "literal_call", "literal_calls", "planned_calls"]

_LITERAL_ERRORS = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)
"""What ``ast.literal_eval`` raises for something that is not a literal (or an absurd one)."""


@dataclass(frozen=True)
class CallExample:
    """``name(*args) == expected`` stated outside the asserts: a docstring example, or a test
    case a model wrote. ``source`` is how it reads, for messages and probes' origins."""

    args: tuple[Any, ...]
    expected: Any
    source: str


@dataclass(frozen=True)
class LiteralCall:
    """A call of the function with literal arguments, as values."""

    args: tuple[Any, ...]
    """Positional arguments, as written."""
    kwargs: tuple[tuple[str, Any], ...]
    """Keyword arguments, as written, in order."""

    @property
    def positional(self) -> tuple[Any, ...]:
        """The same call with every argument positional (the keyword rule makes that exact)."""
        return (*self.args, *(v for _, v in self.kwargs))


def calls_name(node: ast.AST, name: str) -> TypeGuard[ast.Call]:
    """``node`` is a call of ``name`` (literal or not)."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def literal_call(node: ast.AST, name: str, params: tuple[str, ...]) -> LiteralCall | None:
    """``node`` as a literal call of ``name``, or ``None`` when it is not one (see the module)."""
    if not calls_name(node, name):
        return None
    try:
        args = tuple(ast.literal_eval(a) for a in node.args)
        kwargs: list[tuple[str, Any]] = []
        for kw in node.keywords:
            position = len(args) + len(kwargs)
            if kw.arg is None or position >= len(params) or params[position] != kw.arg:
                return None
            kwargs.append((kw.arg, ast.literal_eval(kw.value)))
    except _LITERAL_ERRORS:
        return None
    return LiteralCall(args, tuple(kwargs))


def literal_calls(spec: Spec, items: Iterable[Item]) -> list[LiteralCall]:
    """Every literal call of the function anywhere in ``items`` (nested ones too), in order."""
    found: list[LiteralCall] = []
    for item in items:
        try:
            tree = ast.parse(item.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            call = literal_call(node, spec.name, spec.stub.params)
            if call is not None:
                found.append(call)
    return found


def planned_calls(spec: Spec) -> tuple[LiteralCall, ...] | None:
    """The calls the tests will make, in order, when that is certain before running them.

    Only when every test is ``assert name(<literals>) ...`` with the call evaluated first and
    nothing else mentioning ``name``, and no setup touches it: then each test makes exactly that
    call, in order, whatever the candidate does, so its answers can be computed up front.
    """
    calls: list[LiteralCall] = []
    for item in spec.items:
        if item.kind == "score":
            continue  # called once the tests have passed, not a test's planned call
        try:
            node = ast.parse(item.source).body[0]
        except (SyntaxError, IndexError):
            return None
        uses = sum(isinstance(n, ast.Name) and n.id == spec.name for n in ast.walk(node))
        if item.kind == "setup":
            if uses:
                return None
            continue
        if not isinstance(node, ast.Assert) or uses != 1:
            return None
        head = node.test
        if isinstance(head, ast.Compare):
            head = head.left
        elif isinstance(head, ast.UnaryOp) and isinstance(head.op, ast.Not):
            head = head.operand
        call = literal_call(head, spec.name, spec.stub.params)
        if call is None:
            return None
        calls.append(call)
    return tuple(calls) or None
