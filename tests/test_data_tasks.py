"""Data tasks end to end (issue 13's acceptance suite): every candidate of every task in
``tests/data/data_tasks.py`` verified through the real sandboxed pool, test by test, agrees
with a plain in-process run of the same cell (the candidate and the asserts exec'd together)."""

from __future__ import annotations

import asyncio
import runpy
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from jupyter_codesearch import Spec
from jupyter_codesearch._engine import run_sync
from jupyter_codesearch.execute import Verdict, averify

_LOADED = runpy.run_path(str(Path(__file__).parent / "data" / "data_tasks.py"))
CONTEXT: str = _LOADED["CONTEXT"]
TASKS: list[dict[str, Any]] = _LOADED["TASKS"]
TIMEOUT = 10.0
"""Generous: the machine is shared; the suite is about verdicts, not speed."""


def reference(spec: Spec, source: str) -> list[bool]:
    """Each test's outcome when the cell simply runs in this process with ``source`` defined
    (warnings are not errors there, as in the user's kernel and the candidates' processes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _reference(spec, source)


def _reference(spec: Spec, source: str) -> list[bool]:
    ns: dict[str, Any] = {"__name__": "__reference__"}
    exec(spec.setup_context, ns)
    exec(source, ns)
    outcomes: list[bool] = []
    broken = False
    for item in spec.items:
        if item.kind == "setup":
            try:
                exec(item.source, ns)
            except Exception:
                broken = True  # the tests after it fail, as in the verifier
            continue
        try:
            if broken:
                raise RuntimeError("setup failed")
            exec(item.source, ns)
            outcomes.append(True)
        except Exception:
            outcomes.append(False)
    return outcomes


def _specs() -> list[Spec]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a task whose test never calls the function is a broken task
        return [Spec.parse(CONTEXT + task["spec"]) for task in TASKS]


def test_the_suite_is_large_and_each_task_tells_right_from_wrong() -> None:
    assert len(TASKS) >= 30 and len({t["name"] for t in TASKS}) == len(TASKS)
    for task, spec in zip(TASKS, _specs(), strict=True):
        assert all(reference(spec, task["good"])), task["name"]
        for bad in task["bad"]:
            assert not all(reference(spec, bad)), (task["name"], bad)


@pytest.fixture(scope="module")
def verified() -> tuple[list[list[Verdict]], float]:
    specs = _specs()

    async def go() -> list[list[Verdict]]:
        runs = [averify(spec, [t["good"], *t["bad"]], timeout=TIMEOUT) for t, spec in zip(TASKS, specs, strict=True)]
        return list(await asyncio.gather(*runs))

    start = time.monotonic()
    found = run_sync(go())
    return found, time.monotonic() - start


def test_every_verdict_agrees_with_the_in_process_reference(verified: tuple[list[list[Verdict]], float]) -> None:
    found, elapsed = verified
    disagreements = []
    candidates = 0
    for task, spec, verdicts in zip(TASKS, _specs(), found, strict=True):
        for source, verdict in zip([task["good"], *task["bad"]], verdicts, strict=True):
            candidates += 1
            expected = reference(spec, source)
            got = [t.passed for t in verdict.tests]
            if got != expected or verdict.passed != all(expected):
                disagreements.append((task["name"], source, verdict.status, verdict.error, got, expected))
    assert not disagreements, disagreements
    print(f"{len(TASKS)} data tasks, {candidates} candidates: verdicts agree 100% in {elapsed:.1f} s")


def test_no_data_candidate_is_unserializable(verified: tuple[list[list[Verdict]], float]) -> None:
    found, _ = verified
    statuses = {v.status for verdicts in found for v in verdicts}
    assert statuses <= {"passed", "failed", "error"}, statuses
