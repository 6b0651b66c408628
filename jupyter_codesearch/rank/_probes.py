"""Probe inputs: extra calls that tell apart candidates the asserts cannot.

Built without running any candidate. In-domain inputs first: the examples of the stub's
docstring and model-written tests (both with the answer they expect, which ranking counts as
evidence, never as a verdict), draws like the tests' own arguments (``_domain``), and edge
cases a model proposes (inputs only). Then type-aware mutations of the tests' literal arguments
and hypothesis draws from the stub's type hints. Every probe is plain data; the set is
deterministic for a given spec and model replies, so reruns cluster alike.
"""

from __future__ import annotations

import ast
import itertools
import json
import typing
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._seams import ProbeOrigin, ProbeSet
from ..execute._codec import Unserializable, canonical, to_tree, value_digest
from ..spec import CallExample, Spec, docstring_examples, literal_calls
from ._domain import domain_draws

__all__ = ["MAX_PROBES", "call_arguments", "from_hints", "from_model_reply", "mutations", "probe_inputs"]

MAX_PROBES = 100
_BIG_INT = 1000  # big enough to matter, small enough that correct code stays fast


def call_arguments(spec: Spec) -> list[tuple[Any, ...]]:
    """Positional argument tuples of every literal call in the tests and setup, nested ones too
    (read by ``spec.literal_calls``: keywords that fill the next parameter count as positions)."""
    return [call.positional for call in literal_calls(spec, spec.items)]


def _variants(v: Any) -> list[Any]:
    """Type-aware neighbours of one value: edge cases of its kind."""
    t = type(v)
    if t is bool:
        return [not v]
    if t is int:
        return [0, 1, -1, -v, v + 1, v - 1, 2 * v, _BIG_INT]
    if t is float:
        return [0.0, -v, v / 2, v * 10, 1e-9, -1.5]
    if t is str:
        return ["", v.upper(), v.lower(), f" {v} ", v + "!", v[::-1], v * 2, v[:1], "é" + v, "a b,c"]
    if t in (list, tuple):
        items = list(v)
        out: list[list[Any]] = [[], items[:1], items[::-1], items + items, items[:-1]]
        try:
            out.append(sorted(items))
        except TypeError:
            pass
        if items:
            out += [[x, *items[1:]] for x in _variants(items[0])[:3]]
        return [t(x) for x in out]
    if t is dict:
        keys = list(v)
        return [{}, {k: v[k] for k in keys[:1]}, {k: v[k] for k in keys[::-1]}]
    if t in (set, frozenset):
        return [t(), t(list(v)[:1])]
    return []


def mutations(examples: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Each example with one argument replaced by a neighbour, interleaved across examples so
    that a cap on the number of probes still leaves every example represented."""
    per_example: list[list[tuple[Any, ...]]] = []
    for args in examples:
        mine = []
        for i, value in enumerate(args):
            for new in _variants(value):
                mine.append((*args[:i], new, *args[i + 1 :]))
        per_example.append(mine)
    return [m for group in itertools.zip_longest(*per_example) for m in group if m is not None]


def from_hints(spec: Spec, count: int = 8) -> list[tuple[Any, ...]]:
    """Inputs drawn from hypothesis strategies for the stub's annotated parameters.

    Only builtin and typing annotations are understood (nothing is evaluated beyond them);
    with any parameter unannotated or unknown, there are no hint-based probes.
    """
    hints = _hints(spec)
    if not hints:
        return []
    try:
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st
        from hypothesis.errors import HypothesisException
    except ImportError:
        return []
    drawn: list[tuple[Any, ...]] = []

    @settings(database=None, derandomize=True, max_examples=count, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.tuples(*(_bounded(h, st) for h in hints)))
    def collect(values: tuple[Any, ...]) -> None:
        drawn.append(values)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            collect()
    except (HypothesisException, TypeError, ValueError, NotImplementedError):
        return []
    return drawn


_HINT_NAMES: dict[str, Any] = {
    **{k: getattr(typing, k) for k in ("List", "Dict", "Tuple", "Set", "Optional", "Union")},
    "int": int, "str": str, "float": float, "bool": bool, "list": list, "dict": dict,
    "tuple": tuple, "set": set, "frozenset": frozenset, "bytes": bytes, "None": None,
}


def _hints(spec: Spec) -> list[Any]:
    """The stub's parameter annotations as types, or nothing when any is missing or unknown."""
    try:
        node = ast.parse(spec.stub.signature + "\n    pass").body[0]
    except SyntaxError:
        return []
    if not isinstance(node, ast.FunctionDef):
        return []
    hints = []
    for arg in [*node.args.posonlyargs, *node.args.args]:
        if arg.annotation is None:
            return []
        try:
            code = compile(ast.Expression(arg.annotation), "<hint>", "eval")
            hints.append(eval(code, {"__builtins__": {}}, _HINT_NAMES))
        except Exception:  # a name from the user's context: no hint-based probes
            return []
    return hints


def _bounded(h: Any, st: Any) -> Any:
    """A strategy for ``h`` with small values: probes should tell behaviours apart, not time out
    correct code."""
    origin, args = typing.get_origin(h), typing.get_args(h)
    if h is int:
        return st.integers(-_BIG_INT, _BIG_INT)
    if h is float:
        return st.floats(-1e6, 1e6, allow_nan=False)
    if h is str:  # readable text: these inputs are shown to the user as possible asserts
        return st.text(alphabet="abcxyzABCXYZ0129 .,-_@!'é", max_size=12)
    if origin in (list, set, frozenset) and args:
        inner = st.lists(_bounded(args[0], st), max_size=8)
        return inner if origin is list else inner.map(origin)
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_bounded(args[0], st), max_size=8).map(tuple)
        return st.tuples(*(_bounded(a, st) for a in args))
    if origin is dict and len(args) == 2:
        return st.dictionaries(_bounded(args[0], st), _bounded(args[1], st), max_size=6)
    return st.from_type(h)


