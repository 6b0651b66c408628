"""Does verification (and probing) hide behind generation?

A local OpenAI-compatible server answers N requests staggered over time (latency grows with
each request), and every candidate takes a measurable time per call (it sleeps in each). With
overlap (the default), each candidate is verified as soon as it arrives, so the run should end
about one verification after the last reply; the same run with overlap off (verification only
after generation) is printed for comparison. Then the same runs with probing on (clustering, the
default): all candidates correct and alike, once slow (100 ms per call) and once fast. Every
sample is drawn (``--all-samples``), so the tail is what probing costs, not what stopping early
saves. Targets: the run ends at most 1.5 s after the last reply for the slow candidates, 0.5 s
for fast ones.

    python benchmarks/bench_pipeline.py [-n 20] [--spacing 0.15] [--verify-ms 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.fake_llm import FakeLLM, Request  # noqa: E402

SPEC = '''
def slow_inc(x):
    """Return x + 1 (slowly)."""

assert slow_inc(1) == 2
assert slow_inc(2) == 3
assert slow_inc(3) == 4
assert slow_inc(4) == 5
'''
SLOW_TARGET_S, FAST_TARGET_S = 1.5, 0.5


def responder(per_call_s: float):  # type: ignore[no-untyped-def]
    def reply(req: Request) -> str:
        if "edge-case" in req.user_text or "test cases" in req.user_text:
            return "No."  # side requests: this loopback model proposes nothing
        # Distinct programs (no de-duplication), all correct, each call sleeping per_call_s.
        return (f"```python\nimport time\n\ndef slow_inc(x):\n    time.sleep({per_call_s})\n"
                f"    return x + 1 + 0 * {req.index}\n```")
    return reply


def latency(spacing: float, replies: list[float]):  # type: ignore[no-untyped-def]
    # When each code reply leaves the server, measured there: the run's own events would say
    # when it took a candidate, which with overlap off is only after generation.
    def wait(req: Request) -> float:
        side = "edge-case" in req.user_text or "test cases" in req.user_text
        delay = 0.0 if side else spacing * (req.index + 1)
        if not side:
            replies.append(time.monotonic() + delay)
        return delay
    return wait


def one_run(n: int, spacing: float, per_call_s: float, workers: int, overlap: bool, cluster: bool) -> dict[str, float]:
    from jupyter_codesearch import search

    replies: list[float] = []
    with (FakeLLM(responder(per_call_s), latency=latency(spacing, replies)) as fake,
          tempfile.TemporaryDirectory(prefix="bench-pipeline-") as cache):
        t0 = time.monotonic()
        run = search(SPEC, model="openai/gpt-4o-mini", api_base=fake.url, n=n, concurrency=n,
                     workers=workers, timeout=per_call_s * 16 + 2, cache=False, cache_dir=cache,
                     overlap=overlap, cluster=cluster, confident=False, wait=False,
                     history="off")
        run.wait()
        end = time.monotonic()
    assert run.error is None, run.error
    assert run.progress.passing == n, run.progress
    last = max(replies)
    unprobed = sum(c.behaviours is None for c in run.candidates) if cluster else 0
    return {"last_reply": last - t0, "end": end - t0, "tail": end - last, "unprobed": unprobed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=20, help="requests/candidates, verification runs (default 20)")
    ap.add_argument("--probe-n", type=int, default=16, help="requests/candidates, probing runs (default 16)")
    ap.add_argument("--spacing", type=float, default=0.15, help="seconds between replies (default 0.15)")
    ap.add_argument("--verify-ms", type=float, default=200, help="verification time per candidate (default 200 ms)")
    ap.add_argument("--workers", type=int, default=2, help="verification kernels (default 2)")
    args = ap.parse_args()
    verify_s = args.verify_ms / 1000
    from jupyter_codesearch import verify
    from jupyter_codesearch.generate._llm import import_litellm

    # One-time costs, not timed: the kernel pool's start-up and litellm's import (seconds).
    verify(SPEC, ["def slow_inc(x):\n    return x + 1\n"], workers=args.workers)
    import_litellm()
    print(f"{args.n} replies, one every {args.spacing:.2f} s; each candidate takes ~{args.verify_ms:.0f} ms "
          f"to verify; {args.workers} kernels")
    on = one_run(args.n, args.spacing, verify_s / 4, args.workers, overlap=True, cluster=False)
    off = one_run(args.n, args.spacing, verify_s / 4, args.workers, overlap=False, cluster=False)
    for label, r in (("overlap on ", on), ("overlap off", off)):
        print(f"{label}: last reply at {r['last_reply']:.2f} s, run ended at {r['end']:.2f} s, "
              f"tail {r['tail']:.2f} s = {r['tail'] / verify_s:.1f} candidate verifications")
    print(f"verification hidden behind generation: tail {on['tail']:.2f} s with overlap vs "
          f"{off['tail']:.2f} s without ({off['end'] - on['end']:.2f} s saved)")
    print(f"\nprobing on, {args.probe_n} correct candidates, one reply every {args.spacing:.2f} s:")
    for label, per_call, target in (("100 ms per call", 0.1, SLOW_TARGET_S), ("fast calls", 0.0, FAST_TARGET_S)):
        plain = one_run(args.probe_n, args.spacing, per_call, args.workers, overlap=True, cluster=False)
        probed = one_run(args.probe_n, args.spacing, per_call, args.workers, overlap=True, cluster=True)
        met = "MET" if probed["tail"] <= target else "NOT MET"
        print(f"  {label}: tail {probed['tail']:.2f} s with probing, {plain['tail']:.2f} s without "
              f"(target <= {target:g} s: {met}); {probed['unprobed']:.0f} of {args.probe_n} left unprobed "
              "(their votes could not change the top)")


if __name__ == "__main__":
    main()
