"""SearchRun driven in-process through its two seams: a fake source and a fake verifier.

No kernels, no HTTP server: these pin the run's own logic (stop, time limit, rounds, budget,
dedupe, overlap) and each takes well under a second. The real parts are tested elsewhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import pytest

from jupyter_codesearch import ConfigError, SearchConfig, Spec
from jupyter_codesearch._model import Behaviour, Limits, TestResult, Verdict
from jupyter_codesearch._seams import ProbeSet, RoundRequest, Sample, SourceCounters
from jupyter_codesearch.generate._llm import Budget
from jupyter_codesearch.run import SearchRun, search

SPEC = Spec.parse('''
def inc(x):
    """x plus one."""

assert inc(1) == 2
assert inc(5) == 6  # hidden
''')
RIGHT = "def inc(x):\n    return x + 1\n"
ALSO_RIGHT = "def inc(x):\n    return 1 + x\n"
WRONG = "def inc(x):\n    return x\n"


def fenced(code: str) -> str:
    return f"```python\n{code}```"


@dataclass
class FakeSource:
    """Replies per round from a script; ``delay`` seconds before each; a budget in samples."""

    rounds: dict[int, list[str]]
    delay: float = 0.0
    budget: int | None = None
    requests: list[RoundRequest] = field(default_factory=list)
    sent: int = 0
    stopped: str | None = None
    fail_check: Exception | None = None

    def check(self) -> None:
        if self.fail_check is not None:
            raise self.fail_check

    async def samples(self, request: RoundRequest) -> AsyncIterator[Sample]:
        self.requests.append(request)
        for text in self.rounds.get(request.round, [])[: request.n]:
            if self.budget is not None and self.sent >= self.budget:
                self.stopped = f"budget reached: {self.sent} samples"
                return
            await asyncio.sleep(self.delay)
            self.sent += 1
            yield Sample(fenced(text), "llm", "fake/model", request.round, tokens=10, cost=0.001)

    async def ask(self, prompt: str, samples: int = 1) -> list[str]:
        return []

    def counters(self) -> SourceCounters:
        return SourceCounters(requests=self.sent, tokens=10 * self.sent, cost=0.001 * self.sent)

    def notices(self) -> list[str]:
        return [self.stopped] if self.stopped else []

    def more_rounds(self) -> bool:
        return True


@dataclass
class FakeVerifier:
    """Passes a program whose ``inc(1)`` and ``inc(5)`` are right, by evaluating it here: the
    fake trusts its own test programs, which the real verifier never does."""

    delay: float = 0.0
    runtime_s: float = 1e-4
    verified: list[str] = field(default_factory=list)
    probed: list[tuple[str, int]] = field(default_factory=list)
    started: bool = False
    fail_start: Exception | None = None

    async def start(self) -> None:
        if self.fail_start is not None:
            raise self.fail_start
        self.started = True

    def _answers(self, source: str, args: Sequence[int]) -> list[int]:
        ns: dict[str, object] = {}
        exec(source, ns)
        fn: Callable[[int], int] = ns["inc"]  # type: ignore[assignment]
        return [fn(a) for a in args]

    async def verify(self, spec: Spec, index: int, source: str, limits: Limits) -> Verdict:
        await asyncio.sleep(self.delay)
        self.verified.append(source)
        got = self._answers(source, [1, 5])
        tests = tuple(
            TestResult(g == a + 1, t.source, t.line, t.hidden, got=repr(g), expected=repr(a + 1))
            for g, a, t in zip(got, [1, 5], spec.tests, strict=True)
        )
        ok = all(t.passed for t in tests)
        return Verdict(index, "passed" if ok else "failed", ok, tests, runtime_s=self.runtime_s)

    async def probe(
        self, spec: Spec, index: int, source: str, probes: ProbeSet, limits: Limits, urgent: bool = False
    ) -> list[Behaviour]:
        from jupyter_codesearch.execute._codec import from_tree

        self.probed.append((source, len(probes)))
        inputs = [from_tree(t)[0] for t in probes.trees]  # type: ignore[index]
        return [Behaviour("value", repr(v), repr(v)) for v in self._answers(source, [0, -3, *inputs])][2:]

    def notices(self) -> list[str]:
        return []


def start(source: FakeSource, verifier: FakeVerifier | None = None, **options: object) -> SearchRun:
    config = SearchConfig().with_(**options)
    return search(SPEC, config, source=source, verifier=verifier or FakeVerifier(), wait=False)


def test_duplicates_merge_into_votes_and_are_verified_once() -> None:
    verifier = FakeVerifier()
    run = start(FakeSource({1: [RIGHT, RIGHT, ALSO_RIGHT, WRONG]}), verifier).wait(5)
    assert run.progress.state == "done" and run.progress.generated == 4
    assert sorted(c.samples for c in run.candidates) == [1, 1, 2]
    assert verifier.verified.count(RIGHT) == 1 and len(verifier.verified) == 3
    best = run.best
    assert best is not None and best.code == RIGHT and best.cluster == 1 and best.cluster_size == 3
    assert "behaviour cluster 1 (3 votes)" in best.rank_reason


def test_stop_ends_the_run_promptly_and_keeps_what_was_verified() -> None:
    run = start(FakeSource({1: [RIGHT] + [WRONG] * 50}, delay=0.05))
    deadline = time.monotonic() + 5
    while run.progress.verified < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    run.stop()
    assert run.wait(2).done
    assert run.progress.state == "stopped" and "stopped by the user" in run.notices
    assert run.best is not None and run.progress.generated < 51


def test_the_time_limit_stops_the_run_and_says_so() -> None:
    began = time.monotonic()
    run = start(FakeSource({1: [RIGHT] * 100}, delay=0.05), time_limit=0.3).wait(5)
    assert run.progress.state == "stopped" and time.monotonic() - began < 2
    assert "time limit of 0.3 s reached" in run.notices


def test_repair_rounds_show_failing_candidates_with_visible_failures_only() -> None:
    source = FakeSource({1: [WRONG], 2: [RIGHT, RIGHT]})
    run = start(source, rounds=3, n=2, until_pass=True).wait(5)
    assert [r.round for r in source.requests] == [1, 2]  # until_pass: no third round
    [(shown, failures)] = source.requests[1].repairs
    assert shown.code == WRONG and failures == ("`assert inc(1) == 2`: got 1, expected 2",)  # not the hidden one
    best = run.best
    assert best is not None and best.round == 2 and best.samples == 2


def test_a_round_with_nothing_to_repair_asks_for_fresh_samples() -> None:
    source = FakeSource({1: [RIGHT], 2: [ALSO_RIGHT]})
    run = start(source, rounds=2).wait(5)
    assert run.progress.state == "done" and source.requests[1].repairs == ()
    assert {c.round for c in run.candidates} == {1, 2}


def test_a_spent_budget_ends_generation_with_the_sources_notice() -> None:
    run = start(FakeSource({1: [RIGHT, WRONG, ALSO_RIGHT]}, budget=2)).wait(5)
    assert run.progress.state == "done" and run.progress.generated == 2
    assert "budget reached: 2 samples" in run.notices
    assert (run.progress.tokens, run.progress.requests) == (20, 2) and run.progress.cost == pytest.approx(0.002)


def test_the_llm_budget_check_says_why_and_changes_nothing() -> None:
    budget = Budget(max_tokens=100)
    assert budget.exhausted() is None
    budget.spend(150, None)
    assert budget.exhausted() == "budget reached: 150 of 100 tokens spent" == budget.exhausted()
    assert budget.cost_unknown


def test_without_overlap_verification_waits_for_generation() -> None:
    verifier = FakeVerifier()
    source = FakeSource({1: [RIGHT, WRONG]}, delay=0.1)
    run = start(source, verifier, overlap=False)
    time.sleep(0.15)  # the first sample is in, generation is not over
    assert run.progress.generated >= 1 and verifier.verified == []
    run.wait(5)
    assert len(verifier.verified) == 2 and run.best is not None


def test_a_source_that_cannot_work_fails_the_run_before_verification_starts() -> None:
    verifier = FakeVerifier()
    run = start(FakeSource({}, fail_check=ConfigError("no examples")), verifier).wait(5)
    assert run.progress.state == "failed" and isinstance(run.error, ConfigError)
    assert not verifier.started


def test_verification_that_cannot_start_fails_the_run_at_once() -> None:
    from jupyter_codesearch import SandboxError

    began = time.monotonic()
    verifier = FakeVerifier(fail_start=SandboxError("no kernels today"))
    run = start(FakeSource({1: [RIGHT] * 100}, delay=0.05), verifier).wait(5)
    assert run.progress.state == "failed" and str(run.error) == "no kernels today"
    assert time.monotonic() - began < 1


def test_an_internal_error_is_one_message_and_keeps_its_cause() -> None:
    class Broken(FakeVerifier):
        def notices(self) -> list[str]:
            raise ZeroDivisionError("oops")

    run = start(FakeSource({1: [RIGHT]}), Broken()).wait(5)
    assert run.progress.state == "failed" and run.error is not None
    assert str(run.error) == "internal error: ZeroDivisionError: oops"
    assert isinstance(run.error.__cause__, ZeroDivisionError)


def test_a_clear_leader_stops_sampling_early_and_says_how_many_were_saved() -> None:
    source = FakeSource({1: [RIGHT] * 60}, delay=0.02)
    run = start(source, n=60).wait(10)
    assert run.progress.state == "done" and run.best is not None
    assert run.progress.generated < 30
    [note] = [n for n in run.notices if n.startswith("stopped drawing samples")]
    assert "samples saved; --all-samples draws them all" in note


def test_all_samples_draws_every_sample_however_clear_the_leader() -> None:
    run = start(FakeSource({1: [RIGHT] * 40}, delay=0.002), n=40, confident=False).wait(10)
    assert run.progress.generated == 40
    assert not any(n.startswith("stopped drawing samples") for n in run.notices)


def test_a_close_race_draws_on() -> None:
    # Two behaviours in turn: neither can be called the leader, so every sample is drawn.
    run = start(FakeSource({1: [RIGHT, "def inc(x):\n    return x + 1 if x > -3 else 0\n"] * 20},
                           delay=0.002), n=40).wait(10)
    assert run.progress.generated == 40


def test_slow_candidates_are_probed_briefly_unless_they_show_a_new_behaviour() -> None:
    from jupyter_codesearch.run._probing import FURTHER, MIN_LOOK

    verifier = FakeVerifier(runtime_s=0.5)  # half a second per test: a first look is MIN_LOOK probes
    other = "def inc(x):\n    return x + 1 if x != 0 else 7\n"
    run = start(FakeSource({1: [RIGHT, ALSO_RIGHT, other]}, delay=0.3), verifier, confident=False).wait(10)
    looks = {code: [n for c, n in verifier.probed if c == code] for code in (RIGHT, ALSO_RIGHT, other)}
    further = min(len(run.probe_set), MIN_LOOK * FURTHER)
    assert looks[RIGHT] == [MIN_LOOK]  # the first behaviour: nothing to tell it apart from yet
    assert looks[ALSO_RIGHT] == [MIN_LOOK]  # the same behaviour on the first probes: settled
    assert looks[other] == [MIN_LOOK, further]  # a new behaviour beside a known one looks further
    found = run.clusters()
    assert [len(c.members) for c in found] == [2, 1] or [len(c.members) for c in found] == [1, 2]
    assert {run.candidates[m].code for c in found for m in c.members if len(c.members) == 2} == {RIGHT, ALSO_RIGHT}


def alike_programs(n: int) -> list[str]:
    """``n`` distinct programs (no de-duplication) with one behaviour."""
    return [f"def inc(x):\n    return x + 1 + 0 * {k}\n" for k in range(n)]


def test_when_verification_is_the_bottleneck_candidates_that_cannot_change_the_top_go_unprobed() -> None:
    # Twelve slow candidates arrive at once: verifying them is the work. Once two agree, no
    # single further candidate can unseat their behaviour, so the rest are not probed.
    verifier = FakeVerifier(delay=0.05, runtime_s=0.5)
    run = start(FakeSource({1: alike_programs(12)}), verifier, n=12, confident=False).wait(10)
    assert run.progress.state == "done" and run.best is not None
    unprobed = [c for c in run.candidates if c.behaviours is None]
    assert 0 < len(unprobed) <= 10 and len({s for s, _ in verifier.probed}) == 12 - len(unprobed)
    assert all(c.passed for c in unprobed)
    assert run.clusters()[0].weight >= 2 and run.best.behaviours is not None
    assert any(f"{len(unprobed)} passing candidates were not probed" in n for n in run.notices), run.notices
    assert all("not probed" in c.rank_reason for c in run.ranked() if c.behaviours is None)


def test_with_kernels_to_spare_every_slow_candidate_is_probed() -> None:
    # Generation is the slow part (the usual case with a real model): probing costs nothing.
    verifier = FakeVerifier(runtime_s=0.5)
    run = start(FakeSource({1: alike_programs(6)}, delay=0.05), verifier, n=6, confident=False).wait(10)
    assert run.progress.state == "done"
    # The last one may pass while the round settles, when probing it would only add to the tail.
    assert sum(c.behaviours is None for c in run.candidates) <= 1
    assert run.clusters()[0].weight >= 5


def test_a_skipped_program_sampled_again_is_probed_once_its_votes_could_change_the_top() -> None:
    from jupyter_codesearch._model import Candidate, Cluster
    from jupyter_codesearch.run._lane import ProbeLane

    started: list[tuple[int, bool]] = []
    leader = Cluster(1, (0, 1), weight=2, failures=0, behaviours=())
    table = {i: Candidate(id=i, code="", origin="llm", model="m", round=1) for i in range(3)}
    lane = ProbeLane(True, lambda c, urgent: started.append((c.id, urgent)), table.__getitem__, lambda: [leader])
    lane.verifying = 1  # others wait for a kernel
    lane.passed(table[2])
    assert started == [] and lane.skipped == {2}
    assert not lane.more_votes(table[2])  # one vote cannot unseat two
    table[2] = Candidate(id=2, code="", origin="llm", model="m", round=1, samples=3)
    assert lane.more_votes(table[2]) and started == [(2, True)] and lane.skipped == set()


def test_stopping_while_the_lane_probes_starts_no_further_probe() -> None:
    class SlowProbes(FakeVerifier):
        async def probe(
            self, spec: Spec, index: int, source: str, probes: ProbeSet, limits: Limits, urgent: bool = False
        ) -> list[Behaviour]:
            await asyncio.sleep(0.3)
            return await super().probe(spec, index, source, probes, limits, urgent)

    verifier = SlowProbes(runtime_s=0.5)
    run = start(FakeSource({1: alike_programs(6)}, delay=0.05), verifier, n=6, confident=False)
    deadline = time.monotonic() + 5
    while not verifier.probed and time.monotonic() < deadline:
        time.sleep(0.01)
    run.stop()
    assert run.wait(5).done and run.progress.state == "stopped"
    probed = len(verifier.probed)
    time.sleep(0.5)
    assert len(verifier.probed) == probed  # the cancelled probe's end started no other
