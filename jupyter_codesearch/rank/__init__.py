"""Rank: order candidates so the best one is first, with every key visible."""

from __future__ import annotations

from ._cluster import Cluster, Disagreement, clusters, disagreements
from ._probes import probe_inputs
from ._rank import rank_key, ranked

__all__ = ["Cluster", "Disagreement", "clusters", "disagreements", "probe_inputs", "rank_key", "ranked"]
