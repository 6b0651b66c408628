"""Every message that crosses a process boundary, with one table of operation names and one of
size limits.

Four conversations, each between two processes:

* **caller ↔ kernel**: the caller runs ``__cs__.<Op>(<payload>)`` in a verification kernel
  (:class:`KernelConfig` once, then :class:`SpecPayload`, :class:`BatchPayload`,
  :class:`ProbeBatchPayload`); the kernel publishes :class:`Published` reports
  (:class:`VerdictReport`, :class:`ProbeReport`) as ``display_data`` with :data:`MIME`.
* **kernel ↔ zygote**: length-prefixed JSON over a socket pair (``_codec.send_msg``), each
  message with an ``op``; ``spawned`` carries the candidate's socket and output pipe.
* **evaluator ↔ candidate**: the same framing on the candidate's socket. The trusted side sends
  ``call`` and ``plan`` requests; the candidate's messages carry no ``op``: which key is present
  says what it is (``ready``, ``invalid``, ``raised``/``exit``, ``value``, ``unserializable``),
  one field fewer to encode per answer on the candidate's hot path.
* **synthesizer worker ↔ caller**: one :class:`SynthRequest` line in, :class:`SynthLine` lines out.

Shipped into the kernel and the sandbox as source, like ``_codec``: standard library only.
"""

from __future__ import annotations

import enum
from typing import Any, Final, Literal, TypedDict

__all__ = [
    "CONTEXT_MODULE",
    "MIME",
    "Answer",
    "BatchPayload",
    "BehaviourReport",
    "CallRecord",
    "CallRequest",
    "CandidatePayload",
    "ContextReply",
    "ContextRequest",
    "Described",
    "FirstMessage",
    "Hello",
    "ItemPayload",
    "KernelConfig",
    "LimitsPayload",
    "ObjectPayload",
    "Op",
    "PlanCall",
    "PlanRequest",
    "PlannedCall",
    "ProbeBatchPayload",
    "ProbeReport",
    "Published",
    "ReapRequest",
    "Reaped",
    "ReportedTest",
    "SandboxLimits",
    "ScorePayload",
    "Size",
    "SourceMessage",
    "SpawnRequest",
    "Spawned",
    "SpecPayload",
    "Stale",
    "SynthLine",
    "SynthRequest",
    "VerdictReport",
]

MIME: Final = "application/vnd.codesearch.verdict+json"
"""The MIME type of the kernel's reports in ``display_data``: nothing else uses it."""

CONTEXT_MODULE: Final = "__codesearch_ctx__"
"""Module the context runs in, on both sides, so pickled context classes resolve alike."""


class Op(str, enum.Enum):
    """Every operation name, in one table. Members are ``str``: they go on the wire as is."""

    # caller -> kernel: the Evaluator methods the caller runs, by name, in the kernel
    LOAD_SPEC = "load_spec"
    RUN_BATCH = "run_batch"
    RUN_PROBES = "run_probes"
    # kernel <-> zygote
    HELLO = "hello"
    CONTEXT = "context"
    SPAWN = "spawn"
    SPAWNED = "spawned"
    REAP = "reap"
    REAPED = "reaped"
    STALE = "stale"
    # evaluator -> candidate
    SOURCE = "source"
    CALL = "call"
    PLAN = "plan"

    # As StrEnum (3.11) does: formatted, a member is its value (it is put into code and messages).
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Size:
    """Every size limit on what crosses a boundary, in one table (bytes)."""

    MESSAGE: Final = 64 << 20
    """One framed message between kernel and zygote, or one encoded value (``_codec.decode``):
    far above any real context or spawn (a source is at most :attr:`SOURCE`), low enough that a
    corrupt length prefix cannot make a process allocate gigabytes."""
    ANSWERS: Final = 16 << 20
    """Everything one candidate sends the trusted side, in all: bounds what the kernel holds and
    decodes for it (a model's function has no business returning more; it is not a pass)."""
    SOURCE: Final = 512 << 10
    """A candidate's source: a model's reply is a few KB; more is not a program to compile."""
    OUTPUT_KEPT: Final = 4096
    """A candidate's stdout and stderr kept for its verdict; the rest is drained and counted."""
    FILE: Final = 16 << 20
    """``RLIMIT_FSIZE`` of a candidate: room for scratch files, not for filling the sandbox's
    256 MB ``/tmp`` (a candidate that writes there gets a fresh sandbox after it)."""


