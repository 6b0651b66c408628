"""``jupyter-codesearch``: the command line, for scripts and CI.

Errors we expect (bad input, bad options, a sandbox that cannot start) print one line on stderr
and exit non-zero; they never show a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ._exceptions import CodeSearchError, ConfigError, InputError, SpecError

__all__ = ["main"]

EXIT_OK, EXIT_INPUT, EXIT_FAILURE = 0, 2, 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jupyter-codesearch",
        description="Generate, verify and rank candidate implementations of a function.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    v = sub.add_parser(
        "verify",
        help="run candidate sources against a spec's tests",
        description="Verify candidates against SPEC.py (a %%search cell body: context, stub, asserts). "
        'CANDIDATES.jsonl holds one JSON string (the source) or object {"code": ...} per line.',
    )
    v.add_argument("spec", metavar="SPEC.py")
    v.add_argument("candidates", metavar="CANDIDATES.jsonl")
    _limits(v)
    v.add_argument("--json", action="store_true", help="one JSON object per candidate on stdout")

    r = sub.add_parser(
        "run",
        help="generate candidates (LLM or offline synthesizer), verify and rank them",
        description="Search for implementations of the function stubbed in SPEC.py. Without a model "
        "(--model or CODESEARCH_MODEL) the offline synthesizer works from the asserts' examples.",
    )
    r.add_argument("spec", metavar="SPEC.py")
    r.add_argument("--model", help="litellm model string, e.g. openai/gpt-4o-mini")
    r.add_argument("--api-base", dest="api_base", metavar="URL", help="model server base URL")
    r.add_argument("--api-key-env", dest="api_key_env", metavar="VAR", help="environment variable holding the API key")
    r.add_argument("-n", type=int, dest="n", help="samples per round (default 16)")
    r.add_argument("--concurrency", type=int, help="model requests in flight (default 8)")
    r.add_argument("--rounds", type=int, help="rounds; later ones repair failing candidates (default 1)")
    r.add_argument("--until-pass", dest="until_pass", action="store_const", const=True,
                   help="stop after the first round with a passing candidate")
    r.add_argument("--time-limit", dest="time_limit", type=float, metavar="S", help="seconds for the whole run")
    r.add_argument("--generator", choices=["auto", "llm", "synth", "both"],
                   help="where candidates come from (default auto: llm with a model, else synth)")
    r.add_argument("--no-cache", dest="cache", action="store_const", const=False, help="do not reuse cached replies")
    r.add_argument("--seed", type=int, help="seed sent with requests (default 0)")
    r.add_argument("--max-cost", dest="max_cost", type=float, metavar="USD", help="stop generating after spending this")
    r.add_argument("--max-tokens", dest="max_tokens", type=int, metavar="N",
                   help="stop generating after this many tokens")
    _limits(r)
    r.add_argument("--json", action="store_true", help="one JSON object per candidate on stdout, best first")
    return p


def _limits(p: argparse.ArgumentParser) -> None:
    # Unset (None) rather than defaulted here: `run` resolves them with the session/env config.
    p.add_argument("--timeout", type=float, metavar="S", help="seconds per candidate (default 2)")
    p.add_argument("--memory", dest="memory_mb", type=int, metavar="MB", help="memory per candidate (default 512)")
    p.add_argument("--workers", type=int, metavar="K", help="verification kernels (default: cores)")


def read_spec(path: str) -> str:
    """The text of a spec file, or an :class:`InputError` saying what is wrong with it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"spec file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read spec file {path}: {e}") from None


def read_candidates(path: str) -> list[str]:
    """Sources from a JSONL file: one JSON string, or an object with ``"code"``, per line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"candidates file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read candidates file {path}: {e}") from None
    sources = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}, line {number}: not valid JSON ({e.msg})") from None
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            item = item["code"]
        if not isinstance(item, str):
            raise InputError(
                f'{path}, line {number}: expected a JSON string or an object with a "code" string'
            )
        sources.append(item)
    return sources


class _Progress:
    """One self-overwriting line on stderr (only when stderr is a terminal)."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.passed, self.stream = total, 0, 0, stream
        self.live = stream.isatty()

    def __call__(self, passed: bool) -> None:
        self.done += 1
        self.passed += passed
        if self.live:
            self.stream.write(f"\rverified {self.done}/{self.total}, {self.passed} passing")
            self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")


