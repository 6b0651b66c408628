"""Rank: order candidates so the best one is first, with every key visible and explained."""

from __future__ import annotations

from ._cluster import clusters, disagreements
from ._policy import rank_key, rank_reason, ranked, runtime_class
from ._probes import probe_inputs

__all__ = ["clusters", "disagreements", "probe_inputs", "rank_key", "rank_reason", "ranked", "runtime_class"]
