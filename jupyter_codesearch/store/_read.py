"""Reading the history: list runs, open one, export it, prune old ones."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from .._exceptions import InputError
from .._model import Candidate
from .._seams import ProbeSet
from ._rows import candidates_from, probes_from, trajectory_from
from ._store import Store

__all__ = ["SUMMARY_FIELDS", "PastRun", "find_run", "list_runs", "load_run", "prune"]

SUMMARY_FIELDS = (
    "id", "function", "started", "ended", "status", "model", "best_status", "candidates", "verified", "passing",
    "generated", "requests", "tokens", "cost",
)
"""What ``history`` lists per run (``jupyter-codesearch history --json`` prints these keys)."""


@dataclass(frozen=True)
class PastRun:
    """A run as the history holds it."""

    summary: dict[str, Any]
    spec_text: str
    spec_key: str
    settings: dict[str, Any]
    notices: tuple[str, ...]
    error: str | None
    probes: ProbeSet
    candidates: list[Candidate] = field(default_factory=list)
    trajectory: tuple[tuple[int, float], ...] = ()
    """An optimising run's climb: ``(samples drawn, best score)`` at each improvement."""

    @property
    def id(self) -> str:
        """The run's id."""
        return str(self.summary["id"])

    @property
    def generated_by_round(self) -> dict[int, int]:
        """Samples received per round (each candidate's votes, invalid replies included)."""
        out: dict[int, int] = {}
        for c in self.candidates:
            out[c.round] = out.get(c.round, 0) + c.samples
        return out


def list_runs(store: Store, limit: int | None = None) -> list[dict[str, Any]]:
    """Runs newest first, as :data:`SUMMARY_FIELDS` dicts (``started``/``ended``: Unix time)."""
    sql = f"SELECT {', '.join(SUMMARY_FIELDS)} FROM runs ORDER BY started DESC"
    with store.read() as conn:
        rows = conn.execute(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()
    return [_summary(r) for r in rows]


def _summary(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(SUMMARY_FIELDS, row, strict=True))


def find_run(conn: sqlite3.Connection, wanted: str) -> str:
    """The full id of the run ``wanted`` names (an id or a unique prefix of one)."""
    text = wanted.strip()
    if not text or not all(ch in "0123456789abcdef" for ch in text.lower()):
        raise InputError(f"{wanted!r} is not a run id (ids are hex, e.g. 3fa2c1; `history` lists them)")
    found = [r[0] for r in conn.execute("SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 3",
                                        (text.lower(), text.lower() + "g"))]
    if not found:
        raise InputError(f"no run {wanted} in the search history (`history` lists the runs)")
    if len(found) > 1 and found[0] != text.lower():
        raise InputError(f"run id {wanted} is ambiguous ({', '.join(found[:2])}, ...): give more of it")
    return str(found[0])


def load_run(store: Store, wanted: str, *, candidates: bool = True) -> PastRun:
    """A past run by id (or unique prefix), with its candidates unless told otherwise."""
    with store.read() as conn:
        run_id = find_run(conn, wanted)
        row = conn.execute(
            f"SELECT {', '.join(SUMMARY_FIELDS)}, spec_text, spec_key, settings, notices, error, probes, trajectory "
            "FROM runs WHERE id = ?", (run_id,)).fetchone()
        cands = candidates_from(conn, run_id) if candidates else []
    n = len(SUMMARY_FIELDS)
    summary = _summary(row[:n])
    spec_text, spec_key, settings, notices, error, probes, climb = row[n:]
    if candidates:  # a killed run's counters lag; its candidates say how far it got
        summary.update(candidates=len(cands), verified=sum(c.verified for c in cands),
                       passing=sum(c.passed for c in cands), generated=sum(c.samples for c in cands))
    return PastRun(summary, spec_text, spec_key, json.loads(settings), tuple(json.loads(notices)), error,
                   probes_from(probes), cands, trajectory_from(climb))


def prune(store: Store, older_than_days: float) -> int:
    """Delete runs that started more than ``older_than_days`` days ago; how many were deleted.
    The verdict cache forgets their verdicts too."""
    cutoff = time.time() - older_than_days * 86400

    def work(conn: sqlite3.Connection) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            n = conn.execute("DELETE FROM runs WHERE started < ?", (cutoff,)).rowcount
            conn.execute("DELETE FROM verdict_cache WHERE run_id NOT IN (SELECT id FROM runs)")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return int(n)

    from ._db import retrying

    with store.read() as conn:
        return retrying(lambda: work(conn), "pruning the history")
