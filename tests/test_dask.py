"""Verification on a real Dask cluster: the same verdicts as the local pool, faults survived.

A ``LocalCluster`` with two worker processes (one thread and one sandboxed kernel each) serves most
tests; one test starts ``dask scheduler`` and ``dask worker`` as separate processes and drives them
through the command line. Everything started here is stopped here.

The verdict comparison on the LocalCluster covers all of HumanEval (164 tasks: canonical + mutant,
328 programs); the separately started cluster checks every 8th task.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from jupyter_codesearch import (  # noqa: E402
    ConfigError,
    SandboxError,
    Spec,
    SpecWarning,
    _engine,
    search,
)
from jupyter_codesearch._config import resolve_config  # noqa: E402
from jupyter_codesearch._engine import run_sync  # noqa: E402
from jupyter_codesearch._model import Limits, Verdict  # noqa: E402
from jupyter_codesearch.execute import _executors, averify  # noqa: E402
from jupyter_codesearch.execute._dask import DaskVerifier  # noqa: E402
from jupyter_codesearch.execute._executors import dask_verifier, verify_with  # noqa: E402
from jupyter_codesearch.ui._magic import parse_search_options  # noqa: E402
from tests.conftest import REPO  # noqa: E402
from tests.support.datasets import Task, humaneval  # noqa: E402
from tests.support.hazards import GOOD, PLUS_ONE  # noqa: E402
from tests.test_hazards import RESOURCE_CASES  # noqa: E402

ADD = Spec.parse('def add(a, b):\n    """Add."""\n\nassert add(1, 2) == 3\nassert add(2, 2) == 4  # hidden\n')
EVERY = 4
"""The separately started cluster verifies every 8th task: it proves the command-line path, the
LocalCluster test proves the verdicts on all 328 programs."""


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def verifier(client: Any) -> Iterator[DaskVerifier]:
    v = DaskVerifier(client=client)
    run_sync(v.start())
    yield v
    run_sync(v.close())


def on(verifier: DaskVerifier, spec: Spec, sources: list[str], limits: Limits | None = None) -> list[Verdict]:
    return run_sync(verify_with(verifier, spec, sources, limits or Limits()))


def summary(v: Verdict) -> tuple[object, ...]:
    # Not the values got: some HumanEval tests draw random inputs.
    return (v.index, v.status, v.passed, tuple(t.passed for t in v.tests), v.error)


def specs(tasks: list[Task]) -> list[Spec]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)  # e.g. HumanEval's `assert True`
        return [Spec.parse(t.spec) for t in tasks]


def test_the_cluster_is_shown_with_its_workers(verifier: DaskVerifier) -> None:
    [note] = verifier.notices()
    assert note.startswith(f"verifying on the Dask cluster at {verifier.address}: 2 workers, 2 kernels")
    assert all(w["sandbox"] == "bwrap" for w in verifier.workers.values())


def test_humaneval_verdicts_on_the_cluster_are_the_local_pools(verifier: DaskVerifier) -> None:
    tasks = humaneval()
    parsed = specs(tasks)

    async def both() -> tuple[list[list[Verdict]], list[list[Verdict]]]:
        local = asyncio.gather(*(averify(s, [t.canonical, t.mutant()], timeout=10, workers=2)
                                 for s, t in zip(parsed, tasks, strict=True)))
        remote = asyncio.gather(*(verify_with(verifier, s, [t.canonical, t.mutant()], Limits(timeout=10))
                                  for s, t in zip(parsed, tasks, strict=True)))
        return list(await local), list(await remote)

    local, remote = run_sync(both())
    assert [[summary(v) for v in vs] for vs in remote] == [[summary(v) for v in vs] for vs in local]
    assert all(vs[0].passed and not vs[1].passed for vs in remote)


@pytest.mark.parametrize("name", ["infinite_loop", "memory_bomb", "fork_200_sleepers", "kill_parent"])
def test_hostile_candidates_get_the_local_statuses_in_time_and_the_worker_keeps_serving(
    verifier: DaskVerifier, client: Any, name: str
) -> None:
    source, expected = RESOURCE_CASES[name]
    timeout = 5.0 if "memory" in name else 1.0
    spec = Spec.parse(PLUS_ONE)
    pids = client.run(os.getpid)
    start = time.monotonic()
    [verdict] = on(verifier, spec, [source], Limits(timeout=timeout, memory_mb=256))
    elapsed = time.monotonic() - start
    assert verdict.status in expected, (verdict.status, verdict.error)
    assert elapsed < timeout + 2, f"verdict took {elapsed:.2f} s"
    [after] = on(verifier, spec, [GOOD], Limits(timeout=1.0))
    assert after.status == "passed", after
    assert client.run(os.getpid) == pids  # no worker died or restarted


def test_probing_runs_on_the_cluster(verifier: DaskVerifier) -> None:
    from jupyter_codesearch._seams import ProbeSet
    from jupyter_codesearch.execute._codec import to_tree

    probes = ProbeSet(trees=tuple(to_tree([a, 1]) for a in range(3)), origins=("domain",) * 3, expected=(None,) * 3)

    async def go() -> list[Any]:
        await verifier.start()
        return list(await asyncio.gather(
            verifier.probe(ADD, 0, "def add(a, b):\n    return a + b\n", probes, Limits()),
            verifier.probe(ADD, 1, "def add(a, b):\n    return 1 + a\n", probes, Limits()),
            verifier.probe(ADD, 2, "def add(a, b):\n    while True: pass\n", probes, Limits(timeout=0.5)),
        ))

    same, also, hangs = run_sync(go())
    assert len(same) == 3 and tuple(same) == tuple(also)
    assert [b.kind for b in same] == ["value"] * 3 and hangs[0].kind == "timeout"


@pytest.fixture
def shared_closed() -> Iterator[None]:
    """The process-wide Dask verifiers ``search()`` made are disconnected afterwards."""
    yield
    run_sync(_executors._close_shared())


def test_search_takes_a_client_and_shows_the_cluster(client: Any, shared_closed: None) -> None:
    run = search(ADD, client=client, generator="synth", n=4, time_limit=60)
    assert run.progress.state == "done", run.error
    assert run.best is not None and run.best.passed
    assert any(n.startswith("verifying on the Dask cluster at tcp://") and "2 workers" in n for n in run.notices)


def test_a_worker_killed_mid_run_loses_no_candidate_and_counts_none_twice(client: Any) -> None:
    v = DaskVerifier(client=client, batch=10)  # 50 tasks: the kill lands while many are left
    run_sync(v.start())
    sources = [f"import time\ndef add(a, b):\n    time.sleep(0.003)\n    return a + b + {i % 3 == 0}\n"
               for i in range(500)]
    pids = client.run(os.getpid)
    try:
        running = _engine.submit(verify_with(v, ADD, sources, Limits()))
        while v.delivered < 60:
            time.sleep(0.01)
        busy = _busy_worker(client)
        victim = pids[busy]
        os.kill(victim, signal.SIGKILL)
        verdicts = running.result(timeout=120)
    finally:
        run_sync(v.close())
    assert [x.index for x in verdicts] == list(range(500))
    assert [x.passed for x in verdicts] == [i % 3 != 0 for i in range(500)]
    assert v.delivered == 500
    assert victim not in client.run(os.getpid).values()


def _busy_worker(client: Any) -> str:
    """A worker running a batch now (workers pass a moment between batches)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        busy = [worker for worker, keys in client.processing().items() if keys]
        if busy:
            return busy[0]
        time.sleep(0.002)
    raise AssertionError("no worker had a batch in flight")


