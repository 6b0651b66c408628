"""What the search history costs, and how fast a long one reads.

Part 1, ``verify``: the same search, history on and history off, in alternating rounds of the
same run: N distinct candidates (half right, half wrong, against 5 asserts) come from an instant
source and are verified by the real sandboxed kernel pool; the candidates differ between rounds
and arms, so the verdict cache never answers (that would be a saving, not a cost). Verification
throughput is candidates per second from the first sample to the last verdict; with the
history on, the run also waits until the last verdict is written. Target: the history costs
< 5% of the throughput (median of the rounds).

Part 2, ``history``: a history file of R runs x C candidates (100,000 by default, each with a
verdict and 5 per-test results, written through the store's own row code) is listed
(``history``) and one run of it is opened (``show``: candidates, verdicts, ranking) in a fresh
store. Target: each < 1 s. A single run holding all the candidates is opened too, for scale.

    python benchmarks/bench_store.py [--part verify|history|both] [-n 400] [--workers 2] [--repeat 5]
                                     [--runs 100] [--per-run 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SPEC = '''
def add(a, b):
    """Add two numbers."""

assert add(1, 2) == 3
assert add(-1, 1) == 0
assert add(10, 5) == 15
assert add(0, 0) == 0
assert add(100, -7) == 93
'''


class Instant:
    """A candidate source with the programs ready: generation costs nothing, verification is all."""

    def __init__(self, programs: list[str]) -> None:
        self.programs = programs

    def check(self) -> None:
        pass

    async def samples(self, request):  # type: ignore[no-untyped-def]
        from jupyter_codesearch._seams import Sample

        for code in self.programs:
            yield Sample(code, "llm", "bench", 1, code=True)

    async def ask(self, prompt: str, samples: int = 1) -> list[str]:
        return []

    def counters(self):  # type: ignore[no-untyped-def]
        from jupyter_codesearch._seams import SourceCounters

        return SourceCounters(requests=len(self.programs))

    def notices(self) -> list[str]:
        return []

    def more_rounds(self) -> bool:
        return False


def one_search(tag: str, n: int, workers: int, history: str) -> tuple[float, float]:
    """Candidates per second, and this process's CPU seconds per candidate (engine and writer
    threads; the kernels are other processes)."""
    from jupyter_codesearch import SearchConfig, search

    # Distinct programs (comments would not do: they are merged as one), the same work in both arms.
    programs = [f"def add(a, b):\n    return a + b + {i % 2} + 0 * {i} * len({tag!r})\n" for i in range(n)]
    config = SearchConfig(n=n, workers=workers, cluster=False, confident=False, history=history)
    t0, cpu0 = time.perf_counter(), time.process_time()
    run = search(SPEC, config, source=Instant(programs))
    assert run.recorded(60)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert run.error is None, run.error
    assert run.progress.verified == n and run.progress.passing == (n + 1) // 2
    if history != "off":
        assert not any(c.verdict is not None and c.verdict.cached for c in run.candidates)
    return n / elapsed, cpu / n


def bench_verify(n: int, workers: int, repeat: int) -> bool:
    from jupyter_codesearch.execute import detect_isolation

    iso = detect_isolation()
    if not iso.sandboxed:
        sys.exit(f"bench_store: the sandbox is required for this benchmark ({iso.reason})")
    with tempfile.TemporaryDirectory() as tmp:
        history = str(Path(tmp) / "history.sqlite")
        one_search("warm-up", 8, workers, "off")  # starts the kernel pool (excluded)
        costs, cpu_extra = [], []
        for round_ in range(1, repeat + 1):
            # Alternating arms (and which goes first), so a slow spell of a shared machine hits both alike.
            arms = ("on", "off") if round_ % 2 else ("off", "on")
            got = {arm: one_search(f"r{round_}-{arm}", n, workers, history if arm == "on" else "off") for arm in arms}
            rate = {arm: got[arm][0] for arm in arms}
            costs.append(1 - rate["on"] / rate["off"])
            cpu_extra.append((got["on"][1] - got["off"][1]) * 1e6)
            print(f"round {round_}: history off {rate['off']:7.1f} candidates/s, on {rate['on']:7.1f} candidates/s, "
                  f"cost {costs[-1] * 100:+.1f}%; CPU here {got['off'][1] * 1e6:.0f} vs {got['on'][1] * 1e6:.0f} "
                  "us per candidate")
        size = Path(history).stat().st_size / 1e6
    cost = statistics.median(costs)
    ok = cost < 0.05
    print(f"history cost, median of {repeat} rounds of {n} candidates ({workers} kernels, sandbox on): "
          f"{cost * 100:+.1f}% of verification throughput (range {min(costs) * 100:+.1f}% to "
          f"{max(costs) * 100:+.1f}%; file {size:.1f} MB; target < 5%): {'MET' if ok else 'NOT MET'}")
    print(f"CPU this process spends on the history: {statistics.median(cpu_extra):+.0f} us per candidate (median)")
    return ok


def fill(path: Path, runs: int, per_run: int) -> list[str]:
    """A history of ``runs`` runs of ``per_run`` candidates each, written with the store's row code."""
    import json

    from jupyter_codesearch._model import Candidate, TestResult, Verdict
    from jupyter_codesearch.store import open_store
    from jupyter_codesearch.store._db import connect, transaction
    from jupyter_codesearch.store._rows import UPSERT_CANDIDATE, candidate_row, write_verdict

    open_store(path)
    conn = connect(path)
    ids = []
    now = time.time()
    for r in range(runs):
        run_id = f"{r:010x}"
        ids.append(run_id)
        with transaction(conn):
            conn.execute("INSERT INTO runs (id, function, spec_text, spec_key, settings, model, started, ended, "
                         "status, candidates, verified, passing, generated) VALUES (?, 'add', ?, 'k', ?, 'bench', ?, "
                         "?, 'done', ?, ?, ?, ?)", (run_id, SPEC, json.dumps({"n": per_run}), now - runs + r,
                                                    now - runs + r + 1, per_run, per_run, per_run // 2, per_run))
            for i in range(per_run):
                code = f"def add(a, b):\n    return a + b + {i % 2}  # {i}\n"
                c = Candidate(i, code, "llm", "bench", 1, key=f"ast:{r}:{i}", size=12, tokens=100, cost=1e-5)
                conn.execute(UPSERT_CANDIDATE, candidate_row(run_id, c))
                ok = i % 2 == 0
                tests = tuple(TestResult(ok, f"assert add({k}, 1) == {k + 1}", 5 + k, k == 4, got=str(k + 1 + i % 2),
                                         expected=str(k + 1), duration_s=1e-5) for k in range(5))
                write_verdict(conn, run_id, Verdict(i, "passed" if ok else "failed", ok, tests, runtime_s=1e-5))
    conn.close()
    return ids


def bench_history(runs: int, per_run: int) -> bool:
    from jupyter_codesearch.run._past import restored
    from jupyter_codesearch.store import Store
    from jupyter_codesearch.store._read import list_runs, load_run

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for shape, (r, c) in (("many runs", (runs, per_run)), ("one run", (1, runs * per_run))):
            path = Path(tmp) / f"{shape.replace(' ', '-')}.sqlite"
            t0 = time.perf_counter()
            ids = fill(path, r, c)
            built = time.perf_counter() - t0
            store = Store(path)  # a fresh process, in effect: nothing cached
            t0 = time.perf_counter()
            listed = list_runs(store)
            t_list = time.perf_counter() - t0
            t0 = time.perf_counter()
            run = restored(load_run(store, ids[len(ids) // 2]))
            top = run.ranked()
            t_open = time.perf_counter() - t0
            assert len(listed) == r and len(top) == c and top[0].passed
            size = path.stat().st_size / 1e6
            met = t_list < 1 and t_open < 1
            if shape == "many runs":
                ok = met
            verdict = f" (target < 1 s each): {'MET' if met else 'NOT MET'}" if shape == "many runs" else " (for scale)"
            print(f"{shape}: {r} x {c} = {r * c} candidates ({size:.0f} MB, built in {built:.1f} s): "
                  f"list {t_list * 1000:.0f} ms, open a run of {c} (load, rank) {t_open * 1000:.0f} ms{verdict}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=("verify", "history", "both"), default="both")
    ap.add_argument("-n", type=int, default=400, help="candidates per search (default 400)")
    ap.add_argument("--workers", type=int, default=2, help="verification kernels (default 2)")
    ap.add_argument("--repeat", type=int, default=5, help="rounds of both arms (default 5); the median counts")
    ap.add_argument("--runs", type=int, default=100, help="runs in the big history (default 100)")
    ap.add_argument("--per-run", type=int, default=1000, help="candidates per run (default 1000)")
    args = ap.parse_args()
    if args.part in ("verify", "both"):
        bench_verify(args.n, args.workers, args.repeat)
    if args.part in ("history", "both"):
        bench_history(args.runs, args.per_run)


if __name__ == "__main__":
    main()