def _cmd_verify(args: argparse.Namespace) -> int:
    from .execute import verify
    from .spec import Spec

    text = read_spec(args.spec)
    spec = Spec.parse(text)
    sources = read_candidates(args.candidates)
    progress = _Progress(len(sources), sys.stderr)
    try:
        verdicts = verify(
            spec, sources, timeout=2.0 if args.timeout is None else args.timeout,
            memory_mb=512 if args.memory_mb is None else args.memory_mb, workers=args.workers,
            on_verdict=lambda v: progress(v.passed),
        )
    finally:
        progress.close()
    if args.json:
        for v in verdicts:
            print(json.dumps(v.to_dict(), ensure_ascii=False))
    else:
        _table(verdicts)
    return EXIT_OK


_RUN_OPTIONS = (
    "model", "api_base", "api_key_env", "n", "concurrency", "rounds", "until_pass", "time_limit",
    "generator", "cache", "seed", "max_cost", "max_tokens", "timeout", "memory_mb", "workers",
)


_CLEAR_LINE = "\r\033[K"
"""On a terminal: back to the start of the live progress line, and erase it."""


def _cmd_run(args: argparse.Namespace) -> int:
    from ._config import resolve_config
    from .execute import SandboxWarning
    from .run import SearchRun, search
    from .spec import Spec

    spec = Spec.parse(read_spec(args.spec))
    config, _ = resolve_config({k: getattr(args, k) for k in _RUN_OPTIONS})
    if config.effective_generator == "synth" and not config.model:
        print("jupyter-codesearch: no model configured: using the offline synthesizer "
              "(set --model or CODESEARCH_MODEL to use an LLM)", file=sys.stderr)
    with warnings.catch_warnings():  # the run's notice says it, as it happens
        warnings.simplefilter("ignore", SandboxWarning)
        run: SearchRun = search(spec, config, wait=False)
    live = sys.stderr.isatty()
    told = 0

    def tell() -> None:  # notices as they come (no sandbox, a skipped generator, ...)
        nonlocal told
        notes = run.notices
        for note in notes[told:]:
            print(_CLEAR_LINE * live + f"jupyter-codesearch: {note}", file=sys.stderr)
        told = len(notes)

    try:
        while not run.wait(0.2 if live else 1.0).done:
            tell()
            if live:
                sys.stderr.write("\r" + _progress_line(run) + "  ")
                sys.stderr.flush()
    except KeyboardInterrupt:
        run.stop()
        run.wait(15)
    tell()
    print(_CLEAR_LINE * live + _progress_line(run), file=sys.stderr)
    if run.error is not None:
        raise run.error
    ranked = run.ranked()
    if args.json:
        for rank, c in enumerate(ranked, 1):
            base = c.verdict.to_dict() if c.verdict is not None else {
                "index": c.id, "status": c.status, "passed": False, "tests": [], "runtime_s": None,
                "error": c.error,
            }
            base.update(index=c.id, code=c.code, rank=rank, round=c.round, samples=c.samples,
                        tokens=c.tokens, cost=c.cost, origin=c.origin, model=c.model, parent=c.parent,
                        cluster=c.cluster, cluster_size=c.cluster_size, rank_reason=c.rank_reason)
            print(json.dumps(base, ensure_ascii=False))
        # Last line, not a candidate: inputs on which the top behaviour clusters disagree.
        print(json.dumps({"disagreements": [
            {"call": d.call, "outputs": [{"cluster": cid, "output": b.text} for cid, b in d.outputs]}
            for d in run.disagreements()
        ]}, ensure_ascii=False))
    else:
        _run_table(ranked)
        _disagreement_table(run)
    return EXIT_OK


