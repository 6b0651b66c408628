"""Candidates, verdicts and probes to table rows and back (the one place that knows both)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .._model import Behaviour, Candidate, Limits, TestResult, Verdict
from .._seams import ProbeSet

__all__ = [
    "CANDIDATE_FIELDS",
    "UPSERT_CANDIDATE",
    "candidate_row",
    "candidates_from",
    "limits_key",
    "probes_from",
    "probes_json",
    "trajectory_from",
    "trajectory_json",
    "verdict_from_json",
    "verdict_json",
    "verdict_of",
    "write_verdict",
]

CANDIDATE_FIELDS = (
    "id", "code", "key", "origin", "model", "round", "parent", "samples", "synth_samples", "tokens", "cost",
    "size", "invalid_reason", "behaviours",
)
"""The ``candidates`` columns after ``run_id``, in table order."""


UPSERT_CANDIDATE = (
    f"INSERT INTO candidates VALUES (?, {', '.join('?' * len(CANDIDATE_FIELDS))}) ON CONFLICT (run_id, id) DO UPDATE "
    "SET " + ", ".join(f"{f} = excluded.{f}" for f in CANDIDATE_FIELDS[1:])
)
"""Insert or update a candidates row (an update, not a replace: a replace would delete its verdict)."""


def limits_key(limits: Limits) -> str:
    """The limits part of a verdict-cache key (``2s/512MB``)."""
    return f"{limits.timeout:g}s/{limits.memory_mb}MB"


def _behaviours_json(bs: tuple[Behaviour, ...] | None) -> str | None:
    return None if bs is None else json.dumps([[b.kind, b.detail, b.shown] for b in bs], ensure_ascii=False)


def candidate_row(run_id: str, c: Candidate) -> tuple[Any, ...]:
    """The ``candidates`` row of ``c``."""
    return (run_id, c.id, c.code, c.key, c.origin, c.model, c.round, c.parent, c.samples, c.synth_samples,
            c.tokens, c.cost, c.size, c.invalid_reason, _behaviours_json(c.behaviours))


def verdict_json(v: Verdict) -> str:
    """A verdict as JSON (the verdict cache's form; the fields as ``Verdict.to_dict`` has them,
    without its deep copy, which costs ten times as much)."""
    return json.dumps({**vars(v), "tests": [vars(t) for t in v.tests]}, ensure_ascii=False)


def _verdict(d: dict[str, Any]) -> Verdict:
    tests = tuple(TestResult(**{**t, "calls": tuple(t.get("calls", ()))}) for t in d.get("tests", ()))
    return Verdict(**{**d, "tests": tests})


def verdict_from_json(text: str) -> Verdict:
    """The verdict :func:`verdict_json` wrote."""
    return _verdict(json.loads(text))


_VERDICT_COLUMNS = ("run_id", "candidate", "status", "passed", "runtime_s", "error", "stdout", "output_bytes",
                    "cached", "score", "score_low", "score_high", "score_error", "score_from")


def write_verdict(conn: sqlite3.Connection, run_id: str, v: Verdict, stdout: str | None = None,
                  error: str | None = None) -> None:
    """Write candidate ``v.index``'s verdict and its per-test results (``stdout`` and ``error``:
    their scrubbed text, when not the verdict's own)."""
    low, high = v.score_interval if v.score_interval is not None else (None, None)
    conn.execute(f"INSERT OR REPLACE INTO verdicts ({', '.join(_VERDICT_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(_VERDICT_COLUMNS))})",
                 (run_id, v.index, v.status, int(v.passed), v.runtime_s, error if error is not None else v.error,
                  stdout if stdout is not None else v.stdout, v.output_bytes, int(v.cached), v.score, low, high,
                  v.score_error, v.score_from))
    conn.executemany(
        "INSERT OR REPLACE INTO test_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(run_id, v.index, n, int(t.passed), t.source, t.line, int(t.hidden), t.got, t.expected, t.error,
          t.duration_s, json.dumps(t.calls, ensure_ascii=False) if t.calls else "[]") for n, t in enumerate(v.tests)],
    )


