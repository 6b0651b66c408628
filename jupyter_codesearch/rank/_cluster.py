"""Behavioural clusters of passing candidates, and the inputs on which the top ones disagree.

Candidates that pass every test are grouped by their outputs on the probe inputs (identical
output vectors: one cluster; an exception or a timeout is an output too). A cluster's weight is
the number of samples behind its members, so a program the model proposed three times counts
three times (AlphaCode's clustering, with duplicates as votes). Correct programs tend to agree;
a memoriser of the visible asserts, or a special case, behaves differently on new inputs.

The offline synthesizer's programs are not independent samples: it enumerates every small
variant (the same expression with another unused constant, say), so it votes once per
behaviour however many of its programs show it. Among equal votes the simpler behaviour wins:
fewer failures on probes, then speed (at ranking's resolution), then its smallest program.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._rank import runtime_class

__all__ = ["Cluster", "Disagreement", "clusters", "disagreements"]

_FAILURE = ("e:", "timeout", "crashed", "unserializable", "invalid")


@dataclass(frozen=True)
class Cluster:
    """Passing candidates with the same behaviour on every probe. ``id`` 1 ranks first."""

    id: int
    members: tuple[int, ...]
    weight: int
    """Votes: the samples behind the members, the synthesizer's counting once."""
    failures: int
    """Probes on which this behaviour is an exception, a timeout or a crash."""
    outputs: tuple[str, ...]
    shown: tuple[str, ...]


@dataclass(frozen=True)
class Disagreement:
    """A probe input on which the top clusters behave differently: a forgotten assert."""

    args: tuple[Any, ...]
    call: str
    """``f(1, 'a')``: the call as the user would write it."""
    outputs: tuple[tuple[int, str], ...]
    """``(cluster id, what it returns or raises)`` for each of the top clusters."""

    def assert_line(self, cluster: int) -> str | None:
        """The assert that would make ``cluster``'s answer the expected one (``None`` if it raises)."""
        for cid, shown in self.outputs:
            if cid == cluster and not shown.startswith(("raises ", "timeout", "crashed", "unserializable")):
                return f"assert {self.call} == {shown}"
        return None


def clusters(candidates: Sequence[Any]) -> list[Cluster]:
    """Clusters of passing candidates that have probe outputs, heaviest first.

    Ties go to the behaviour that fails on fewer probes (code that raises on most new inputs
    is suspect), then to the fastest, then the smallest member, then the most distinct programs.
    """
    groups: dict[tuple[str, ...], list[Any]] = {}
    for c in candidates:
        if c.passed and c.probe_outputs is not None:
            groups.setdefault(tuple(c.probe_outputs), []).append(c)

    def order(item: tuple[tuple[str, ...], list[Any]]) -> tuple[Any, ...]:
        outputs, members = item
        fails = sum(o.startswith(_FAILURE) for o in outputs)
        fastest = min(runtime_class(m.runtime_s) for m in members)
        return (-_votes(members), fails, fastest, min(m.size for m in members), -len(members),
                min(m.id for m in members))

    out = []
    for number, (outputs, members) in enumerate(sorted(groups.items(), key=order), 1):
        first = min(members, key=lambda m: m.id)
        out.append(Cluster(
            id=number, members=tuple(sorted(m.id for m in members)),
            weight=_votes(members),
            failures=sum(o.startswith(_FAILURE) for o in outputs),
            outputs=outputs, shown=tuple(first.probe_shown or outputs),
        ))
    return out


def _votes(members: Sequence[Any]) -> int:
    # Samples from the synthesizer count once for the whole cluster; a model's count in full,
    # also when they merged with a synthesized program of the same code (--generator both).
    synth = sum(getattr(m, "synth_samples", 0) for m in members)
    return int(sum(m.samples for m in members)) - synth + (1 if synth else 0)


def disagreements(found: Sequence[Cluster], probes: Sequence[tuple[Any, ...]], name: str,
                  top: int = 3, limit: int = 10) -> list[Disagreement]:
    """Probes on which the ``top`` clusters do not all behave alike (at most ``limit``)."""
    lead = list(found[:top])
    if len(lead) < 2:
        return []
    out = []
    for i, args in enumerate(probes):
        if i >= len(lead[0].outputs):
            break
        if len({c.outputs[i] for c in lead}) > 1:
            call = f"{name}({', '.join(repr(a) for a in args)})"
            out.append(Disagreement(tuple(args), call, tuple((c.id, c.shown[i]) for c in lead)))
            if len(out) == limit:
                break
    return out
