"""Behavioural clusters of passing candidates, and the inputs on which the top ones disagree.

Candidates that pass every test are grouped by their behaviour on the probe inputs (identical
behaviour vectors: one cluster; an exception or a timeout is a behaviour too). A cluster's weight
is the number of votes behind its members, so a program the model proposed three times counts
three times (AlphaCode's clustering, with duplicates as votes). Correct programs tend to agree;
a memoriser of the visible asserts, or a special case, behaves differently on new inputs.
How clusters are ordered is the ranking policy's (``_policy.cluster_key``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._model import Behaviour, Candidate, Cluster, Disagreement
from ._policy import cluster_key, votes

__all__ = ["clusters", "disagreements"]


def clusters(candidates: Sequence[Candidate]) -> list[Cluster]:
    """Clusters of passing candidates that have probe behaviours, best first."""
    groups: dict[tuple[Behaviour, ...], list[Candidate]] = {}
    for c in candidates:
        if c.passed and c.behaviours is not None:
            groups.setdefault(c.behaviours, []).append(c)
    order = sorted(groups.items(), key=lambda item: cluster_key(*item))
    out = []
    for number, (_, members) in enumerate(order, 1):
        first = min(members, key=lambda m: m.id)
        assert first.behaviours is not None
        out.append(Cluster(
            id=number, members=tuple(sorted(m.id for m in members)), weight=votes(members),
            failures=sum(b.failed for b in first.behaviours), behaviours=first.behaviours,
        ))
    return out


def disagreements(found: Sequence[Cluster], probes: Sequence[tuple[Any, ...]], name: str,
                  top: int = 3, limit: int = 10) -> list[Disagreement]:
    """Probes on which the ``top`` clusters do not all behave alike (at most ``limit``)."""
    lead = list(found[:top])
    if len(lead) < 2:
        return []
    out = []
    for i, args in enumerate(probes):
        if i >= len(lead[0].behaviours):
            break
        if len({c.behaviours[i] for c in lead}) > 1:
            call = f"{name}({', '.join(repr(a) for a in args)})"
            out.append(Disagreement(tuple(args), call, tuple((c.id, c.behaviours[i]) for c in lead)))
            if len(out) == limit:
                break
    return out
