"""What does sharing scores between behaviour-equal programs save, and what does it get wrong?

``share_scores=true`` gives a program that behaves like a scored one on every probe input that
program's score instead of running the score function. This script runs the same cells against
the same fake model (same seeds, clustering on in both arms) with sharing off and on, and
prints: score-function runs, scores shared, and how many shared scores were *wrong* (each shared
program's true score computed here, in-process: the cells and programs are our own test data).

1. FunSearch's bin packing (``tests/support/optimize.py``): the score calls the candidate 240
   times on item sizes of its own, which the probes (drawn like the tests' arguments) do not
   cover; the fake model mutates the best program it is shown.
2. ``unique`` with a value score on an input like the tests' (``len(f(list(range(50)) * 2))``):
   three rewrites that keep first occurrences and one that sorts.

    python benchmarks/bench_score_sharing.py [--seeds 3]

Verdict this measures: whether sharing is safe to turn on by default (it is off).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.fake_llm import EvolveResponder, FakeLLM, Request  # noqa: E402
from tests.support.optimize import BIN_PACKING, HALF_FIT, UNIQUE, UNIQUE_LINEAR, UNIQUE_MEMORISER, UNIQUE_QUADRATIC  # noqa: E402

MODEL = "openai/gpt-4o-mini"
UNIQUE_VALUE = UNIQUE.replace("    f(list(range(2000)) * 2)\n", "    return len(f(list(range(50)) * 2))\n")
UNIQUE_REPLIES = [UNIQUE_QUADRATIC, UNIQUE_LINEAR, UNIQUE_MEMORISER,
                  "def unique(xs):\n    out = []\n    [out.append(x) for x in xs if x not in out]\n    return out\n"]


def true_score(cell: str, score_name: str, name: str, code: str) -> float:
    """The score the cell's function gives ``code``, computed here (asserts left out)."""
    ns: dict[str, Any] = {}
    exec("\n".join(line for line in cell.replace("@score\n", "").splitlines() if not line.startswith("assert")), ns)
    exec(code, ns)
    return float(ns[score_name](ns[name]))


def scripted(replies: list[str]) -> Any:
    codes = itertools.cycle(replies)

    def respond(request: Request) -> Any:
        if "Implement the function" not in request.user_text:
            return "[]"
        return [f"```python\n{next(codes)}```" for _ in range(request.n)]

    return respond


def one_run(cell: str, responder: Any, share: bool, **options: Any) -> dict[str, Any]:
    from jupyter_codesearch import search

    started = time.monotonic()
    with tempfile.TemporaryDirectory() as cache, FakeLLM(responder) as fake:
        run = search(cell, model=MODEL, api_base=fake.url, timeout=5.0, cache_dir=cache, history="off",
                     share_scores=share, **options)
    if run.error is not None:
        raise SystemExit(f"run failed: {run.error}")
    passing = [c for c in run.candidates if c.passed and c.verdict is not None]
    shared = [c for c in passing if c.verdict is not None and c.verdict.score_from is not None]
    score_name = run.spec.score.source.split("def ", 1)[1].split("(")[0] if run.spec.score else ""
    wrong = [c for c in shared if true_score(cell, score_name, run.spec.name, c.code) != c.score]
    runs = run._scoring.runs if run._scoring.on else sum(
        c.verdict is not None and (c.score is not None or c.verdict.score_error is not None) for c in passing)
    best = run.best.score if run.best is not None else None
    return {"passing": len(passing), "runs": runs, "shared": len(shared), "wrong": len(wrong), "best": best,
            "s": time.monotonic() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="fake-model seeds for bin packing (default 3)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    cases = [(f"bin packing, seed {seed}", BIN_PACKING, lambda seed=seed: EvolveResponder(HALF_FIT, seed=seed),
              {"n": 6, "rounds": 1, "max_tokens": 15000, "maximize": False}) for seed in range(args.seeds)]
    cases.append(("unique, value score", UNIQUE_VALUE, lambda: scripted(UNIQUE_REPLIES), {"n": 4}))
    print(f"{'cell':<22} {'sharing':>7} {'passing':>7} {'score runs':>10} {'shared':>6} {'wrong':>5} "
          f"{'best':>6} {'time':>6}")
    for name, cell, responder, options in cases:
        for share in (False, True):
            r = one_run(cell, responder(), share, **options)
            print(f"{name:<22} {'on' if share else 'off':>7} {r['passing']:>7} {r['runs']:>10} {r['shared']:>6} "
                  f"{r['wrong']:>5} {r['best']!s:>6} {r['s']:>5.1f}s")


if __name__ == "__main__":
    main()
