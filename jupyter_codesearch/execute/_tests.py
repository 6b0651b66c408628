"""Running a spec's tests against one candidate, and the verdict that comes of it.

The tests run here, on the trusted side, with the function's name bound to a
:class:`~._candidate.Proxy`; the candidate only ever sees the calls' arguments. Shipped into
the kernel as source: standard library only.
"""

from __future__ import annotations

import os
import signal
import types
from dataclasses import dataclass, field
from typing import Any

from ._candidate import CandidateRaised, Proxy, Trial
from ._channel import Abort, alarm
from ._instrument import CMP_NAME, SEEN_NAME, TRUTH_NAME, Check, differences, record_cmp, record_seen, record_truth
from ._loaded import CONTEXT_S, LoadedSpec, SpecFailed, namespace, spec_code
from ._protocol import CallRecord, FirstMessage, LimitsPayload, ReportedTest, VerdictReport
from ._score import ScoreOutcome, score_candidate
from ._shown import text
from ._zygote import NotStarted, Spawner

__all__ = ["TestOutcome", "VerdictDraft", "abort_message", "verify_one"]

_CALLS_KEEP = 3
"""Calls shown per test: the last few say enough about where it went wrong."""


@dataclass
class TestOutcome:
    """One test as it ran; :meth:`report` is what the caller gets."""

    __test__ = False  # not a pytest test class, whatever its name says

    line: int
    source: str
    hidden: bool
    passed: bool = False
    got: str | None = None
    expected: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    calls: list[CallRecord] = field(default_factory=list)
    withheld: bool = False
    """A visible test run after a hidden one had called the candidate (tests as written): what
    it says may hold the hidden test's arguments, so it is never shown to a model."""

    def report(self) -> ReportedTest:
        """Without source and hidden flag (the caller has the spec) and without empty fields."""
        out: ReportedTest = {"line": self.line, "passed": self.passed, "duration_s": self.duration_s}
        if self.withheld:
            out["withheld"] = True
        if self.got is not None:
            out["got"] = self.got
        if self.expected is not None:
            out["expected"] = self.expected
        if self.error is not None:
            out["error"] = self.error
        if self.calls:
            out["calls"] = self.calls
        return out


@dataclass
class VerdictDraft:
    """A verdict being made; :meth:`report` is what the caller gets."""

    index: int
    status: str = "error"
    passed: bool = False
    tests: list[TestOutcome] = field(default_factory=list)
    runtime_s: float | None = None
    error: str | None = None
    stdout: str = ""
    output_bytes: int = 0
    scored: ScoreOutcome | None = None

    def report(self) -> VerdictReport:
        out: VerdictReport = {
            "index": self.index, "status": self.status, "passed": self.passed,
            "tests": [t.report() for t in self.tests], "runtime_s": self.runtime_s, "error": self.error,
            "stdout": self.stdout, "output_bytes": self.output_bytes}
        s = self.scored
        if s is not None and s.score is not None and s.interval is not None:
            out["score"], out["score_interval"], out["score_runs"] = s.score, list(s.interval), s.runs
        elif s is not None and s.error is not None:
            out["score_error"] = s.error
        return out


