"""A run's candidates as table rows: the one place that names the columns (DataFrame, store)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._model import Candidate

__all__ = ["COLUMNS", "frame", "row"]

COLUMNS = (
    "rank", "id", "status", "passed", "tests_passed", "tests_total", "cluster", "cluster_size",
    "runtime_s", "size", "round", "origin", "model", "samples", "tokens", "cost", "parent",
    "rank_reason", "error", "cached", "code", "score", "score_low", "score_high", "score_error",
    "score_from",
)


def row(rank: int, c: Candidate) -> dict[str, Any]:
    """One ranked candidate as a row of :data:`COLUMNS`."""
    return {
        "rank": rank, "id": c.id, "status": c.status, "passed": c.passed,
        "tests_passed": c.tests_passed, "tests_total": c.tests_total,
        "cluster": c.cluster, "cluster_size": c.cluster_size,
        "runtime_s": c.runtime_s, "size": c.size, "round": c.round, "origin": c.origin,
        "model": c.model, "samples": c.samples, "tokens": c.tokens, "cost": c.cost,
        "parent": c.parent, "rank_reason": c.rank_reason, "error": c.error,
        "cached": c.verdict is not None and c.verdict.cached, "code": c.code,
        **_score(c),
    }


def _score(c: Candidate) -> dict[str, Any]:
    v = c.verdict
    low, high = v.score_interval if v is not None and v.score_interval is not None else (None, None)
    return {"score": c.score, "score_low": low, "score_high": high,
            "score_error": v.score_error if v is not None else None,
            "score_from": v.score_from if v is not None else None}


def frame(ranked: Sequence[Candidate]) -> Any:
    """A pandas DataFrame indexed by rank, one row per candidate, best first."""
    import pandas as pd  # type: ignore[import-untyped]

    rows = [row(rank, c) for rank, c in enumerate(ranked, 1)]
    return pd.DataFrame(rows, columns=list(COLUMNS)).set_index("rank")
