"""Search: generate candidates, verify each as it arrives, rank, and go round again."""

from __future__ import annotations

from ._run import SearchRun
from ._search import search

__all__ = ["SearchRun", "search"]
