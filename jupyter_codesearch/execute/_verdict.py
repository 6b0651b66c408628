"""Verdicts and behaviours built from the kernels' reports (caller side)."""

from __future__ import annotations

from typing import cast, get_args

from .._model import STATUSES, Behaviour, BehaviourKind, Status, TestResult, Verdict
from ._protocol import BehaviourReport, VerdictReport

__all__ = ["behaviour_from_report", "verdict_from_report"]

_KINDS: tuple[BehaviourKind, ...] = get_args(BehaviourKind)


def verdict_from_report(report: VerdictReport, tests_by_line: dict[int, tuple[str, bool]]) -> Verdict:
    """Build from a kernel's report (made by our own trusted evaluator); the tests' source
    and hidden flags come from the spec, by line."""
    tests = tuple(
        TestResult(
            passed=bool(t["passed"]), source=tests_by_line.get(int(t["line"]), ("", False))[0],
            line=int(t["line"]), hidden=tests_by_line.get(int(t["line"]), ("", False))[1],
            got=t.get("got"), expected=t.get("expected"),
            error=t.get("error"), duration_s=float(t.get("duration_s") or 0.0),
            calls=tuple(cast(dict[str, str], dict(c)) for c in t.get("calls", ())),
            withheld=bool(t.get("withheld")),
        )
        for t in report["tests"]
    )
    status: Status = next((s for s in STATUSES if s == report["status"]), "error")
    score, interval = report.get("score"), report.get("score_interval")
    return Verdict(
        index=int(report["index"]), status=status, passed=status == "passed", tests=tests,
        runtime_s=report["runtime_s"], error=report["error"],
        stdout=report["stdout"], output_bytes=int(report["output_bytes"]),
        score=float(score) if score is not None else None,
        score_interval=(float(interval[0]), float(interval[1])) if interval else None,
        score_error=report.get("score_error"),
    )


def behaviour_from_report(report: BehaviourReport) -> Behaviour:
    """A probe behaviour as the evaluator reports it: the same three fields, kind checked."""
    kind, detail, shown = report["kind"], report["detail"], report["shown"]
    for known in _KINDS:
        if kind == known:
            return Behaviour(known, detail, shown)
    return Behaviour("crashed", kind, shown)  # not one we know: no behaviour to compare it with
