"""Behavioural clusters of passing candidates, and the inputs on which the top ones disagree.

Candidates that pass every test are grouped by their behaviour on the probe inputs. Two rules
keep the grouping about what the function is for:

- An input on which most of the votes fail (raise, hang, crash) is outside the function's
  domain: right programs differ there only in how they fail, so it does not split clusters.
- Failing is one behaviour, whatever the exception: on an input a program rejects, the kind of
  rejection is not what the user asked for.

A cluster's weight is the votes behind its members (AlphaCode's clustering, with duplicates as
votes). Probes that come with an answer — the docstring's examples, model-written tests — count
how far a cluster agrees with them (CodeT's dual agreement). How clusters are ordered is the
ranking policy's (``_policy``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._model import Behaviour, Candidate, Cluster, Disagreement
from .._seams import ProbeSet
from ._policy import cluster_key, cluster_score, representative, votes

__all__ = ["clusters", "disagreements", "in_domain"]

_FAILED = Behaviour("crashed", "failed")
"""What every failing behaviour counts as when grouping."""
_OUT_OF_DOMAIN = 0.5
"""An input on which more than this share of the votes fail is out of the function's domain."""
_IN_DOMAIN_FIRST = ("doc", "model", "domain", "edge")


def in_domain(probed: Sequence[Candidate]) -> list[int]:
    """Indices of the probes on which at most half of the votes (of those run on it) fail."""
    keep = []
    for i in range(max(len(c.behaviours or ()) for c in probed)):
        ran = [c for c in probed if c.behaviours is not None and i < len(c.behaviours)]
        failing = votes([c for c in ran if c.behaviours is not None and c.behaviours[i].failed])
        total = votes(ran)
        if total and failing / total <= _OUT_OF_DOMAIN:
            keep.append(i)
    return keep


def _key(c: Candidate, keep: Sequence[int], upto: int) -> tuple[Behaviour, ...]:
    assert c.behaviours is not None
    return tuple(_FAILED if c.behaviours[i].failed else c.behaviours[i] for i in keep if i < upto)


def clusters(candidates: Sequence[Candidate], probes: ProbeSet | None = None) -> list[Cluster]:
    """Clusters of passing candidates that have probe behaviours, best first.

    Slow candidates may have run only the first probes (``run._probing``): one joins the
    heaviest cluster whose behaviour on those probes is its own, or stands alone.
    """
    probed = [c for c in candidates if c.passed and c.behaviours is not None]
    if not probed:
        return []
    keep = in_domain(probed)
    exact: dict[tuple[int, tuple[Behaviour, ...]], list[Candidate]] = {}
    for c in probed:
        length = len(c.behaviours or ())
        exact.setdefault((length, _key(c, keep, length)), []).append(c)
    groups: list[tuple[Candidate, list[Candidate]]] = []  # (the member probed furthest, members)
    for (length, key), members in sorted(exact.items(), key=lambda item: (-item[0][0], -votes(item[1]))):
        home = next((g for g in groups if _key(g[0], keep, length) == key), None)
        if home is None:
            groups.append((members[0], list(members)))
        else:
            home[1].extend(members)
    drafts = [_draft(furthest, members, keep, probes) for furthest, members in groups]
    drafts.sort(key=lambda d: cluster_key(d, [c for c in probed if c.id in d.members]))
    return [Cluster(**{**d.__dict__, "id": number}) for number, d in enumerate(drafts, 1)]


def _draft(furthest: Candidate, members: list[Candidate], keep: list[int], probes: ProbeSet | None) -> Cluster:
    first = representative(members)
    assert furthest.behaviours is not None
    found = furthest.behaviours
    agreed = checked = doc_agreed = doc_checked = 0
    if probes is not None:
        for i, (origin, digest) in enumerate(zip(probes.origins, probes.expected, strict=True)):
            if digest is None or i >= len(found):
                continue
            hit = found[i].kind == "value" and found[i].detail == digest
            if origin == "doc":
                doc_checked += 1
                doc_agreed += hit
            else:
                checked += 1
                agreed += hit
    weight = votes(members)
    draft = Cluster(
        id=0, members=tuple(sorted(m.id for m in members)), weight=weight,
        failures=sum(found[i].failed for i in keep if i < len(found)), behaviours=found, representative=first.id,
        agreed=agreed, checked=checked, doc_agreed=doc_agreed, doc_checked=doc_checked,
    )
    return Cluster(**{**draft.__dict__, "score": cluster_score(draft)})


def disagreements(found: Sequence[Cluster], probes: Sequence[tuple[Any, ...]], name: str,
                  top: int = 3, limit: int = 10, origins: Sequence[str] = ()) -> list[Disagreement]:
    """Probes on which the ``top`` clusters do not all behave alike (at most ``limit``): those
    that separate the two leading clusters first, in-domain inputs before generic ones."""
    lead = list(found[:top])
    if len(lead) < 2:
        return []
    count = min(len(probes), *(len(c.behaviours) for c in lead))

    def alike(a: Behaviour, b: Behaviour) -> bool:
        return a == b or (a.failed and b.failed)

    differing = [i for i in range(count)
                 if any(not alike(c.behaviours[i], lead[0].behaviours[i]) for c in lead[1:])]
    if not differing:
        return []

    def order(i: int) -> tuple[int, int, int]:
        separates = not alike(lead[0].behaviours[i], lead[1].behaviours[i])
        origin = origins[i] if i < len(origins) else ""
        return (not separates, origin not in _IN_DOMAIN_FIRST, i)

    out = []
    for i in sorted(differing, key=order)[:limit]:
        call = f"{name}({', '.join(repr(a) for a in probes[i])})"
        out.append(Disagreement(tuple(probes[i]), call, tuple((c.id, c.behaviours[i]) for c in lead)))
    return out