_TESTS_SQL = ("SELECT candidate, passed, source, line, hidden, got, expected, error, duration_s, calls "
              "FROM test_results WHERE run_id = ?")
_VERDICTS_SQL = ("SELECT candidate, status, passed, runtime_s, error, stdout, output_bytes, cached, score, score_low, "
                 "score_high, score_error, score_from FROM verdicts WHERE run_id = ?")


def _verdicts(conn: sqlite3.Connection, run_id: str, candidate: int | None = None) -> dict[int, Verdict]:
    one = "" if candidate is None else " AND candidate = ?"
    args: tuple[Any, ...] = (run_id,) if candidate is None else (run_id, candidate)
    tests: dict[int, list[TestResult]] = {}
    seen: dict[tuple[Any, ...], TestResult] = {}  # many candidates share results: one frozen object each
    for row in conn.execute(_TESTS_SQL + one + " ORDER BY candidate, n", args):
        result = seen.get(row[1:])
        if result is None:
            calls = tuple(json.loads(row[9])) if row[9] != "[]" else ()
            result = seen[row[1:]] = TestResult(bool(row[1]), row[2], row[3], bool(row[4]), row[5], row[6], row[7],
                                                row[8], calls)
        tests.setdefault(row[0], []).append(result)
    out = {}
    rows = conn.execute(_VERDICTS_SQL + one, args)
    for index, status, passed, runtime_s, error, stdout, output_bytes, cached, score, low, high, why, share in rows:
        out[index] = Verdict(index, status, bool(passed), tuple(tests.get(index, ())), runtime_s, error, stdout,
                             output_bytes, bool(cached), score, (low, high) if low is not None else None, why, share)
    return out


def verdict_of(conn: sqlite3.Connection, run_id: str, candidate: int) -> Verdict | None:
    """One stored verdict, if it is there."""
    return _verdicts(conn, run_id, candidate).get(candidate)


def candidates_from(conn: sqlite3.Connection, run_id: str) -> list[Candidate]:
    """A stored run's candidates, in arrival order, with their verdicts and behaviours."""
    verdicts = _verdicts(conn, run_id)
    out = []
    for row in conn.execute(
        f"SELECT {', '.join(CANDIDATE_FIELDS)} FROM candidates WHERE run_id = ? ORDER BY id", (run_id,)
    ):
        d = dict(zip(CANDIDATE_FIELDS, row, strict=True))
        bs = d.pop("behaviours")
        behaviours = None if bs is None else tuple(Behaviour(k, detail, shown) for k, detail, shown in json.loads(bs))
        out.append(Candidate(**d, behaviours=behaviours, verdict=verdicts.get(d["id"])))
    return out


def trajectory_json(points: list[tuple[int, float]]) -> str:
    """An optimising run's climb as JSON (``[[samples, best score], ...]``)."""
    return json.dumps([[n, v] for n, v in points])


def trajectory_from(text: str | None) -> tuple[tuple[int, float], ...]:
    """The climb :func:`trajectory_json` wrote (empty for ``None``: not optimising, or schema 1)."""
    return tuple((int(n), float(v)) for n, v in json.loads(text)) if text else ()


def probes_json(p: ProbeSet) -> str:
    """A run's probe set as JSON (codec trees are JSON already)."""
    return json.dumps({"trees": list(p.trees), "origins": list(p.origins), "expected": list(p.expected)})


def probes_from(text: str | None) -> ProbeSet:
    """The probe set :func:`probes_json` wrote (empty for ``None``)."""
    if not text:
        return ProbeSet()
    d = json.loads(text)
    return ProbeSet(tuple(d["trees"]), tuple(d["origins"]), tuple(d["expected"]))
