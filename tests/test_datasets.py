"""Acceptance on real task sets: canonical solutions pass, mutants fail, a plain run agrees."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from jupyter_codesearch import Spec, SpecWarning
from jupyter_codesearch._engine import run_sync
from jupyter_codesearch.execute import Verdict, averify
from tests.support.datasets import Task, humaneval, mbpp


def reference_passes(program: str) -> bool:
    """A plain, unsandboxed run of program + tests: what the verdict has to agree with."""
    try:
        run = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return False
    return run.returncode == 0


async def verify_all(tasks: list[Task]) -> list[list[Verdict]]:
    async def one(task: Task) -> list[Verdict]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpecWarning)  # e.g. HumanEval's `assert True`
            spec = Spec.parse(task.spec)
        return await averify(spec, [task.canonical, task.mutant()], timeout=10)

    return list(await asyncio.gather(*(one(t) for t in tasks)))


@pytest.mark.slow
@pytest.mark.parametrize("loader", [humaneval, mbpp], ids=["humaneval", "mbpp"])
def test_canonical_solutions_pass_mutants_fail_and_a_plain_run_agrees(loader) -> None:  # type: ignore[no-untyped-def]
    tasks = loader()
    assert len(tasks) in (164, 474)
    verdicts = run_sync(verify_all(tasks))
    programs = [(t, t.canonical + t.reference_tests) for t in tasks] + [
        (t, t.mutant() + t.reference_tests) for t in tasks
    ]
    with ThreadPoolExecutor(2) as ex:
        reference = list(ex.map(lambda tp: reference_passes(tp[1]), programs))
    n = len(tasks)
    canonical_failed = [(t.task_id, v[0].status, v[0].error) for t, v in zip(tasks, verdicts, strict=True)
                        if not v[0].passed]
    mutant_passed = [t.task_id for t, v in zip(tasks, verdicts, strict=True) if v[1].passed]
    assert not canonical_failed, "\n".join(map(str, canonical_failed))
    assert not mutant_passed, mutant_passed
    ours = [v[0].passed for v in verdicts] + [v[1].passed for v in verdicts]
    disagree = [programs[i][0].task_id for i in range(2 * n) if ours[i] != reference[i]]
    assert not disagree, disagree
