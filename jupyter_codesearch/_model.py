"""The data model: what a search is made of, shared by every stage.

Plain frozen dataclasses that import no stage (spec, generate, execute, rank, search, ui): any
stage may use them, none of them calls back into a stage. Ranking fills in a candidate's
``cluster``, ``cluster_size`` and ``rank_reason`` by returning a copy (see ``rank._policy``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT_S",
    "MAX_TIMEOUT_S",
    "MIN_MEMORY_MB",
    "STATUSES",
    "Behaviour",
    "BehaviourKind",
    "Candidate",
    "Cluster",
    "Disagreement",
    "Limits",
    "Progress",
    "Status",
    "TestResult",
    "Verdict",
]

DEFAULT_TIMEOUT_S = 2.0
"""Seconds per candidate, unless told otherwise (the one place this default is written)."""
DEFAULT_MEMORY_MB = 512
"""Memory a candidate may add, MB."""
MIN_MEMORY_MB = 16
"""Less leaves a candidate no room to run at all."""
MAX_TIMEOUT_S = 3600.0
"""An hour per candidate: more (``inf``, ``1e300``) cannot be turned into CPU limits and timers."""

Status = Literal["passed", "failed", "error", "timeout", "memory", "crashed", "invalid", "unserializable"]
STATUSES: tuple[Status, ...] = (
    "passed", "failed", "error", "timeout", "memory", "crashed", "invalid", "unserializable",
)


@dataclass(frozen=True)
class Limits:
    """Per-candidate resource limits."""

    timeout: float = DEFAULT_TIMEOUT_S
    """Wall-clock seconds for the whole candidate (definition and every test)."""
    memory_mb: int = DEFAULT_MEMORY_MB
    """Address space a candidate may add to the zygote's."""


@dataclass(frozen=True)
class TestResult:
    """One test (an assert, or a compound statement holding asserts) run against a candidate."""

    __test__ = False  # not a pytest test class, whatever its name says

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
    withheld: bool = False
    """A visible test that ran after a hidden one had called the candidate: what it says may
    hold that hidden test's arguments, so repair prompts leave it out (as hidden tests)."""


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
    cached: bool = False
    """Taken from the verdict cache (the same program, tests and limits judged before), not run again."""
    score: float | None = None
    """What the cell's ``@score`` function made of it (passing candidates only): the number it
    returned, or with ``--optimize runtime`` the median seconds of its calls."""
    score_interval: tuple[float, float] | None = None
    """95% interval of a runtime score (the score twice for a returned value)."""
    score_error: str | None = None
    """Why a passing candidate has no score: the score function raised, hung or ran out of memory."""
    score_from: int | None = None
    """The candidate whose score this one has: it behaves the same on every probe, so its value
    score was taken over rather than computed again (``None``: scored itself; see ``run._sharing``)."""

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
        out["score_interval"] = list(self.score_interval) if self.score_interval is not None else None
        return out

    @classmethod
    def lost(cls, index: int, status: Status, error: str) -> Verdict:
        """A verdict for a candidate whose verification could not finish (its kernel was lost)."""
        return cls(index=index, status=status, passed=False, error=error)


BehaviourKind = Literal["value", "raised", "timeout", "crashed", "unserializable", "invalid"]


@dataclass(frozen=True)
class Behaviour:
    """What a candidate did on one probe input: returned a value, raised, hung, or died.

    Two behaviours are the same when ``kind`` and ``detail`` are (``detail`` is a digest of the
    canonical value for ``value``, the exception's name for ``raised``); ``shown`` is for people.
    """

    kind: BehaviourKind
    detail: str = ""
    shown: str = ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Behaviour) and (self.kind, self.detail) == (other.kind, other.detail)

    def __hash__(self) -> int:
        return hash((self.kind, self.detail))

    @property
    def failed(self) -> bool:
        """Not a value: an exception, a timeout, a crash, or an answer that is not data."""
        return self.kind != "value"

    @property
    def text(self) -> str:
        """What to show: the value's repr, ``raises ValueError``, ``timeout``, ..."""
        return self.shown or (f"raises {self.detail}" if self.kind == "raised" else self.kind)


