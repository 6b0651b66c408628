"""Optimising runs: best-shot prompts from a program database with islands, rounds that go on
while the budget lasts, and a fake model that mutates what it is shown, so climbing shows."""

from __future__ import annotations

import ast
import itertools
import random
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from jupyter_codesearch import ConfigError, Spec, search
from jupyter_codesearch._model import Behaviour, Candidate, Limits, Verdict
from jupyter_codesearch._seams import Verifier
from jupyter_codesearch.generate._llm import evolve_prompt
from jupyter_codesearch.rank._policy import Goal
from jupyter_codesearch.run._database import ProgramDatabase
from jupyter_codesearch.run._reference import Reference, speedup
from tests.support.fake_llm import EvolveResponder, FakeLLM, Reply, Request, mutate
from tests.support.optimize import (
    BIN_PACKING,
    HALF_FIT,
    UNIQUE,
    UNIQUE_LINEAR,
    UNIQUE_MEMORISER,
    UNIQUE_QUADRATIC,
)

MODEL = "openai/gpt-4o-mini"


def _scored(id: int, value: float, size: int = 10) -> Candidate:
    return Candidate(id=id, code=f"def f(x):\n    return {id}\n", origin="llm", model=None, round=1, size=size,
                     verdict=Verdict(id, "passed", True, score=value, score_interval=(value, value)))


def test_the_database_shows_each_islands_best_worst_first_and_merges_equal_scores() -> None:
    db = ProgramDatabase(Goal(maximize=False), islands=2)
    for c in (_scored(0, 90), _scored(2, 86), _scored(4, 88), _scored(6, 86, size=50), _scored(1, 95)):
        db.add(c)
    shots = dict(db.shots(2))
    assert [c.id for c in shots[0]] == [4, 2]  # worst first; 6 scores as 2 and is bigger: merged away
    assert [c.id for c in shots[1]] == [1]
    best = db.best()
    assert best is not None and best.id == 2


def test_resetting_weak_islands_reseeds_them_with_a_strong_islands_best() -> None:
    db = ProgramDatabase(Goal(maximize=True), islands=4)
    for i, value in enumerate((1.0, 5.0, 3.0, 9.0)):
        db.place(10 + i, i)
        db.add(_scored(10 + i, value))
    assert db.reset_weak() == 2
    tops = sorted(c.score or 0 for _, shown in db.shots(1) for c in shown)
    assert tops[0] >= 5.0 and set(tops) <= {5.0, 9.0}


def test_the_evolution_prompt_lists_versions_worst_first_with_scores() -> None:
    spec = Spec.parse(BIN_PACKING)
    prompt = evolve_prompt(spec, [("def priority(i, r): return [0.0]*len(r)\n", 93.0), (HALF_FIT, 90.0)], 2, 3,
                           parent=7, island=1, maximize=False)
    user = prompt.messages[-1][1]
    assert user.index("Version 0 (score 93)") < user.index("Version 1 (score 90)")
    assert "lower is better" in user and "scores lower than version 1" in user and "@score" in user
    assert (prompt.parent, prompt.island, prompt.round) == (7, 1, 3)


def test_the_fake_model_mutates_the_best_program_it_is_shown() -> None:
    variants = {mutate(HALF_FIT, random.Random(k)) for k in range(12)}
    assert len(variants) > 6 and all(ast.parse(v) for v in variants)
    responder = EvolveResponder(HALF_FIT)
    shown = ("Implement the function `priority`\n\nEarlier versions\n```python\nold\n```\n"
             f"```python\n{HALF_FIT}```")
    request = Request("/v1/chat/completions", {}, {"messages": [{"role": "user", "content": shown}], "n": 2}, b"", 0)
    replies = responder(request)
    assert isinstance(replies, list) and len(replies) == 2 and responder.shown == [HALF_FIT]
    assert responder(Request("/v1/chat/completions", {}, {"messages": [{"role": "user", "content": "edge cases?"}]},
                             b"", 1)) == "[]"


def test_bin_packing_climbs_over_rounds_while_the_budget_lasts(tmp_path: Path) -> None:
    responder = EvolveResponder(HALF_FIT)
    with FakeLLM(responder) as fake:
        run = search(BIN_PACKING, model=MODEL, api_base=fake.url, timeout=5.0, n=6, rounds=1, max_tokens=15000,
                     maximize=False, cluster=False, cache_dir=str(tmp_path / "cache"))
    assert run.error is None, run.error
    assert run.progress.round >= 3  # rounds went on past `rounds` while tokens remained
    trajectory = run.trajectory
    assert len(trajectory) >= 2 and trajectory[-1][1] < trajectory[0][1], trajectory
    assert all(b[1] < a[1] and b[0] >= a[0] for a, b in itertools.pairwise(trajectory))
    best = run.best
    assert best is not None and best.score == trajectory[-1][1] and best.round > 1
    assert f"score {best.score:g}" in best.rank_reason
    assert any(s is not None for s in responder.shown)  # later prompts showed scored programs
    assert "budget reached" in " ".join(run.notices)