def edge_case_prompt(spec: Spec) -> str:
    """Asks a model for inputs only: never outputs, never the hidden tests."""
    return (
        f"Here is a Python function stub with some tests:\n\n```python\n{spec.public_text()}```\n\n"
        f"Propose up to 10 edge-case inputs for `{spec.name}` that would reveal bugs. Reply with a "
        "JSON array only; each item is a JSON array of the positional arguments of one call. "
        "Do not include expected outputs."
    )


def from_model_reply(text: str, examples: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Argument tuples from a model's JSON reply, shaped like the examples (arity, tuples)."""
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end <= start:
        return []
    try:
        items = json.loads(text[start : end + 1])
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    arity = {len(a) for a in examples}
    shape = examples[0] if examples else None
    out = []
    for item in items[:20]:
        if not isinstance(item, list) or (arity and len(item) not in arity):
            continue
        if shape is not None:  # JSON has no tuples: follow the examples' types
            item = [tuple(x) if type(s) is tuple and type(x) is list else x for x, s in zip(item, shape, strict=True)]
        out.append(tuple(item))
    return out


def probe_inputs(
    spec: Spec,
    model_tests: Sequence[CallExample] = (),
    edge_cases: Iterable[tuple[Any, ...]] = (),
    limit: int = MAX_PROBES,
) -> ProbeSet:
    """The probes for a spec: deduplicated, the tests' own inputs left out (every passing
    candidate agrees on those), in-domain ones first — the docstring's examples, model-written
    tests, draws like the tests' arguments, a model's edge cases — then mutations of the tests'
    arguments and draws from the type hints."""
    examples = call_arguments(spec)
    documented = docstring_examples(spec.stub.docstring, spec.name)
    seed = int(spec.key[:8], 16) if spec.key else 0
    sources: list[tuple[ProbeOrigin, Callable[[], Iterable[tuple[tuple[Any, ...], Any]]]]] = [
        ("doc", lambda: ((e.args, e.expected) for e in documented)),
        ("model", lambda: ((t.args, t.expected) for t in model_tests)),
        ("domain", lambda: _unanswered(domain_draws([*examples, *(e.args for e in documented)], _DOMAIN, seed))),
        ("edge", lambda: _unanswered(edge_cases)),
        ("mutation", lambda: _unanswered(mutations(examples))),
        ("hint", lambda: _unanswered(from_hints(spec))),
    ]
    seen = {canonical(to_tree(list(a))) for a in examples if _plain(a)}
    trees: list[Any] = []
    origins: list[ProbeOrigin] = []
    expected: list[str | None] = []
    for origin, source in sources:
        for args, answer in source():
            try:
                tree = to_tree(list(args))
                digest = None if answer is _UNANSWERED else value_digest(to_tree(answer))
            except Unserializable:
                continue
            key = canonical(tree)
            if key in seen:
                continue
            seen.add(key)
            trees.append(tree)
            origins.append(origin)
            expected.append(digest)
            if len(trees) >= limit:
                return ProbeSet(tuple(trees), tuple(origins), tuple(expected))
    return ProbeSet(tuple(trees), tuple(origins), tuple(expected))


_UNANSWERED: Any = object()
_DOMAIN = 24
"""Draws like the tests' own arguments."""


def _unanswered(inputs: Iterable[tuple[Any, ...]]) -> Iterable[tuple[tuple[Any, ...], Any]]:
    return ((args, _UNANSWERED) for args in inputs)


def _plain(args: tuple[Any, ...]) -> bool:
    try:
        to_tree(list(args))
    except Unserializable:
        return False
    return True
