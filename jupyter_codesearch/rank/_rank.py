"""Ranking: what comes first, and why.

v1 (no probes): tests passed (most first), then runtime (fastest first, at the coarse
resolution of :func:`runtime_class`), then size (smallest).
With clustering, candidates that pass every test are ordered by their behaviour cluster
(heaviest first, see ``_cluster``), then runtime, then size; those not probed yet follow, then
everything that fails. Every key is a column of ``SearchRun.to_frame()``, and
:func:`rank_reason` says in words why a candidate sits where it does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._cluster import Cluster

__all__ = ["rank_key", "rank_reason", "ranked", "runtime_class"]

# Up to this per test, runtimes all count as instant. Below it the differences are noise: the
# first calls in a freshly forked candidate pay copy-on-write faults, a busy machine adds
# milliseconds, and ranking by them would let noise pick the winner over the simpler program.
INSTANT_S = 5e-3


def runtime_class(seconds: float | None) -> float:
    """A measured runtime at the resolution ranking uses: 0 up to 5 ms per test, then powers of two
    (a candidate must be about twice as fast to rank ahead on speed)."""
    if seconds is None:
        return math.inf
    if seconds <= INSTANT_S:
        return 0.0
    return float(2 ** math.floor(math.log2(seconds / INSTANT_S)))


def _runtime(c: Any) -> float:
    return runtime_class(c.runtime_s)


def rank_key(c: Any, cluster_order: dict[int, int] | None = None) -> tuple[Any, ...]:
    """Sort key: smaller is better."""
    if c.passed and cluster_order and c.id in cluster_order:
        return (0, cluster_order[c.id], _runtime(c), c.size, c.id)
    group = 1 if c.passed else 2
    return (group, not c.verified, -c.tests_passed, _runtime(c), c.size, c.id)


def ranked(candidates: Iterable[Any], found: Sequence[Cluster] = ()) -> list[Any]:
    """Candidates best first; with clusters, their ``cluster``/``cluster_size`` filled in."""
    order = {m: cl.id for cl in found for m in cl.members}
    weight = {cl.id: cl.weight for cl in found}
    out = sorted(candidates, key=lambda c: rank_key(c, order))
    if found:
        out = [replace(c, cluster=order.get(c.id), cluster_size=weight.get(order.get(c.id, -1))) for c in out]
    return out


def rank_reason(c: Any) -> str:
    """Why a candidate ranks where it does, in a few words."""
    if not c.verified:
        return "not verified yet"
    if not c.passed:
        return f"passes {c.tests_passed} of {c.tests_total} tests"
    parts = ["passes every test"]
    if getattr(c, "cluster", None) is not None:
        votes = "vote" if c.cluster_size == 1 else "votes"
        parts.append(f"behaviour cluster {c.cluster} ({c.cluster_size} {votes})")
    elif getattr(c, "probe_outputs", None) is None:
        parts.append("not probed yet")
    if c.runtime_s is not None:
        parts.append(f"{c.runtime_s * 1000:.3g} ms per test")
    parts.append(f"size {c.size}")
    return "; ".join(parts)