def _unique_responder(replies: list[str]) -> Callable[[Request], Reply]:
    codes = itertools.cycle(replies)
    lock = threading.Lock()

    def respond(request: Request) -> Reply:
        if "Implement the function" not in request.user_text:
            return "[]"  # edge cases, test cases: none
        with lock:
            return [f"```python\n{next(codes)}```" for _ in range(request.n)]

    return respond


def test_make_it_faster_ranks_the_linear_one_first_and_rejects_the_fast_wrong_one(tmp_path: Path) -> None:
    respond = _unique_responder([UNIQUE_QUADRATIC, UNIQUE_LINEAR, UNIQUE_MEMORISER])
    with FakeLLM(respond) as fake:
        run = search(UNIQUE, model=MODEL, api_base=fake.url, timeout=5.0, n=3, optimize="runtime",
                     reference="unique_quadratic", cache_dir=str(tmp_path / "cache"))
    assert run.error is None, run.error
    by_code = {c.code: c for c in run.candidates}
    linear, wrong, quadratic = by_code[UNIQUE_LINEAR], by_code[UNIQUE_MEMORISER], by_code[UNIQUE_QUADRATIC]
    assert run.ranked()[0].code == UNIQUE_LINEAR and run.best is not None
    assert wrong.status == "failed" and wrong.tests_passed == wrong.tests_total == 2
    assert "differs from the reference `unique_quadratic` on unique(" in (wrong.error or "")
    assert quadratic.passed and linear.score is not None and quadratic.score is not None
    found = run.speedup(linear)
    assert found is not None and found[1] > 1.0 and found[1] <= found[0] <= found[2]
    assert any(n.startswith(f"best #{linear.id} runs the benchmark") and "95% interval" in n for n in run.notices)
    assert "runtime" in run.ranked()[0].rank_reason and "95%" in run.ranked()[0].rank_reason
    # The history holds what the run ended with: the rejection, and the timed scores with their intervals.
    from jupyter_codesearch.store import load_past

    assert run.recorded(5) and run.history_id is not None
    stored = {c.code: c for c in load_past(run.config, run.history_id).candidates}
    assert stored[UNIQUE_MEMORISER].status == "failed" and stored[UNIQUE_MEMORISER].error == wrong.error
    assert stored[UNIQUE_LINEAR].verdict == linear.verdict and stored[UNIQUE_QUADRATIC].verdict == quadratic.verdict


def test_a_reference_the_cell_does_not_define_or_a_runtime_goal_without_a_benchmark_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no function of that name"):
        search(UNIQUE, model=MODEL, reference="nowhere", wait=False)
    with pytest.raises(ConfigError, match="needs benchmark calls"):
        search(UNIQUE.split("@score")[0], model=MODEL, optimize="runtime", wait=False)


def test_the_reference_proves_nothing_where_it_hangs_and_speedups_bound_by_both_intervals() -> None:
    spec = Spec.parse(UNIQUE)
    ref = Reference(spec, "unique_quadratic", verifier=None, limits=Limits())  # type: ignore[arg-type]
    value, other = Behaviour("value", "a", "[1]"), Behaviour("value", "b", "[2]")
    assert ref.mismatch([value, other], [Behaviour("timeout"), other], [([1],), ([2],)]) is None
    assert "on unique([2]): got [1], the reference gives [2]" in (ref.mismatch([value, value], [value, other],
                                                                               [([1],), ([2],)]) or "")
    reference = Verdict(0, "passed", True, score=0.1, score_interval=(0.08, 0.12))
    candidate = Verdict(1, "passed", True, score=0.01, score_interval=(0.008, 0.0125))
    assert speedup(reference, candidate) == pytest.approx((10.0, 6.4, 15.0))


def test_the_command_line_prints_the_climb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from jupyter_codesearch import cli

    (tmp_path / "spec.py").write_text(BIN_PACKING)
    with FakeLLM(EvolveResponder(HALF_FIT)) as fake:
        code = cli.main(["run", str(tmp_path / "spec.py"), "--model", MODEL, "--api-base", fake.url, "-n", "6",
                         "--max-tokens", "15000", "--minimize", "--no-cache", "--timeout", "5"])
    out = capsys.readouterr().out
    assert code == 0
    climb = out[out.index("best score by samples drawn:"):].splitlines()[2:]
    scores = [float(line.split()[1]) for line in climb if line.strip()]
    assert len(scores) >= 2 and scores == sorted(scores, reverse=True) and scores[-1] < scores[0]
    assert " score " in out.splitlines()[0]  # the table's score column


