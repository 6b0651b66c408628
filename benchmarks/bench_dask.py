"""Verification throughput on a Dask cluster vs this machine's kernel pool, same run.

The baseline is the local kernel pool (``verify()``) with 1 and with 2 kernels; against it, a
``distributed.LocalCluster`` of 1 and of 2 worker processes with one thread and one sandboxed kernel
each, verifying through ``DaskVerifier`` (batches of 16 candidates per task). The same candidates
are judged by all four, in alternating rounds (so a slow spell of a shared machine hits all alike);
start-up (cluster, kernels) is excluded. The overhead per candidate is the Dask time per candidate
minus the local pool's with as many kernels.

    python benchmarks/bench_dask.py [-n 2000] [--repeat 3] [--humaneval]

``-n`` trivial candidates (5 asserts each, half wrong: the cost of verification itself, where
overhead shows most); ``--humaneval`` instead judges HumanEval's 164 canonical solutions and 164
mutants (328) and checks that every verdict on the cluster is the local pool's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_verify import ASSERTS, PROMPT, candidates
from jupyter_codesearch import Spec, SpecWarning
from jupyter_codesearch._engine import run_sync
from jupyter_codesearch._model import Limits, Verdict
from jupyter_codesearch.execute import averify, detect_isolation
from jupyter_codesearch.execute._dask import DaskVerifier
from jupyter_codesearch.execute._executors import verify_with

Job = list[tuple[Spec, list[str]]]
"""Specs, each with its candidates."""


def trivial(n: int) -> Job:
    return [(Spec.parse(PROMPT + "\n" + "\n".join(ASSERTS) + "\n"), candidates(n))]


def humaneval_job() -> Job:
    from tests.support.datasets import humaneval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)
        return [(Spec.parse(t.spec), [t.canonical, t.mutant()]) for t in humaneval()]


def summary(v: Verdict) -> tuple[object, ...]:
    return (v.index, v.status, v.passed, tuple(t.passed for t in v.tests), v.error)


async def _local(job: Job, kernels: int, limits: Limits) -> list[list[Verdict]]:
    return list(await asyncio.gather(*(averify(s, c, timeout=limits.timeout, workers=kernels) for s, c in job)))


async def _dask(job: Job, verifier: DaskVerifier, limits: Limits) -> list[list[Verdict]]:
    return list(await asyncio.gather(*(verify_with(verifier, s, c, limits) for s, c in job)))


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = run()
    return time.perf_counter() - t0, out


def main() -> None:
    import distributed

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="trivial candidates (default 2000)")
    ap.add_argument("--repeat", type=int, default=3, help="alternating rounds (default 3); the median counts")
    ap.add_argument("--humaneval", action="store_true", help="HumanEval canonical + mutants (328) instead")
    args = ap.parse_args()
    if not detect_isolation().sandboxed:
        sys.exit("bench_dask: the sandbox is required for this benchmark")
    job = humaneval_job() if args.humaneval else trivial(args.n)
    limits = Limits(timeout=10.0 if args.humaneval else 2.0)
    total = sum(len(c) for _, c in job)
    what = "HumanEval canonical + mutant" if args.humaneval else f"trivial x {len(ASSERTS)} asserts"
    print(f"machine: {os.cpu_count()} cores; {total} candidates ({what}); {args.repeat} rounds")

    clusters, verifiers = [], {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=50)
        clusters.append(cluster)
        verifiers[workers] = v = DaskVerifier(cluster.scheduler_address)
        run_sync(v.start())
        print(f"  LocalCluster({workers} workers) and its kernels started in {time.perf_counter() - t0:.1f} s")
    runs: dict[str, Callable[[], list[list[Verdict]]]] = {
        "local pool, 1 kernel": lambda: run_sync(_local(job, 1, limits)),
        "local pool, 2 kernels": lambda: run_sync(_local(job, 2, limits)),
        "Dask, 1 worker x 1 kernel": lambda: run_sync(_dask(job, verifiers[1], limits)),
        "Dask, 2 workers x 1 kernel": lambda: run_sync(_dask(job, verifiers[2], limits)),
    }
    try:
        for run in runs.values():  # warm-up: pools started, specs loaded
            run()
        times: dict[str, list[float]] = {name: [] for name in runs}
        reference: list[list[tuple[object, ...]]] | None = None
        for round_ in range(1, args.repeat + 1):
            print(f"round {round_}:")
            for name, run in runs.items():
                elapsed, verdicts = timed(run)
                times[name].append(elapsed)
                got = [[summary(v) for v in vs] for vs in verdicts]
                reference = reference or got
                assert got == reference, f"{name}: verdicts differ from the local pool's"
                print(f"  {name:28s} {total / elapsed:8.1f} candidates/s  {elapsed / total * 1000:6.2f} ms each")
        print(f"median of {args.repeat} rounds (verdicts identical on all four, every round):")
        median = {name: statistics.median(t) for name, t in times.items()}
        for name, t in median.items():
            print(f"  {name:28s} {total / t:8.1f} candidates/s")
        for k in (1, 2):
            local = median[f"local pool, {k} kernel{'s' * (k > 1)}"]
            remote = median[f"Dask, {k} worker{'s' * (k > 1)} x 1 kernel"]
            print(f"  Dask overhead with {k} kernel{'s' * (k > 1)}: {(remote - local) / total * 1000:+.2f} ms per "
                  f"candidate ({(remote / local - 1) * 100:+.0f}%)")
    finally:
        for v in verifiers.values():
            run_sync(v.close())
        for cluster in clusters:
            cluster.close()


if __name__ == "__main__":
    main()