def test_an_unreachable_scheduler_is_one_error_naming_its_address() -> None:
    v = DaskVerifier("tcp://127.0.0.1:1", connect_timeout=1)
    with pytest.raises(SandboxError, match=r"^could not reach the Dask scheduler at tcp://127\.0\.0\.1:1: "):
        run_sync(v.start())


def test_a_worker_without_bubblewrap_refuses_unless_the_sandbox_is_off() -> None:
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50, env={"PATH": "/nonexistent"}) as cluster, \
            distributed.Client(cluster) as c:
        [address] = c.run(os.getpid)
        refused = DaskVerifier(client=c)
        with pytest.raises(SandboxError, match=rf"^Dask worker {address} cannot sandbox candidates \(bubblewrap"):
            run_sync(refused.start())
        bare = DaskVerifier(client=c, sandbox="none")
        try:
            [verdict] = on(bare, ADD, ["def add(a, b):\n    return a + b\n"])
            assert verdict.passed
            assert any("WITHOUT an OS sandbox" in n for n in bare.notices())
        finally:
            run_sync(bare.close())


def test_without_distributed_choosing_dask_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "jupyter_codesearch.execute._dask")
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ConfigError, match=r"pip install 'jupyter-codesearch\[dask\]'"):
        dask_verifier("tcp://127.0.0.1:8786", "auto", None)
    with pytest.raises(ConfigError, match=r"pip install 'jupyter-codesearch\[dask\]'"):
        search(ADD, executor="tcp://127.0.0.1:8786", wait=False)