# -- caller <-> kernel ------------------------------------------------------------------------------


class KernelConfig(TypedDict):
    """``Evaluator(cfg)``: how this kernel starts its zygote."""

    python: str
    zygote_prefix: list[str]
    """bubblewrap arguments before the zygote's command (empty without a sandbox); last is ``--``."""
    zygote_env: dict[str, str]
    zygote_boot: str
    """Python source that installs the shipped modules and runs ``_sandbox.zygote_main``."""
    tmp: str
    context_timeout: float
    cpu: int | None
    """The core this kernel, its zygote and candidates keep to."""


class ObjectPayload(TypedDict):
    """A ``--use`` value: its name and its pickle, hex-encoded (JSON has no bytes)."""

    name: str
    pickle: str


class ItemPayload(TypedDict):
    kind: Literal["test", "setup"]
    source: str
    line: int
    hidden: bool


class PlannedCall(TypedDict):
    """A call every candidate will get, known before any runs (see ``spec._calls.planned_calls``)."""

    args: Any
    """``_codec`` tree of the positional argument list."""
    kwargs: Any
    """``_codec`` tree of the keyword-argument dict."""
    label: str
    """The call as shown in verdicts: ``f(1, 'a')``."""


class ScorePayload(TypedDict):
    """The cell's ``@score`` function (source without the decorator), run on passing candidates."""

    source: str
    name: str
    line: int
    mode: Literal["value", "runtime"]
    """``value``: the number it returns; ``runtime``: the time its calls to the candidate take."""


class _SpecKeys(TypedDict):

    key: str
    name: str
    preamble: str
    context: str
    objects: list[ObjectPayload]
    items: list[ItemPayload]
    plan: list[PlannedCall] | None
    """The tests' calls in order when every test is ``assert name(<literals>) ...``; else None."""


class SpecPayload(_SpecKeys, total=False):
    """``load_spec``: a spec, once per kernel (keyed by ``Spec.key``)."""

    score: ScorePayload


class LimitsPayload(TypedDict):
    timeout: float
    memory_mb: int


class CandidatePayload(TypedDict):
    index: int
    """The pool's job number for this candidate (reports carry it back)."""
    source: str


class BatchPayload(TypedDict):
    """``run_batch``: candidates to verify against a loaded spec."""

    key: str
    candidates: list[CandidatePayload]
    limits: LimitsPayload


class ProbeBatchPayload(BatchPayload):
    """``run_probes``: candidates to run on probe inputs instead of the tests."""

    probes: list[Any]
    """Each probe's positional argument list, as a ``_codec`` tree."""


class CallRecord(TypedDict, total=False):
    """One call a test made, as shown: ``call``, and ``got`` or ``raised``."""

    call: str
    got: str
    raised: str


class _ReportedTestKeys(TypedDict):
    line: int
    passed: bool


class ReportedTest(_ReportedTestKeys, total=False):
    """One test's outcome. Source and hidden flag stay behind (the caller has the spec, by line),
    and empty fields are left out: verdicts are most of the traffic back to the caller."""

    got: str
    expected: str
    error: str
    duration_s: float
    calls: list[CallRecord]
    withheld: bool
    """Never shown to a model: it ran after a hidden test had called the candidate."""


class _VerdictKeys(TypedDict):
    index: int
    status: str
    passed: bool
    tests: list[ReportedTest]
    runtime_s: float | None
    error: str | None
    stdout: str
    output_bytes: int


class VerdictReport(_VerdictKeys, total=False):
    """One candidate's verdict; the score fields only for a spec with a ``@score`` function."""

    score: float
    """Set for a passing candidate scored by the spec's ``@score`` function."""
    score_interval: list[float]
    """``[low, high]``: 95% interval of a runtime score (both the score for a returned value)."""
    score_runs: int
    score_error: str
    """Why a passing candidate has no score (the score function raised, hung, ran out of memory)."""


class BehaviourReport(TypedDict):
    """What a candidate did on one probe: ``_model.Behaviour``'s fields, as data."""

    kind: str
    detail: str
    shown: str


class ProbeReport(TypedDict):
    index: int
    behaviours: list[BehaviourReport]


