"""Scores: the cell's ``@score`` function, run on the trusted side on passing candidates, and the
ranking, table and frame that show what it made of them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_codesearch import SearchConfig, Spec, SpecError, score
from jupyter_codesearch._model import Candidate, Verdict
from jupyter_codesearch.execute._payload import plan_of, spec_payload
from jupyter_codesearch.execute._score import median_interval
from jupyter_codesearch.rank._policy import Goal, ranked, score_classes
from jupyter_codesearch.run._frame import row
from jupyter_codesearch.ui import _magic
from jupyter_codesearch.ui._text import table_text
from tests.test_evaluator import Kernel

SCORED = '''
def double(x):
    """Twice x."""

assert double(2) == 4

@score
def closeness(f):
    """How close f(10) is to 21."""
    return -abs(f(10) - 21)
'''
RIGHT = "def double(x):\n    return 2 * x\n"
CLOSER = "def double(x):\n    return 2 * x if x < 5 else 2 * x + 1\n"
WRONG = "def double(x):\n    return 3 * x\n"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    k = Kernel(tmp_path_factory.mktemp("kernel"))
    yield k
    k.evaluator.spawner.discard()


def _with_body(body: str) -> Spec:
    return Spec.parse(SCORED.replace("    return -abs(f(10) - 21)", body))


def test_the_score_function_is_an_item_of_its_own_without_its_decorator_and_the_tests_stay_planned() -> None:
    spec = Spec.parse(SCORED)
    assert spec.score is not None and spec.score.kind == "score" and spec.score.line == 8
    assert spec.score.source.startswith("def closeness(f):") and "@score" not in spec.score.source
    assert [i.kind for i in spec.items] == ["test", "score"] and len(spec.tests) == 1
    assert plan_of(spec) is not None  # the score's calls are not the tests' plan
    payload = spec_payload(spec)
    assert payload["score"]["name"] == "closeness" and all(i["kind"] != "score" for i in payload["items"])
    assert "def closeness(f):" in spec.public_text()
    assert spec.optimizing("runtime").key != spec.key and spec.optimizing("value") is spec
    assert score(len) is len  # the decorator itself does nothing: the cell runs as plain Python


@pytest.mark.parametrize(("cell", "message"), [
    (SCORED + "\n@score\ndef again(f):\n    return 1\n", "more than one @score function"),
    (SCORED.replace("def closeness(f):", "def closeness():"), "must take the candidate function"),
])
def test_a_score_function_the_search_cannot_call_is_a_spec_error(cell: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        Spec.parse(cell)


def test_only_passing_candidates_are_scored_with_what_the_score_function_returns(kernel: Kernel) -> None:
    right, closer, wrong = kernel.verify(Spec.parse(SCORED), [RIGHT, CLOSER, WRONG])
    assert (right.status, right.score, right.score_interval) == ("passed", -1.0, (-1.0, -1.0))
    assert (closer.status, closer.score) == ("passed", 0.0)
    assert (wrong.status, wrong.score, wrong.score_error) == ("failed", None, None)


@pytest.mark.parametrize(("body", "error"), [
    ("    return {}['nope']", "the score function raised KeyError"),
    ("    return 'high'", "the score function raised TypeError: it returned 'high', not a finite number"),
    ("    return f(None)", "the candidate raised TypeError"),
])
def test_a_score_function_that_fails_is_that_candidates_score_error(kernel: Kernel, body: str, error: str) -> None:
    [v] = kernel.verify(_with_body(body), [RIGHT])
    assert v.status == "passed" and v.score is None and error in (v.score_error or "")


@pytest.mark.parametrize(("body", "error"), [
    ("    while True:\n        pass", "scoring stopped: timed out after 1 s"),
    ("    hog = [bytearray(1 << 20) for _ in range(1 << 20)]\n    return len(hog)", "ran out of memory"),
    ("    return f(-1)", "scoring stopped: timed out after 1 s"),
])
def test_a_hanging_or_memory_bombing_score_ends_within_the_timeout_with_a_clear_verdict(
        kernel: Kernel, body: str, error: str) -> None:
    hangs_on_negative = "def double(x):\n    while x < 0:\n        pass\n    return 2 * x\n"
    started = time.monotonic()
    [v, after] = kernel.verify(_with_body(body), [hangs_on_negative, RIGHT], timeout=1.0)
    assert time.monotonic() - started < 2 * (1.0 + 2)  # two candidates, each within timeout + 2 s
    assert v.status == "passed" and v.score is None and error in (v.score_error or ""), v.score_error
    assert after.status == "passed"  # the kernel and the next candidate are unharmed


def test_runtime_scores_time_the_candidates_calls_with_an_interval(kernel: Kernel) -> None:
    spec = _with_body("    f(300000)").optimizing("runtime")
    slow = "def double(x):\n    s = 0\n    for _ in range(x):\n        s += 2\n    return s\n"
    fast, loop = kernel.verify(spec, [RIGHT, slow], timeout=5.0)
    assert fast.score is not None and loop.score is not None and fast.score_interval and loop.score_interval
    assert fast.score_interval[0] <= fast.score <= fast.score_interval[1]
    assert fast.score_interval[1] < loop.score_interval[0]


def test_the_median_interval_is_order_statistics() -> None:
    assert median_interval([5.0, 1.0, 3.0]) == (1.0, 5.0)  # too few: min and max
    assert median_interval([float(i) for i in range(9)]) == (1.0, 7.0)  # 96% for nine


def _scored(id: int, value: float | None, interval: tuple[float, float] | None = None,
            error: str | None = None, passed: bool = True) -> Candidate:
    verdict = Verdict(id, "passed" if passed else "failed", passed, score=value,
                      score_interval=interval or ((value, value) if value is not None else None), score_error=error)
    return Candidate(id=id, code=f"def f(x):\n    return {id}\n", origin="llm", model=None, round=1,
                     size=10, verdict=verdict)


def test_passing_candidates_rank_by_score_in_its_direction_and_say_so() -> None:
    cands = [_scored(0, 3.0), _scored(1, 7.0), _scored(2, None, error="the score function raised KeyError"),
             _scored(3, None, passed=False)]
    best_first = ranked(cands, goal=Goal(maximize=True))
    assert [c.id for c in best_first] == [1, 0, 2, 3]
    assert "score 7" in best_first[0].rank_reason and "not scored: the score function" in best_first[2].rank_reason
    assert [c.id for c in ranked(cands, goal=Goal(maximize=False))] == [0, 1, 2, 3]


def test_runtimes_within_each_others_noise_share_a_class_and_do_not_reorder() -> None:
    a, b, c = _scored(0, 0.010, (0.008, 0.013)), _scored(1, 0.009, (0.007, 0.012)), _scored(2, 0.002, (0.0019, 0.0021))
    classes = score_classes([a, b, c], Goal(runtime=True))
    assert classes[2] == 0 and classes[0] == classes[1] == 1
    bigger = replace(b, size=20)
    assert [x.id for x in ranked([a, bigger, c], goal=Goal(runtime=True))] == [2, 0, 1]  # size, not noise
    assert "runtime 2 ms (95%: 1.9 ms to 2.1 ms)" in ranked([c], goal=Goal(runtime=True))[0].rank_reason


def test_the_table_and_frame_have_a_score_column_only_when_a_run_has_scores() -> None:
    plain = Candidate(id=0, code="", origin="llm", model=None, round=1, verdict=Verdict(0, "passed", True))
    assert "score" not in table_text([plain]).splitlines()[0]
    lines = table_text([_scored(1, 7.0), _scored(2, None, error="boom")]).splitlines()
    assert "score" in lines[0] and "7" in lines[1] and "error" in lines[2]
    assert row(1, _scored(1, 7.0))["score"] == 7.0 and row(1, plain)["score"] is None


def test_minimize_is_a_flag_of_the_search_line() -> None:
    assert SearchConfig().maximize
    assert _magic.parse_search_options("--minimize").explicit.get("maximize") is False


def test_the_score_function_sees_setup_like_the_tests_do(kernel: Kernel, tmp_path: Path) -> None:
    spec = Spec.parse(SCORED.replace("assert double(2) == 4", "TARGET = 30\nassert double(2) == 4")
                      .replace("return -abs(f(10) - 21)", "return -abs(f(10) - TARGET)"))
    [v] = kernel.verify(spec, [RIGHT])
    assert v.score == -10.0
