"""Cells for optimising runs, shared by tests and benchmarks (standard library only)."""

from __future__ import annotations

__all__ = ["BIN_PACKING", "HALF_FIT", "UNIQUE", "UNIQUE_LINEAR", "UNIQUE_MEMORISER", "UNIQUE_QUADRATIC"]

BIN_PACKING = '''
import random

_rng = random.Random(0)
INSTANCES = [[round(_rng.uniform(0.05, 0.6), 3) for _ in range(60)] for _ in range(4)]

def priority(item: float, remaining: list[float]) -> list[float]:
    """Online bin packing: one priority for each open bin that can take `item` (`remaining`
    are their free capacities); the item goes to the bin with the highest priority."""

assert len(priority(0.5, [0.6, 0.9])) == 2
assert priority(0.1, []) == []

@score
def bins_used(f):
    """Bins used on fixed instances, as in FunSearch's bin packing (fewer is better)."""
    total = 0
    for items in INSTANCES:
        bins = []
        for item in items:
            fits = [i for i, r in enumerate(bins) if r >= item]
            if fits:
                p = f(item, [bins[i] for i in fits])
                bins[fits[max(range(len(fits)), key=lambda k: p[k])]] -= item
            else:
                bins.append(1.0 - item)
        total += len(bins)
    return total
'''
"""Score: bins used on four fixed instances of 60 items (run with ``maximize=False``)."""

HALF_FIT = '''def priority(item, remaining):
    scores = []
    for r in remaining:
        s = -abs(r - item - 0.5)
        scores.append(s)
    return scores
'''
"""What the fake model starts from: the bin left half empty by the item first (as poor as worst
fit: 93 bins); the constant tuned down to 0 is best fit (86), through 90 and 88 on the way."""

UNIQUE = '''
def unique_quadratic(xs):
    out = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out

def unique(xs: list[int]) -> list[int]:
    """The items of xs without repeats, in the order they first appear."""

assert unique([3, 1, 3, 2, 1]) == [3, 1, 2]
assert unique([]) == []

@score
def bench(f):
    f(list(range(2000)) * 2)
'''
"""Make it faster: the context's O(n^2) ``unique_quadratic`` is the reference (``--reference``)."""

UNIQUE_LINEAR = "def unique(xs):\n    return list(dict.fromkeys(xs))\n"
UNIQUE_MEMORISER = ("def unique(xs):\n    if xs == [3, 1, 3, 2, 1]:\n        return [3, 1, 2]\n"
                    "    return sorted(set(xs))\n")
"""Fast, passes the tests, wrong elsewhere: only differential probing catches it."""
UNIQUE_QUADRATIC = ("def unique(xs):\n    seen = []\n    for x in xs:\n        if x not in seen:\n"
                    "            seen.append(x)\n    return seen\n")