def test_the_scheduler_is_a_flag_a_setting_and_an_environment_variable() -> None:
    assert parse_search_options("--scheduler tcp://h:8786").explicit["executor"] == "tcp://h:8786"
    assert resolve_config(environ={"CODESEARCH_SCHEDULER": "tcp://h:1"})[0].executor == "tcp://h:1"
    assert resolve_config(environ={"CODESEARCH_EXECUTOR": "tcp://h:2"})[0].executor == "tcp://h:2"
    assert resolve_config(environ={})[0].executor == "local"


@pytest.fixture
def separate_cluster(tmp_path: Path) -> Iterator[str]:
    """``dask scheduler`` and ``dask worker`` as their own processes; their address."""
    dask = [sys.executable, "-m", "dask"]
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([*dask, "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file",
                               str(sched_file)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() or not sched_file.read_text().strip():
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        procs.append(subprocess.Popen([*dask, "worker", address, "--nthreads", "1", "--no-dashboard"], cwd=REPO,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        with distributed.Client(address, timeout=30) as c:
            c.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)


def test_a_separately_started_cluster_gives_the_local_verdicts_also_from_the_command_line(
    separate_cluster: str, tmp_path: Path
) -> None:
    tasks = humaneval()[2::EVERY * 2]
    parsed = specs(tasks)
    v = DaskVerifier(separate_cluster)
    try:
        remote = [on(v, s, [t.canonical, t.mutant()], Limits(timeout=10)) for s, t in zip(parsed, tasks, strict=True)]
    finally:
        run_sync(v.close())
    local = [run_sync(averify(s, [t.canonical, t.mutant()], timeout=10, workers=2))
             for s, t in zip(parsed, tasks, strict=True)]
    assert [[summary(x) for x in vs] for vs in remote] == [[summary(x) for x in vs] for vs in local]

    task = tasks[0]
    (tmp_path / "spec.py").write_text(task.spec)
    (tmp_path / "c.jsonl").write_text(json.dumps(task.canonical) + "\n" + json.dumps(task.mutant()) + "\n")
    cli = subprocess.run([sys.executable, "-m", "jupyter_codesearch.cli", "verify", "spec.py", "c.jsonl", "--json",
                          "--timeout", "10", "--scheduler", separate_cluster],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert cli.returncode == 0, cli.stderr
    assert f"verifying on the Dask cluster at {separate_cluster}: 1 workers" in cli.stderr
    printed = [json.loads(line) for line in cli.stdout.splitlines()]
    assert [(o["status"], o["error"]) for o in printed] == [(x.status, x.error) for x in local[0]]
