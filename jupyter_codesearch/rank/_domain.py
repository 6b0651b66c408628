"""In-domain inputs: new arguments drawn like the examples' own.

A probe only tells programs apart if it is an input the function is meant to take. Generic
mutations (``'<><>'`` for a function documented for strings of parentheses) land outside the
domain, where right programs differ in how they fail. These draws keep to what the examples
show, position by position: the same types and shapes, strings over the same characters (and
the same words), numbers within the same range, lists of the same kind of elements and length.
Deterministic for a given set of examples.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

__all__ = ["domain_draws"]

_MAX_LEN = 12
"""Longest string or list drawn, beyond the examples' own lengths (probes must stay cheap)."""


def domain_draws(examples: Sequence[tuple[Any, ...]], count: int = 24, seed: int = 0) -> list[tuple[Any, ...]]:
    """Up to ``count`` argument tuples drawn like ``examples`` (same arity, types per position)."""
    shapes = {len(a) for a in examples}
    if not examples or len(shapes) != 1:
        return []
    columns = list(zip(*examples, strict=True))
    rng = random.Random(seed)
    out: list[tuple[Any, ...]] = []
    seen: set[str] = {repr(a) for a in examples}
    for _ in range(count * 4):
        args = []
        for column in columns:
            value = _draw(list(column), rng)
            if value is _NONE:
                return out
            args.append(value)
        key = repr(args)
        if key not in seen:
            seen.add(key)
            out.append(tuple(args))
            if len(out) == count:
                break
    return out


_NONE: Any = object()


def _draw(values: list[Any], rng: random.Random, depth: int = 0) -> Any:
    """One new value like ``values`` (all of one type), or :data:`_NONE` when it cannot say."""
    kinds = {type(v) for v in values}
    if len(kinds) != 1 or depth > 3:
        return rng.choice(values) if values else _NONE
    kind = kinds.pop()
    if kind is bool:
        return rng.random() < 0.5
    if kind is int:
        return _number(values, rng, integer=True)
    if kind is float:
        return _number(values, rng, integer=False)
    if kind is str:
        return _string(values, rng)
    if kind in (list, tuple):
        return kind(_sequence(values, rng, depth))
    if kind in (set, frozenset):
        return kind(_sequence([list(v) for v in values], rng, depth))
    if kind is dict:
        keys = [k for v in values for k in v]
        items = [x for v in values for x in v.values()]
        if not keys:
            return {}
        size = rng.randint(0, min(_MAX_LEN, max(len(v) for v in values) + 1))
        return {_draw(keys, rng, depth + 1): _draw(items, rng, depth + 1) for _ in range(size)}
    return rng.choice(values)


def _number(values: list[Any], rng: random.Random, integer: bool) -> Any:
    low, high = min(values), max(values)
    span = max(high - low, 1 if integer else 1.0)
    # Mostly within what the examples span, sometimes a little past either end.
    low, high = low - span * 0.25, high + span * 0.25
    if integer:
        if min(values) >= 0:  # non-negative examples: the domain probably is too
            low = max(low, 0)
        return rng.randint(int(low), int(high))
    if min(values) >= 0:
        low = max(low, 0.0)
    return round(rng.uniform(low, high), 2)


def _string(values: list[str], rng: random.Random) -> str:
    words = [w for v in values for w in v.split()]
    spaced = any(" " in v for v in values) and len(set(words)) > 1
    choice = rng.random()
    if spaced and choice < 0.4:  # words of the examples, shuffled and recombined
        size = rng.randint(1, max(1, min(_MAX_LEN, max(len(v.split()) for v in values) + 1)))
        return " ".join(rng.choice(words) for _ in range(size))
    alphabet = sorted({ch for v in values for ch in v})
    if not alphabet:
        return ""
    if choice < 0.7:  # the characters of the examples, at their lengths
        longest = min(_MAX_LEN, max(len(v) for v in values) + 2)
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest)))
    base = list(rng.choice(values))  # an example, a little changed
    if base and rng.random() < 0.5:
        del base[rng.randrange(len(base))]
    else:
        base.insert(rng.randint(0, len(base)), rng.choice(alphabet))
    return "".join(base)


def _sequence(values: list[Any], rng: random.Random, depth: int) -> list[Any]:
    items = [x for v in values for x in v]
    longest = min(_MAX_LEN, max(len(v) for v in values) + 2)
    if not items:
        return []
    if rng.random() < 0.3:  # an example's own items, reordered
        base = list(rng.choice([v for v in values if len(v)] or [items]))
        rng.shuffle(base)
        return base
    size = rng.randint(0, longest)
    return [_draw(items, rng, depth + 1) for _ in range(size)]