@pytest.mark.parametrize(("body", "error"), [
    ("    while True:\n        pass\n", "scoring stopped: timed out after 1 s"),
    ("    hog = [bytearray(1 << 20) for _ in range(1 << 20)]\n", "the score function ran out of memory"),
])
def test_a_hanging_or_memory_bombing_score_fails_its_candidates_score_not_the_run(
        tmp_path: Path, body: str, error: str) -> None:
    broken = BIN_PACKING.replace("    total = 0\n", body + "    total = 0\n")
    started = time.monotonic()
    with FakeLLM(EvolveResponder(HALF_FIT)) as fake:
        run = search(broken, model=MODEL, api_base=fake.url, timeout=1.0, n=2, maximize=False, cluster=False,
                     cache_dir=str(tmp_path / "cache"), workers=1)
    assert run.error is None and run.progress.state == "done"
    scored = [c for c in run.candidates if c.passed]  # (a mutation may still fail its tests)
    assert scored and all(c.score is None and error in (c.verdict.score_error or "")
                          for c in scored if c.verdict is not None), [c.verdict for c in run.candidates]
    # each candidate ends within its timeout + 2 s (one kernel: one after the other), start-up aside
    assert time.monotonic() - started < 30 + len(run.candidates) * (1.0 + 2)


def test_the_live_chart_is_a_step_line_of_the_best_score_and_says_the_latest() -> None:
    from jupyter_codesearch.ui._render import trajectory_svg

    assert trajectory_svg([], 10) == ""
    chart = trajectory_svg([(6, 93.0), (12, 90.0), (18, 86.0)], 30)
    assert chart.count("<polyline") == 1 and "best score 86 after 18 of 30 samples (3 improvements)" in chart
    assert "1.50 ms" in trajectory_svg([(3, 0.0015)], 3, runtime=True)


class _CountingVerifier:
    """The real verifier, counting the verifications that run the cell's score function."""

    def __init__(self, inner: Verifier) -> None:
        self.inner = inner
        self.scored: list[str] = []

    async def start(self) -> None:
        await self.inner.start()

    async def verify(self, spec: Spec, index: int, source: str, limits: Limits) -> Verdict:
        if spec.score is not None:
            self.scored.append(source)
        return await self.inner.verify(spec, index, source, limits)

    async def probe(self, *args: Any, **kwargs: Any) -> Sequence[Behaviour]:
        return await self.inner.probe(*args, **kwargs)

    def notices(self) -> list[str]:
        return self.inner.notices()


UNIQUE_COMPREHENDED = "def unique(xs):\n    out = []\n    [out.append(x) for x in xs if x not in out]\n    return out\n"


@pytest.mark.parametrize("share", [False, True])
def test_with_share_scores_a_behaviour_is_scored_once_in_the_real_kernels(tmp_path: Path, share: bool) -> None:
    from jupyter_codesearch.execute._executors import verifier_for

    cell = UNIQUE.replace("    f(list(range(2000)) * 2)\n", "    return len(f(list(range(50)) * 2))\n")
    replies = [UNIQUE_QUADRATIC, UNIQUE_LINEAR, UNIQUE_COMPREHENDED, UNIQUE_MEMORISER]
    verifier = _CountingVerifier(verifier_for("local", "auto", 2))
    with FakeLLM(_unique_responder(replies)) as fake:
        run = search(cell, model=MODEL, api_base=fake.url, timeout=5.0, n=4, cache_dir=str(tmp_path / "cache"),
                     share_scores=share, history="off", verifier=verifier)
    assert run.error is None, run.error
    by_code = {c.code: c for c in run.candidates}
    assert all(by_code[r].passed and by_code[r].score is not None for r in replies)
    assert by_code[UNIQUE_LINEAR].score == 50
    if not share:
        assert sorted(verifier.scored) == sorted(replies)  # each scored with its tests, in one step
        return
    # The three that keep first occurrences behave alike on every probe: one of them is scored.
    alike = [by_code[r] for r in replies[:3]]
    sources = {c.id if c.verdict.score_from is None else c.verdict.score_from for c in alike if c.verdict}
    assert len(verifier.scored) == 2 and UNIQUE_MEMORISER in verifier.scored and len(sources) == 1
    assert sum(c.verdict is not None and c.verdict.score_from is not None for c in alike) == 2