class Published(TypedDict, total=False):
    """One ``display_data`` message: a few reports of one kind."""

    verdicts: list[VerdictReport]
    probes: list[ProbeReport]
    spec_error: str
    """The spec cannot be run (its context or tests exit, interrupt, or pass their deadline):
    the batch ends without verdicts and the caller raises ``SpecError``."""


# -- kernel <-> zygote ------------------------------------------------------------------------------


class Hello(TypedDict):
    """In the sandbox, carries descriptors of its scratch mounts (``/tmp``, ``/dev/shm``): what
    is written there counts against the candidate's memory (``fstatvfs``)."""

    op: Literal[Op.HELLO]
    pid: int
    pidns: bool
    """The zygote is PID 1 of its own PID namespace (the sandbox): a reap is one ``kill(-1)``."""


class ContextRequest(TypedDict):
    """What the zygote holds for its candidates; also the key telling whether it must restart."""

    op: Literal[Op.CONTEXT]
    preamble: str
    objects: list[ObjectPayload]
    source: str


class Described(TypedDict, total=False):
    """An exception, by name only: ``raised`` (an Exception) or ``exit`` (SystemExit and the like)."""

    raised: str
    exit: str
    message: str
    where: str
    """``line N`` of the candidate, when it was raised there."""
    at_import: bool
    t: float


class ContextReply(TypedDict, total=False):
    op: Literal[Op.CONTEXT]
    ok: bool
    error: Described
    threads: int


class SandboxLimits(TypedDict):
    """A candidate's rlimits."""

    cpu_s: int
    fsize: int
    as_bytes: int | None
    """The zygote's address space plus what the candidate may add; None when unknown."""
    nproc: int | None
    """Processes per user namespace: only set inside the sandbox (outside it, it is per user)."""


class SpawnRequest(TypedDict):
    """No source: a candidate's source goes to its own process only (:class:`SourceMessage`)."""

    op: Literal[Op.SPAWN]
    name: str
    limits: SandboxLimits


class Spawned(TypedDict):
    """Carries two descriptors: the candidate's call socket and its output pipe."""

    op: Literal[Op.SPAWNED]


class Stale(TypedDict):
    """The answer to ``spawn`` once a candidate has written to the scratch space: no candidate
    gets what an earlier one left, so the kernel replaces the zygote (fresh mounts) and asks
    the new one."""

    op: Literal[Op.STALE]


class ReapRequest(TypedDict):
    op: Literal[Op.REAP]
    wait: bool
    """Collect the candidate's wait status (to explain a crash); otherwise only kill."""


class Reaped(TypedDict):
    op: Literal[Op.REAPED]
    status: int | None


# -- evaluator <-> candidate ------------------------------------------------------------------------


class SourceMessage(TypedDict):
    """The first message a candidate process gets: its source, compiled there. Never sent to
    the zygote, whose memory every later candidate inherits (freed memory too)."""

    op: Literal[Op.SOURCE]
    source: str


class FirstMessage(Described, total=False):
    """The candidate's first message: ``ready``, ``invalid`` (does not compile, or no such
    function), or how its definition raised (:class:`Described` with ``at_import``)."""

    ready: bool
    invalid: str


class CallRequest(TypedDict, total=False):
    """One live call: plain-data arguments as trees, or a pickle made by the trusted side."""

    op: Literal[Op.CALL]
    args: Any
    kwargs: Any
    pickle: str


class PlanCall(TypedDict):
    args: Any
    kwargs: Any


class PlanRequest(TypedDict):
    """Every planned call at once, sent after the candidate is defined; answered in order."""

    op: Literal[Op.PLAN]
    calls: list[PlanCall]


class Answer(Described, total=False):
    """The answer to one call: a value (and the arguments' new value if it mutated them), an
    unserializable result, or an exception (:class:`Described`). ``t`` is the candidate's own
    timing of the call, which the trusted side only uses bounded by what it observed."""

    value: Any
    args: Any
    unserializable: str


# -- synthesizer worker <-> caller ------------------------------------------------------------------


class SynthRequest(TypedDict):
    """One line on the worker's stdin."""

    examples: list[list[Any]]
    """``[args tree, expected tree]`` pairs."""
    params: list[str]
    name: str
    time_limit: float
    max_programs: int


class SynthLine(TypedDict, total=False):
    """One line on the worker's stdout: exactly one of these keys; ``done`` comes last."""

    program: str
    progress: dict[str, Any]
    unsupported: str
    done: bool
