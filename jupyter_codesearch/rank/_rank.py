"""Ranking v1: tests passed (most first), then runtime (fastest first), then size (smallest first).

Every key is a column of ``SearchRun.to_frame()``, so users can re-sort by any of them.
Candidates not verified yet go last; among equals, the earlier candidate keeps its place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Protocol


class _Rankable(Protocol):
    id: int
    size: int

    @property
    def verified(self) -> bool: ...
    @property
    def tests_passed(self) -> int: ...
    @property
    def runtime_s(self) -> float | None: ...


def rank_key(c: _Rankable) -> tuple[Any, ...]:
    """Sort key: smaller is better."""
    runtime = c.runtime_s if c.runtime_s is not None else math.inf
    return (not c.verified, -c.tests_passed, runtime, c.size, c.id)


def ranked(candidates: Iterable[Any]) -> list[Any]:
    """Candidates best first."""
    return sorted(candidates, key=rank_key)
