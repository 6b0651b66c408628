"""What verification says about a candidate (caller side, built from the kernels' reports)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["STATUSES", "Status", "TestResult", "Verdict"]

Status = Literal["passed", "failed", "error", "timeout", "memory", "crashed", "invalid", "unserializable"]
STATUSES: tuple[Status, ...] = (
    "passed", "failed", "error", "timeout", "memory", "crashed", "invalid", "unserializable",
)


@dataclass(frozen=True)
class TestResult:
    """One test (an assert, or a compound statement holding asserts) run against a candidate."""

    passed: bool
    source: str
    line: int
    hidden: bool = False
    got: str | None = None
    """``repr`` of the value the candidate's side of the comparison produced (truncated)."""
    expected: str | None = None
    """``repr`` of the other side (or ``"< 3"`` style for other comparisons)."""
    error: str | None = None
    duration_s: float = 0.0
    """Time spent in calls to the candidate during this test, measured on the trusted side."""
    calls: tuple[dict[str, str], ...] = ()
    """The last few calls made in this test: ``call``, and ``got`` or ``raised``."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of running one candidate against a spec's tests.

    ``status`` is one of :data:`STATUSES`. Only ``"passed"`` means every test passed; ``invalid``
    means the source does not parse or does not define the function.
    """

    index: int
    status: Status
    passed: bool
    tests: tuple[TestResult, ...] = ()
    runtime_s: float | None = None
    """Median time per test (calls only), or ``None`` when no test called the candidate."""
    error: str | None = None
    stdout: str = ""
    output_bytes: int = 0

    @property
    def tests_passed(self) -> int:
        """How many tests passed."""
        return sum(t.passed for t in self.tests)

    @property
    def tests_total(self) -> int:
        """How many tests the spec has."""
        return len(self.tests)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (what ``jupyter-codesearch verify --json`` prints)."""
        out = asdict(self)
        out["tests"] = [asdict(t) for t in self.tests]
        return out

    @classmethod
    def from_report(cls, report: dict[str, Any], tests_by_line: dict[int, tuple[str, bool]]) -> Verdict:
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
        return cls(
            index=int(report["index"]), status=status, passed=status == "passed", tests=tests,
            runtime_s=report.get("runtime_s"), error=report.get("error"),
            stdout=report.get("stdout", ""), output_bytes=int(report.get("output_bytes", 0)),
        )

    @classmethod
    def lost(cls, index: int, status: Status, error: str) -> Verdict:
        """A verdict for a candidate whose kernel had to be restarted while it ran."""
        return cls(index=index, status=status, passed=False, error=error)
