"""The ranking policy: the one place that says what comes first, and why.

Every rule is written once, as a *clause*: a sort value and the words that explain it. A
candidate's sort key is its clauses' values; its ``rank_reason`` is their words. So the order
and its explanation cannot drift apart.

- Candidates that pass every test come first; among them, those in a behaviour cluster (see
  ``_cluster``) by the cluster's rank, then the programs most samples gave, then runtime (at the
  coarse resolution of :func:`runtime_class`), then size; passing ones not probed (yet) follow.
- Then the rest: verified before pending, most tests passed first, then runtime, then size.
- With a score (the cell's ``@score`` function, see :class:`Goal`), passing candidates are first
  ordered by score class (:func:`score_classes`: equal scores, or runtimes whose intervals
  overlap, share a class, so noise never orders them), then as above; unscored ones follow.

Clusters are ordered here too (:func:`cluster_key`): first by how many of the docstring's own
examples they give, then by :func:`cluster_score` — votes (with diminishing returns) times
agreement with model-written tests — then votes, the fewest failures on in-domain probes (code that
raises on most new inputs is suspect), the fastest, the smallest member, the most distinct
programs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .._model import Candidate, Cluster

__all__ = [
    "AGREEMENT_PRIOR", "INSTANT_S", "VOTE_EXPONENT", "Goal", "cluster_key", "cluster_score", "rank_key",
    "rank_reason", "ranked", "representative", "runtime_class", "score_classes", "score_words", "votes",
]

INSTANT_S = 5e-3
"""Up to this per test, runtimes all count as instant. Below it the differences are noise: the
first calls in a freshly forked candidate pay copy-on-write faults, a busy machine adds
milliseconds, and ranking by them would let noise pick the winner over the simpler program."""


def runtime_class(seconds: float | None) -> float:
    """A measured runtime at the resolution ranking uses: 0 up to 5 ms per test, then powers of two
    (a candidate must be about twice as fast to rank ahead on speed)."""
    if seconds is None:
        return math.inf
    if seconds <= INSTANT_S:
        return 0.0
    return float(2 ** math.floor(math.log2(seconds / INSTANT_S)))


def votes(members: Iterable[Candidate]) -> int:
    """The votes behind a group of programs: every model sample counts; the offline synthesizer
    counts once for the whole group, however many of its programs are in it (it enumerates
    variants, which are not independent samples), also when they merged with a model's copy."""
    members = list(members)
    synth = sum(m.synth_samples for m in members)
    return sum(m.votes for m in members) + (1 if synth else 0)


VOTE_EXPONENT = 0.5
"""Votes count with diminishing returns: a behaviour many samples share is likely, but a model's
favourite wrong idea can be sampled fifty times; agreement with tests must be able to outweigh it."""
AGREEMENT_PRIOR = 0.5
"""What a behaviour is worth before any model-written test agrees with it (so that with no tests,
votes alone decide; with tests, each agreement counts as much as two of these)."""


def cluster_score(c: Cluster) -> float:
    """How likely a behaviour is right: its votes, times its agreement with model-written tests
    (CodeT's dual agreement: programs that agree with each other *and* with tests)."""
    return float(c.weight ** VOTE_EXPONENT * (AGREEMENT_PRIOR + c.agreed))


def cluster_key(c: Cluster, members: Sequence[Candidate]) -> tuple[Any, ...]:
    """Sort key of a behaviour cluster (smaller is better): the docstring's examples it gives (the
    user's own word, before any model's), then score, votes, fewer failures on in-domain probes,
    the fastest, the smallest member, the most distinct programs."""
    fastest = min(runtime_class(m.runtime_s) for m in members)
    return (-c.doc_agreed, -c.score, -c.weight, c.failures, fastest, min(m.size for m in members),
            -len(members), min(m.id for m in members))


def _within(c: Candidate) -> tuple[Any, ...]:
    # Inside a cluster: the program most samples gave (what the model means), then speed, then size.
    return (-c.samples, runtime_class(c.runtime_s), c.size, c.id)


def representative(members: Sequence[Candidate]) -> Candidate:
    """The member that stands for a cluster."""
    return min(members, key=_within)


def _agreement(cluster: Cluster) -> str:
    plural = "vote" if cluster.weight == 1 else "votes"
    parts = [f"behaviour cluster {cluster.id} ({cluster.weight} {plural})"]
    if cluster.doc_checked:
        parts.append(f"gives {cluster.doc_agreed} of {cluster.doc_checked} docstring examples")
    if cluster.checked:
        parts.append(f"agrees with {cluster.agreed} of {cluster.checked} model-written tests")
    return "; ".join(parts)


_Clause = tuple[Any, "str | None"]


