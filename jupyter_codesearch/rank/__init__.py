"""Rank: order candidates so the best one is first, with every key visible."""

from __future__ import annotations

from ._rank import rank_key, ranked

__all__ = ["rank_key", "ranked"]