def _disagreement_table(run: object) -> None:
    from .run import SearchRun

    assert isinstance(run, SearchRun)
    found = run.disagreements()
    if not found:
        return
    print("\nthe top behaviour clusters disagree on these inputs (add an assert to decide):")
    for d in found:
        print(f"  {d.call}: " + "; ".join(f"cluster {cid} -> {b.text}" for cid, b in d.outputs))


def _progress_line(run: object) -> str:
    from .run import SearchRun

    assert isinstance(run, SearchRun)
    p = run.progress
    cost = "cost unknown" if p.cost is None else f"${p.cost:.4f}"
    parts = [f"{p.state}", f"round {p.round}", f"generated {p.generated}", f"verified {p.verified}/{p.candidates}",
             f"passing {p.passing}"]
    if p.requests:
        parts += [f"{p.tokens} tokens", cost]
    if p.explored:
        parts.append(f"explored {p.explored:,} expressions")
    return ", ".join(parts) + f", {p.elapsed:.1f} s"


def _run_table(ranked: Sequence[object]) -> None:
    from ._model import Candidate

    print(f"{'rank':>4} {'#':>4}  {'status':<14} {'tests':>6} {'cluster':>9} {'runtime':>10} {'size':>5} "
          f"{'round':>5} {'samples':>7}  model")
    for rank, c in enumerate(ranked, 1):
        assert isinstance(c, Candidate)
        runtime = _runtime(c.status, c.runtime_s, 3)
        tests = f"{c.tests_passed}/{c.tests_total}" if c.verified and c.tests_total else "-"
        cluster = f"{c.cluster} ({c.cluster_size})" if c.cluster is not None else "-"
        print(f"{rank:>4} {c.id:>4}  {c.status:<14} {tests:>6} {cluster:>9} {runtime:>10} {c.size:>5} "
              f"{c.round:>5} {c.samples:>7}  {c.model or c.origin}")
    best = next((c for c in ranked if isinstance(c, Candidate) and c.passed), None)
    if best is not None:
        print(f"\nbest (#{best.id}):\n{best.code}")
    else:
        print("\nno candidate passes every test.")


def _runtime(status: str, seconds: float | None, digits: int) -> str:
    # Only a candidate that ran its tests to the end has a runtime worth showing.
    if seconds is None or status not in ("passed", "failed", "error"):
        return "-"
    return f"{seconds * 1000:.{digits}f} ms"


def _table(verdicts: Sequence[object]) -> None:
    from .execute import Verdict

    print(f"{'#':>4}  {'status':<14} {'tests':>7}  {'runtime':>9}  detail")
    for v in verdicts:
        assert isinstance(v, Verdict)
        runtime = _runtime(v.status, v.runtime_s, 2)
        tests = f"{v.tests_passed}/{v.tests_total}"
        print(f"{v.index:>4}  {v.status:<14} {tests:>7}  {runtime:>9}  {(v.error or '')[:80]}")
    passing = sum(1 for v in verdicts if isinstance(v, Verdict) and v.passed)
    print(f"{passing} of {len(verdicts)} candidates pass every test.")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jupyter-codesearch`` console script."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the subcommand's parser: its usage is the one that helps
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        commands.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    shown: set[str] = set()

    def show(message: Warning | str, *_: Any, **__: Any) -> None:
        text = str(message)
        if text not in shown:
            shown.add(text)
            print(_CLEAR_LINE * sys.stderr.isatty() + f"jupyter-codesearch: warning: {text}", file=sys.stderr)

    # Our warnings (spec mistakes, no sandbox) become plain lines as they come, each once.
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        try:
            return {"verify": _cmd_verify, "run": _cmd_run}[args.command](args)
        except SpecError as e:
            print(f"jupyter-codesearch: {args.spec}: {e}", file=sys.stderr)
            return EXIT_INPUT
        except (InputError, ConfigError) as e:
            print(f"jupyter-codesearch: {e}", file=sys.stderr)
            return EXIT_INPUT
        except CodeSearchError as e:
            print(f"jupyter-codesearch: {e}", file=sys.stderr)
            return EXIT_FAILURE
        except KeyboardInterrupt:
            print("jupyter-codesearch: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # `... | head`: the reader left; so do we, quietly
            sys.stdout = open(os.devnull, "w")
            return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
