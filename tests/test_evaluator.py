"""The kernel's Evaluator run in the test process (no kernel, no sandbox): from payloads to the
reports it publishes, and the verdicts and behaviours the caller builds from them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_codesearch import Spec
from jupyter_codesearch._model import Behaviour, Verdict
from jupyter_codesearch.execute._codec import to_tree
from jupyter_codesearch.execute._evaluator import Evaluator
from jupyter_codesearch.execute._payload import spec_payload
from jupyter_codesearch.execute._probing import answer_behaviour, status_behaviour
from jupyter_codesearch.execute._protocol import BatchPayload, ProbeBatchPayload, Published
from jupyter_codesearch.execute._tests import TestOutcome, VerdictDraft
from jupyter_codesearch.execute._verdict import behaviour_from_report, verdict_from_report
from tests.support.kernel_side import config

PLANNED = '''
def add(a, b):
    """Add two numbers."""

assert add(1, 2) == 3
assert add(-1, 1) == 0
assert add(10, 5) == 15  # hidden
'''
AS_WRITTEN = '''
def add(a, b):
    """Add two numbers."""

assert add(1, 2) == 3
assert add(-1, 1) == 0 and True
for a, b in [(10, 5)]:  # hidden
    assert add(a, b) == 15
'''
RIGHT = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a * b\n"
RAISES = "def add(a, b):\n    raise ValueError('nope')\n"
HANGS = "def add(a, b):\n    while True:\n        pass\n"


class Kernel:
    """An Evaluator as the pool drives it, its published reports collected."""

    def __init__(self, tmp: Path) -> None:
        self.evaluator = Evaluator(config(tmp))
        self.published: list[Published] = []
        self.evaluator.publish = self.published.append

    def verify(self, spec: Spec, sources: list[str], timeout: float = 5.0) -> list[Verdict]:
        self.evaluator.load_spec(json.dumps(spec_payload(spec)))
        batch: BatchPayload = {
            "key": spec.key, "candidates": [{"index": i, "source": s} for i, s in enumerate(sources)],
            "limits": {"timeout": timeout, "memory_mb": 256},
        }
        self.published.clear()
        self.evaluator.run_batch(json.dumps(batch))
        tests = {t.line: (t.source, t.hidden) for t in spec.tests}
        return [verdict_from_report(r, tests) for p in self.published for r in p.get("verdicts", [])]

    def probe(self, spec: Spec, sources: list[str], probes: list[tuple[object, ...]]) -> list[tuple[Behaviour, ...]]:
        self.evaluator.load_spec(json.dumps(spec_payload(spec)))
        batch: ProbeBatchPayload = {
            "key": spec.key, "candidates": [{"index": i, "source": s} for i, s in enumerate(sources)],
            "limits": {"timeout": 1.0, "memory_mb": 256}, "probes": [to_tree(list(p)) for p in probes],
        }
        self.published.clear()
        self.evaluator.run_probes(json.dumps(batch))
        return [tuple(behaviour_from_report(b) for b in r["behaviours"])
                for p in self.published for r in p.get("probes", [])]


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    k = Kernel(tmp_path_factory.mktemp("kernel"))
    yield k
    k.evaluator.spawner.discard()


def test_a_batch_gets_one_verdict_per_candidate_in_order(kernel: Kernel) -> None:
    verdicts = kernel.verify(Spec.parse(PLANNED), [RIGHT, WRONG, RAISES, "def add(:", "x = 1\n"])
    assert [v.index for v in verdicts] == [0, 1, 2, 3, 4]
    assert [v.status for v in verdicts] == ["passed", "failed", "error", "invalid", "invalid"]
    assert verdicts[1].tests[0].got == "2" and verdicts[1].tests[0].expected == "3"
    assert verdicts[1].tests[0].calls == ({"call": "add(1, 2)", "got": "2"},)
    assert verdicts[2].tests[0].error == "the candidate raised ValueError: nope (line 2)"
    assert "does not define a function `add`" in (verdicts[4].error or "")
    assert all(v.tests_total == 3 for v in verdicts) and verdicts[3].tests[0].error == "not run"
    assert verdicts[0].tests[2].hidden and verdicts[0].runtime_s is not None


def test_planned_tests_and_tests_run_as_written_judge_alike(kernel: Kernel) -> None:
    planned = kernel.verify(Spec.parse(PLANNED), [RIGHT, WRONG, RAISES])
    written = kernel.verify(Spec.parse(AS_WRITTEN), [RIGHT, WRONG, RAISES])
    assert [v.status for v in planned] == [v.status for v in written]
    assert [(t.passed, t.got, t.expected) for t in planned[1].tests[:1]] == \
        [(t.passed, t.got, t.expected) for t in written[1].tests[:1]]


def test_a_candidate_that_hangs_times_out_and_the_next_one_still_runs(kernel: Kernel) -> None:
    hung, fine = kernel.verify(Spec.parse(PLANNED), [HANGS, RIGHT], timeout=0.5)
    assert (hung.status, hung.error) == ("timeout", "timed out after 0.5 s")
    assert fine.status == "passed"


def test_a_context_that_fails_fails_every_candidate_with_its_error(kernel: Kernel) -> None:
    spec = Spec.parse("import no_such_module_here\n" + PLANNED)
    [v] = kernel.verify(spec, [RIGHT])
    assert v.status == "error" and "the context failed" in (v.error or "") and "ModuleNotFoundError" in (v.error or "")


def test_probes_give_one_typed_behaviour_each(kernel: Kernel) -> None:
    spec = Spec.parse(PLANNED)
    div = "def add(a, b):\n    return {a // b, b}\n"
    [plain, same] = kernel.probe(spec, [div, "def add(a, b):\n    return {b, a // b}\n"], [(4, 2), (1, 0)])
    assert plain == same  # equal sets, whatever their order
    assert (plain[0].kind, plain[0].shown) == ("value", "{2}")
    assert (plain[1].kind, plain[1].detail) == ("raised", "ZeroDivisionError")
    assert plain[1].shown == "raises ZeroDivisionError"
    [hung] = kernel.probe(spec, [HANGS], [(1, 2), (3, 4)])
    assert [b.kind for b in hung] == ["timeout", "timeout"]
    [bad] = kernel.probe(spec, ["def add(:"], [(1, 2)])
    assert bad[0].kind == "invalid"


def test_behaviours_of_answers_and_of_runs_that_ended() -> None:
    assert answer_behaviour({"unserializable": "a socket"}) == {"kind": "unserializable", "detail": "",
                                                                "shown": "unserializable"}
    assert answer_behaviour({"exit": "SystemExit"})["detail"] == "SystemExit"
    assert answer_behaviour({"value": ["L", 1]})["detail"] == answer_behaviour({"value": ["L", 1]})["detail"]
    assert answer_behaviour({"value": ["Z"]})["kind"] == "unserializable"  # malformed tree
    assert status_behaviour("memory", "memory") == {"kind": "crashed", "detail": "memory", "shown": "memory"}
    assert status_behaviour("timeout", "timeout")["kind"] == "timeout"


def test_reports_leave_out_what_the_caller_has_and_what_is_empty() -> None:
    draft = VerdictDraft(3, tests=[TestOutcome(5, "assert f(1) == 2", True, error="not run")])
    [test] = draft.report()["tests"]
    assert test == {"line": 5, "passed": False, "duration_s": 0.0, "error": "not run"}