def verify_one(spawner: Spawner, spec: LoadedSpec, index: int, source: str, limits: LimitsPayload) -> VerdictReport:
    """Run ``spec``'s tests against one candidate, in a process ``spawner`` starts for it."""
    timeout = float(limits["timeout"])
    verdict = VerdictDraft(index)
    ns: dict[str, Any] = {}
    try:  # before the candidate's clock starts: the context is the user's, not the candidate's
        if spec.fast is None:
            with spec_code("the spec's context", CONTEXT_S):
                ns = namespace(spec)
    except Exception as e:
        verdict.error = f"the context failed: {type(e).__name__}: {text(e, 300)}"
        return _finish(spec, verdict).report()
    started = spawner.start(spec.zygote, spec.name, source, limits)
    if isinstance(started, NotStarted):
        verdict.status, verdict.error = started.status, started.error
        return _finish(spec, verdict).report()
    chan = started.chan
    trial = Trial(chan, started.deadline, spec.name, spec.plan, [t.hidden for t in spec.tests])
    trial.namespace = ns
    try:
        with alarm(started.deadline), spec_code("the tests' setup"):
            _run_tests(spec, trial, verdict)
            if verdict.passed and spec.score is not None and trial.abort is None:
                verdict.scored = score_candidate(spec, trial, limits)  # within the same deadline
    except Abort as e:  # from the alarm, outside any proxy call
        trial.abort = trial.abort or e
    finally:
        status = None
        if trial.abort is not None and trial.abort.status == "crashed" and not trial.abort.detail:
            status = spawner.reap(wait=True)  # its wait status explains the crash
        else:
            spawner.done_with(now=trial.abort is not None)
        chan.drain_output()
        chan.close()
    _finish(spec, verdict)
    verdict.stdout = chan.output.decode(errors="replace")
    verdict.output_bytes = chan.output_bytes
    if trial.abort is not None:
        verdict.status = trial.abort.status
        # Read before abort_message, which renames a CPU-limit kill to "timeout" only in the
        # message it returns and on the abort (as the evaluator did before it was split).
        verdict.error = abort_message(trial.abort, status, timeout)
    durations = sorted(t.duration_s for t in verdict.tests if t.calls)
    if durations:
        verdict.runtime_s = durations[len(durations) // 2]
    if trial.answered_in is not None and durations and trial.abort is None:
        # Answers streamed in one go cannot be timed one by one here, and the candidate's own
        # split can be faked; the total since it received the arguments cannot. Mean, then.
        verdict.runtime_s = trial.answered_in / len(durations)
    return verdict.report()


def _definition_ok(trial: Trial, verdict: VerdictDraft) -> bool:
    """Read the first message: whether the candidate parsed, defined the function, imported."""
    first: FirstMessage | None = trial.chan.recv(trial.deadline) if trial.abort is None else None  # type: ignore[assignment]
    if first is None:
        trial.abort = trial.abort or Abort("crashed", "")
        return False
    if "invalid" in first:
        verdict.status, verdict.error = "invalid", text(first["invalid"], 500)
        return False
    if "exit" in first:
        trial.abort = Abort("crashed", f"raised {text(first['exit'], 100)} while being defined")
        return False
    if "raised" in first:
        kind = text(first["raised"], 100)
        if kind == "MemoryError":
            trial.abort = Abort("memory", "ran out of memory while being defined")
            return False
        msg = text(first.get("message", ""), 500)
        verdict.status = "error"
        verdict.error = (f"raised {kind}: {msg}" if msg else f"raised {kind}") + " while being defined"
        return False
    return True


def _run_tests(spec: LoadedSpec, trial: Trial, verdict: VerdictDraft) -> None:
    if not _definition_ok(trial, verdict):
        return
    trial.prefetch()
    ns = trial.namespace
    if spec.fast is None:
        ns = trial.namespace = namespace(spec)
    ns[spec.name] = Proxy(trial, spec.name)
    ns[CMP_NAME] = lambda a, b, op, got_left: record_cmp(trial, a, b, op, got_left)
    ns[TRUTH_NAME] = lambda v, negate: record_truth(trial, v, negate)
    ns[SEEN_NAME] = lambda v, role: record_seen(trial, v, role)
    tests = verdict.tests
    raised_by_candidate = False
    hidden_called = False  # a hidden step has sent the candidate its arguments
    broken_setup: str | None = None
    try:
        fast = iter(spec.fast or ())
        for step in spec.steps:
            if trial.abort is not None:
                break
            if step.kind == "setup" and spec.fast:
                continue  # already run, once, to compute what the fast checks compare with
            code: types.CodeType | Check = next(fast) if step.kind == "test" and spec.fast else step.code
            if step.kind == "setup":
                if broken_setup is None:
                    live = trial.live
                    try:
                        exec(step.code, ns)
                    except Exception as e:
                        broken_setup = f"setup at line {step.line} raised {type(e).__name__}: {text(e, 200)}"
                        raised_by_candidate |= isinstance(e, CandidateRaised)
                    hidden_called |= step.hidden and trial.live > live
                continue
            result = TestOutcome(step.line, step.source, step.hidden, withheld=hidden_called and not step.hidden)
            tests.append(result)
            if broken_setup is not None:
                result.error = broken_setup
                continue
            live = trial.live
            raised_by_candidate |= _run_test(trial, code, ns, result)
            hidden_called |= step.hidden and trial.live > live
    except Abort as e:
        trial.abort = trial.abort or e
    if trial.abort is None:
        _judge(verdict, raised_by_candidate)


def _judge(verdict: VerdictDraft, raised_by_candidate: bool) -> None:
    tests = verdict.tests
    if tests and all(t.passed for t in tests):
        verdict.status, verdict.passed = "passed", True
        return
    verdict.status = "error" if raised_by_candidate else "failed"
    failing = next(t for t in tests if not t.passed)
    if raised_by_candidate:  # point at the test the candidate raised in
        failing = next((t for t in tests if (t.error or "").startswith("the candidate")), failing)
    verdict.error = f"line {failing.line}: " + (failing.error or "assertion failed")


def _run_test(trial: Trial, code: types.CodeType | Check, ns: dict[str, Any], result: TestOutcome) -> bool:
    """Run one test; fill in ``result``; True when it failed because the candidate raised."""
    trial.seen = {}
    first_call = len(trial.calls)
    before = trial.call_time
    by_candidate = False
    try:
        if callable(code):
            code(trial)
        else:
            exec(code, ns)
        result.passed = True
    except Abort:
        result.error = "not run to the end: the candidate stopped"
        raise
    except (SystemExit, KeyboardInterrupt) as e:  # only the test's own code raises these here
        raise SpecFailed(f"the test at line {result.line} raised {type(e).__name__}") from None
    except Exception as e:
        by_candidate = isinstance(e, CandidateRaised)
        if isinstance(e, AssertionError) and not by_candidate:
            said = " ".join(str(e).split())[:500] or differences(trial)  # a frame's or array's differences
            result.error = f"AssertionError: {said}" if said else None
        else:
            who = "the candidate raised " if by_candidate else ""
            where = getattr(e, "where", "")
            result.error = f"{who}{type(e).__name__}: {str(e)[:300]}" + (f" ({where})" if where else "")
    finally:
        result.duration_s = trial.call_time - before
        if "got" in trial.seen:
            result.got = trial.seen["got"]
        if "expected" in trial.seen:
            result.expected = trial.seen["expected"]
        result.calls = trial.calls[first_call:][-_CALLS_KEEP:]
    return by_candidate


def _finish(spec: LoadedSpec, verdict: VerdictDraft) -> VerdictDraft:
    """Tests never reached (invalid, crashed, stopped early) are listed too, as not passed."""
    done = {t.line for t in verdict.tests}
    for step in spec.tests:
        if step.line not in done:
            verdict.tests.append(TestOutcome(step.line, step.source, step.hidden, error="not run"))
    return verdict


def abort_message(abort: Abort, status: int | None, timeout: float) -> str:
    """Why a candidate stopped, in words: its abort's detail, or its wait ``status`` explained."""
    if abort.detail:
        return abort.detail
    if abort.status == "timeout":
        return f"timed out after {timeout:g} s"
    if status is not None and os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            abort.status = "timeout"
            return f"used more than its CPU time limit ({timeout:g} s)"
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by {name}"
    if status is not None and os.WIFEXITED(status):
        return f"exited with status {os.WEXITSTATUS(status)} before returning"
    return "the candidate process died"
