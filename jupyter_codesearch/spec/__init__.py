"""Spec: what a ``%%search`` cell asks for (stage 1 of the pipeline)."""

from __future__ import annotations

from ._calls import CallExample, LiteralCall, calls_name, literal_call, literal_calls, planned_calls
from ._examples_doc import docstring_examples
from ._spec import Item, Spec, Stub, score

__all__ = [
    "CallExample", "Item", "LiteralCall", "Spec", "Stub", "calls_name", "docstring_examples", "literal_call",
    "literal_calls", "planned_calls", "score",
]