def _clauses(c: Candidate, cluster: Cluster | None) -> list[_Clause]:
    """The candidate's standing, rule by rule: ``(sort value, words or None)``."""
    runtime = runtime_class(c.runtime_s)
    timed = None if c.runtime_s is None else f"{c.runtime_s * 1000:.3g} ms per test"
    if c.passed and cluster is not None:
        shared = f"{c.samples} samples of this program" if c.samples > 1 else None
        return [(0, "passes every test"), (cluster.id, _agreement(cluster)), (-c.samples, shared),
                (runtime, timed), (c.size, f"size {c.size}"), (c.id, None)]
    if c.passed:
        probed = "not probed" if c.behaviours is None else None
        return [(1, "passes every test"), (False, probed), (0, None), (runtime, timed),
                (c.size, f"size {c.size}"), (c.id, None)]
    if not c.verified:
        return [(2, None), (True, "not verified yet"), (0, None), (runtime, None), (c.size, None), (c.id, None)]
    tests = f"passes {c.tests_passed} of {c.tests_total} tests"
    if c.tests_total and c.tests_passed == c.tests_total and c.error:  # rejected after its tests (a reference)
        tests = f"passes every test, but {c.error}"
    return [(2, None), (False, tests), (-c.tests_passed, None), (runtime, None), (c.size, None), (c.id, None)]


@dataclass(frozen=True)
class Goal:
    """Which way scores go: higher is better unless ``maximize`` is false; ``runtime`` scores are
    seconds (always lower is better) and come with an interval."""

    maximize: bool = True
    runtime: bool = False

    @property
    def sign(self) -> int:
        """Multiplies a score into a sort value (smaller is better)."""
        return 1 if self.runtime or not self.maximize else -1


def score_classes(candidates: Iterable[Candidate], goal: Goal) -> dict[int, int]:
    """Each scored passing candidate's class, 0 best: best score first, and a candidate joins the
    class of the one that opened it while their intervals overlap (the difference could be
    noise). Equal returned scores share a class; nothing else orders them but the rules after."""
    scored = [c for c in candidates if c.passed and c.score is not None]
    scored.sort(key=lambda c: (goal.sign * (c.score or 0.0), c.id))
    classes: dict[int, int] = {}
    opener: Candidate | None = None
    n = -1
    for c in scored:
        if opener is None or not _overlap(opener, c):
            opener, n = c, n + 1
        classes[c.id] = n
    return classes


def _overlap(a: Candidate, b: Candidate) -> bool:
    assert a.verdict is not None and b.verdict is not None
    ia = a.verdict.score_interval or (a.score, a.score)
    ib = b.verdict.score_interval or (b.score, b.score)
    return bool(ia[0] is not None and ib[0] is not None and ia[1] is not None and ib[1] is not None
                and ia[0] <= ib[1] and ib[0] <= ia[1])


def score_words(c: Candidate, goal: Goal) -> str | None:
    """``score 12``; ``runtime 1.3 ms (95%: 1.2 to 1.5 ms)``; why it has none; None if unscored."""
    if c.verdict is None:
        return None
    if c.verdict.score_error is not None:
        return f"not scored: {c.verdict.score_error}"
    if c.score is None:
        return None
    if not goal.runtime:
        shared = c.verdict.score_from
        return f"score {c.score:.6g}" + (f" (that of #{shared}: same behaviour on every probe)" if shared is not None
                                         and shared != c.id else "")
    low, high = c.verdict.score_interval or (c.score, c.score)
    return f"runtime {_ms(c.score)} (95%: {_ms(low)} to {_ms(high)})"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms"


def _scored_clauses(c: Candidate, cluster: Cluster | None, classes: dict[int, int], goal: Goal) -> list[_Clause]:
    """With scores: passing first, then the score class, then the rules without a score."""
    clauses = _clauses(c, cluster)
    head_value, head_words = clauses[0]
    passing = 0 if c.passed else 1
    return [(passing, head_words), (classes.get(c.id, math.inf), score_words(c, goal) if c.passed else None),
            (head_value, None), *clauses[1:]]


def rank_key(c: Candidate, cluster: Cluster | None = None) -> tuple[Any, ...]:
    """Sort key: smaller is better."""
    return tuple(value for value, _ in _clauses(c, cluster))


def rank_reason(c: Candidate, cluster: Cluster | None = None) -> str:
    """Why a candidate ranks where it does, in a few words."""
    return "; ".join(words for _, words in _clauses(c, cluster) if words)


def ranked(candidates: Iterable[Candidate], found: Sequence[Cluster] = (), goal: Goal | None = None) -> list[Candidate]:
    """Candidates best first, each with ``cluster``, ``cluster_size`` and ``rank_reason`` set.

    With a ``goal``, scored candidates are ordered by score first (see :func:`score_classes`)."""
    candidates = list(candidates)
    of = {m: cl for cl in found for m in cl.members}
    classes = score_classes(candidates, goal) if goal is not None else {}
    out = []
    for c in candidates:
        cl = of.get(c.id) if c.passed else None
        clauses = _scored_clauses(c, cl, classes, goal) if goal is not None else _clauses(c, cl)
        out.append((tuple(v for v, _ in clauses), replace(
            c, cluster=cl.id if cl else None, cluster_size=cl.weight if cl else None,
            rank_reason="; ".join(w for _, w in clauses if w),
        )))
    out.sort(key=lambda pair: pair[0])
    return [c for _, c in out]