@dataclass(frozen=True)
class Candidate:
    """One distinct program (duplicates by normalised AST are merged into ``samples``)."""

    id: int
    code: str
    origin: str
    """``"llm"`` or ``"synth"``."""
    model: str | None
    round: int
    parent: int | None = None
    """For repair rounds: the candidate whose failures the prompt showed."""
    samples: int = 1
    """How many samples produced this program (votes)."""
    synth_samples: int = 0
    """How many of those came from the offline synthesizer (which votes once per behaviour)."""
    tokens: int = 0
    cost: float | None = 0.0
    size: int = 0
    """AST nodes (formatting does not count)."""
    verdict: Verdict | None = None
    invalid_reason: str | None = None
    """Why nothing runnable came out of the reply (no code, syntax error, no function)."""
    key: str = ""
    behaviours: tuple[Behaviour, ...] | None = None
    """Behaviour on each probe input (passing candidates only), comparable across candidates."""
    cluster: int | None = None
    """Behaviour cluster (1 = heaviest) in ``SearchRun.ranked()``; ``None`` outside one."""
    cluster_size: int | None = None
    """Votes behind the cluster (samples; the synthesizer's count once)."""
    rank_reason: str = ""
    """Why it ranks where it does, in words (filled in by ``SearchRun.ranked()``)."""

    @property
    def status(self) -> str:
        """The verdict's status; ``invalid`` when no code was found; ``pending`` until verified."""
        if self.invalid_reason is not None:
            return "invalid"
        return self.verdict.status if self.verdict is not None else "pending"

    @property
    def verified(self) -> bool:
        """Judged already (a verdict, or invalid without needing one)."""
        return self.verdict is not None or self.invalid_reason is not None

    @property
    def passed(self) -> bool:
        """Passed every test, hidden ones included."""
        return self.verdict is not None and self.verdict.passed

    @property
    def tests_passed(self) -> int:
        """Tests passed (0 until verified)."""
        return self.verdict.tests_passed if self.verdict is not None else 0

    @property
    def tests_total(self) -> int:
        """Tests in the spec (0 until verified)."""
        return self.verdict.tests_total if self.verdict is not None else 0

    @property
    def runtime_s(self) -> float | None:
        """Median time per test, seconds."""
        return self.verdict.runtime_s if self.verdict is not None else None

    @property
    def score(self) -> float | None:
        """Its score (see :attr:`Verdict.score`), ``None`` when not scored."""
        return self.verdict.score if self.verdict is not None else None

    @property
    def error(self) -> str | None:
        """Why it did not pass, in one line."""
        if self.invalid_reason is not None:
            return self.invalid_reason
        return self.verdict.error if self.verdict is not None else None

    @property
    def votes(self) -> int:
        """Samples a model drew of this program (the synthesizer's count in its cluster's vote)."""
        return self.samples - self.synth_samples


@dataclass(frozen=True)
class Progress:
    """A snapshot of a run, for progress displays."""

    state: str
    """``starting``, ``running``, ``done``, ``stopped`` or ``failed``."""
    round: int
    generated: int
    """Samples received (before merging duplicates), synthesizer programs included."""
    candidates: int
    verified: int
    passing: int
    tokens: int
    cost: float | None
    """USD spent on requests (``None`` when the model's price is unknown)."""
    requests: int
    elapsed: float
    explored: int = 0
    """Expressions the offline synthesizer explored."""


@dataclass(frozen=True)
class Cluster:
    """Passing candidates with the same behaviour on every in-domain probe. ``id`` 1 ranks first."""

    id: int
    members: tuple[int, ...]
    weight: int
    """Votes: the samples behind the members, the synthesizer's counting once."""
    failures: int
    """In-domain probes on which this behaviour is an exception, a timeout or a crash."""
    behaviours: tuple[Behaviour, ...]
    """Its representative's behaviour on every probe."""
    representative: int = -1
    """The member shown for it: the program most samples gave, then the fastest, the smallest."""
    agreed: int = 0
    """Model-written tests whose expected answer this behaviour gives."""
    checked: int = 0
    """Model-written tests with an answer among the probes."""
    doc_agreed: int = 0
    """Examples of the stub's docstring whose answer this behaviour gives."""
    doc_checked: int = 0
    score: float = 0.0
    """What orders clusters (see ``rank._policy.cluster_score``)."""

    @property
    def shown(self) -> tuple[str, ...]:
        """Each probe's behaviour as text."""
        return tuple(b.text for b in self.behaviours)


@dataclass(frozen=True)
class Disagreement:
    """A probe input on which the top clusters behave differently: a forgotten assert."""

    args: tuple[Any, ...]
    call: str
    """``f(1, 'a')``: the call as the user would write it."""
    outputs: tuple[tuple[int, Behaviour], ...]
    """``(cluster id, what it returns or raises)`` for each of the top clusters."""

    def assert_line(self, cluster: int) -> str | None:
        """The assert that would make ``cluster``'s answer the expected one (``None`` if it
        raised, hung or died: no literal states that)."""
        for cid, b in self.outputs:
            if cid == cluster and not b.failed:
                return f"assert {self.call} == {b.text}"
        return None
