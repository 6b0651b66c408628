"""Does best-shot prompting climb faster than fresh samples, for the same budget?

The task is FunSearch's online bin packing: a `priority(item, remaining)` heuristic scored by
the bins it uses on four fixed instances of 60 items (fewer is better). The model is the local
fake server's ``EvolveResponder``: it mutates the best program a prompt shows (a constant
tweaked, a branch added), or, when a prompt shows none, the same poor starting heuristic
(93 bins; best fit is 86). Both arms run in this script against the same fake model with the
same seeds and the same token budget; the only difference is ``best_shot`` (2 programs shown
per prompt, worst first, with their scores) against 0 (fresh samples every round). Printed: the
median best score after each number of samples, over the seeds.

    python benchmarks/bench_optimize.py [--seeds 5] [-n 6] [--max-tokens 15000]

Target: the best-shot arm's median best score is at least as good as the fresh arm's at every
point, and better somewhere (it reaches the best score in fewer samples).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.fake_llm import EvolveResponder, FakeLLM  # noqa: E402
from tests.support.optimize import BIN_PACKING, HALF_FIT  # noqa: E402

MODEL = "openai/gpt-4o-mini"
START = 93.0
"""Bins the starting heuristic uses: the score before any sample."""


def one_run(seed: int, best_shot: int, n: int, max_tokens: int) -> list[tuple[int, float]]:
    """The trajectory (samples drawn, best score) of one run."""
    from jupyter_codesearch import search

    with tempfile.TemporaryDirectory() as cache, FakeLLM(EvolveResponder(HALF_FIT, seed=seed)) as fake:
        run = search(BIN_PACKING, model=MODEL, api_base=fake.url, n=n, rounds=1, max_tokens=max_tokens,
                     maximize=False, best_shot=best_shot, cluster=False, timeout=5.0, cache_dir=cache, history="off")
    if run.error is not None:
        raise SystemExit(f"run failed: {run.error}")
    return run.trajectory


def best_at(trajectory: list[tuple[int, float]], samples: int) -> float:
    """Best score once ``samples`` samples were drawn."""
    seen = [score for n, score in trajectory if n <= samples]
    return min(seen) if seen else START


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="fake-model seeds per arm (default 5)")
    parser.add_argument("-n", type=int, default=6, help="samples per round (default 6)")
    parser.add_argument("--max-tokens", type=int, default=15000, help="token budget of each run (default 15000)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    started = time.monotonic()
    arms: dict[str, list[list[tuple[int, float]]]] = {"best-shot (k=2)": [], "fresh samples": []}
    for seed in range(args.seeds):
        arms["best-shot (k=2)"].append(one_run(seed, 2, args.n, args.max_tokens))
        arms["fresh samples"].append(one_run(seed, 0, args.n, args.max_tokens))
    drawn = max(n for runs in arms.values() for t in runs for n, _ in t)
    checkpoints = sorted({*range(args.n, drawn + args.n, args.n)})
    print(f"bin packing (bins used, lower is better; start {START:g}, best fit 86), median of {args.seeds} seeds, "
          f"{args.max_tokens} tokens per run")
    print(f"{'samples':>8}  " + "  ".join(f"{name:>16}" for name in arms))
    for k in checkpoints:
        cells = [statistics.median(best_at(t, k) for t in runs) for runs in arms.values()]
        print(f"{k:>8}  " + "  ".join(f"{c:>16g}" for c in cells))
    finals = {name: [best_at(t, drawn) for t in runs] for name, runs in arms.items()}
    target = min(statistics.median(values) for values in finals.values())  # what both arms typically reach
    for name, values in finals.items():
        reach = [next((n for n, v in t if v <= target), None) for t in arms[name]]
        shown = ", ".join("-" if r is None else str(r) for r in reach)
        print(f"{name}: final {statistics.median(values):g} (per seed: {', '.join(f'{v:g}' for v in values)}); "
              f"samples to reach {target:g}: {shown}")
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
