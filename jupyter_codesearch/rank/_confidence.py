"""When to stop drawing samples: the leading behaviour cannot plausibly be overtaken.

The samples judged so far are a draw from the model's distribution over behaviours (each
passing cluster, "a behaviour not seen yet", and "fails the tests"). The remaining budget is
simulated many times from the posterior of that distribution (a Dirichlet with one pseudo-sample
on each outcome), each simulated run is ranked by the ranking policy's own cluster score, and the
run is confident when the current leader stays first in at least :data:`CONFIDENCE` of them. A
behaviour not seen yet is assumed to give every docstring example and to agree with the
model-written tests as well as the best cluster seen: a leader that fails an example the user
wrote is never safe while samples remain. Seeded by the state it judges, so the same run
decides the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .._model import Cluster
from ._policy import cluster_score

__all__ = ["CONFIDENCE", "MIN_JUDGED", "leader_certain", "leader_holds"]

CONFIDENCE = 0.9
"""The share of simulated runs in which the leader must stay first."""
MIN_JUDGED = 8
"""Samples judged before any decision (a handful of samples says little about the rest)."""
_SIMULATIONS = 200
_PRIOR = 1.0
"""Pseudo-samples on each outcome: a behaviour seen once is not yet known to be rare."""


def leader_holds(found: Sequence[Cluster], judged: int, remaining: int, seed: int = 0) -> float:
    """The share of simulated continuations in which ``found[0]`` is still ranked first, given
    ``judged`` samples so far (passing or not) and ``remaining`` still to draw."""
    if not found:
        return 0.0
    if remaining <= 0:
        return 1.0
    import numpy as np

    rng = np.random.default_rng(seed)
    votes = np.array([c.weight for c in found], dtype=float)
    other = max(0.0, judged - votes.sum())  # samples that did not pass (or had nothing to probe)
    alpha = np.concatenate([votes, [0.0, other]]) + _PRIOR
    shares = rng.dirichlet(alpha, _SIMULATIONS)
    draws = np.array([rng.multinomial(remaining, p) for p in shares])
    stays = 0
    for extra in draws:
        lead = _key(found[0], int(extra[0]))
        rivals = (_key(c, int(extra[i])) for i, c in enumerate(found[1:], 1))
        new = int(extra[len(found)])
        unseen = _unseen(found, new) if new else None
        if all(lead < r for r in rivals) and (unseen is None or lead < unseen):
            stays += 1
    return stays / _SIMULATIONS


def leader_certain(found: Sequence[Cluster], votes: int) -> bool:
    """Whether ``votes`` more samples, whatever they behave like (the leader's behaviour, a
    rival's, or one not seen yet), leave ``found[0]`` first: then probing them cannot change
    the top, only the counts below it."""
    if not found:
        return False
    lead = _key(found[0], 0)
    return all(lead < _key(c, votes) for c in found[1:]) and lead < _unseen(found, votes)


def _key(c: Cluster, extra: int) -> tuple[float, float]:
    """The part of the policy's cluster order that votes can change: docstring examples, score."""
    return (-c.doc_agreed, -cluster_score(replace(c, weight=c.weight + extra)))


def _unseen(found: Sequence[Cluster], votes: int) -> tuple[float, float]:
    """The key of a behaviour not seen yet that ``votes`` samples would show (see the module)."""
    best = max(found, key=lambda c: c.agreed)
    fresh = replace(best, weight=votes, doc_agreed=best.doc_checked)
    return (-fresh.doc_agreed, -cluster_score(fresh))
