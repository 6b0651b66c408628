"""Verdicts built from the kernels' reports (caller side)."""

from __future__ import annotations

from typing import Any

from .._model import STATUSES, Behaviour, TestResult, Verdict

__all__ = ["behaviour_from_report", "verdict_from_report"]


def verdict_from_report(report: dict[str, Any], tests_by_line: dict[int, tuple[str, bool]]) -> Verdict:
    """Build from a kernel's report (made by our own trusted evaluator); the tests' source
    and hidden flags come from the spec, by line."""
    tests = tuple(
        TestResult(
            passed=bool(t["passed"]), source=tests_by_line.get(int(t["line"]), ("", False))[0],
            line=int(t["line"]), hidden=tests_by_line.get(int(t["line"]), ("", False))[1],
            got=t.get("got"), expected=t.get("expected"),
            error=t.get("error"), duration_s=float(t.get("duration_s") or 0.0),
            calls=tuple(dict(c) for c in t.get("calls", ())),
        )
        for t in report.get("tests", ())
    )
    status = report["status"]
    if status not in STATUSES:
        status = "error"
    return Verdict(
        index=int(report["index"]), status=status, passed=status == "passed", tests=tests,
        runtime_s=report.get("runtime_s"), error=report.get("error"),
        stdout=report.get("stdout", ""), output_bytes=int(report.get("output_bytes", 0)),
    )


def behaviour_from_report(output: str, shown: str) -> Behaviour:
    """A probe output as the evaluator reports it (``v:<digest>``, ``e:<name>``, or a status)."""
    if output.startswith("v:"):
        return Behaviour("value", output[2:], shown)
    if output.startswith("e:"):
        return Behaviour("raised", output[2:], shown)
    if output in ("timeout", "crashed", "unserializable", "invalid"):
        return Behaviour(output, "", shown)  # type: ignore[arg-type]
    return Behaviour("crashed", output, shown)
