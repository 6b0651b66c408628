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
from typing import TYPE_CHECKING, Any, TextIO

from ._config import from_flags
from ._exceptions import CodeSearchError, ConfigError, InputError, SandboxWarning, SpecError
from ._log import get_logger
from ._model import Limits, Verdict
from ._options import add_flags
from .store._commands import COMMANDS as HISTORY_COMMANDS
from .store._commands import add_parsers as add_history_parsers
from .ui._text import progress_text, summary_text, trajectory_text, verdicts_text, verify_progress_text

if TYPE_CHECKING:
    from .run import SearchRun

__all__ = ["main"]

_log = get_logger("jupyter_codesearch.cli")  # not __name__: that is __main__ under `python -m`

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
    add_flags(v, "verify")
    v.add_argument("--json", action="store_true", help="one JSON object per candidate on stdout")

    r = sub.add_parser(
        "run",
        help="generate candidates (LLM or offline synthesizer), verify and rank them",
        description="Search for implementations of the function stubbed in SPEC.py. Without a model "
        "(--model or CODESEARCH_MODEL) the offline synthesizer works from the asserts' examples.",
    )
    r.add_argument("spec", metavar="SPEC.py")
    # Unset flags stay None, so `run` resolves them with the CODESEARCH_* environment underneath.
    add_flags(r, "run")
    r.add_argument("--json", action="store_true", help="one JSON object per candidate on stdout, best first")
    add_history_parsers(sub)
    return p


def read_spec(path: str) -> str:
    """The text of a spec file, or an :class:`InputError` saying what is wrong with it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"spec file not found: {path}") from None  # nothing more to know
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read spec file {path}: {e}") from e


def read_candidates(path: str) -> list[str]:
    """Sources from a JSONL file: one JSON string, or an object with ``"code"``, per line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"candidates file not found: {path}") from None  # nothing more to know
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read candidates file {path}: {e}") from e
    sources = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}, line {number}: not valid JSON ({e.msg})") from e
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

    def __call__(self, verdict: Verdict) -> None:
        self.done += 1
        self.passed += verdict.passed
        if self.live:
            self.stream.write("\r" + verify_progress_text(self.done, self.total, self.passed))
            self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")


def _cmd_verify(args: argparse.Namespace) -> int:
    from .execute import verify
    from .spec import Spec

    limits = from_flags(args, "verify")  # what is not given, verify()'s defaults (the table's) decide
    executor = limits.pop("executor", None) or _env_setting("executor") or "local"
    spec = Spec.parse(read_spec(args.spec))
    sources = read_candidates(args.candidates)
    _log.debug("verify %d candidates against %s with %s on %s", len(sources), args.spec, limits, executor)
    progress = _Progress(len(sources), sys.stderr)
    try:
        if executor == "local":
            verdicts = verify(spec, sources, on_verdict=progress, **limits)
        else:
            verdicts = _verify_on_cluster(executor, spec, sources, limits, progress)
    finally:
        progress.close()
    if args.json:
        for v in verdicts:
            print(json.dumps(v.to_dict(), ensure_ascii=False))
    else:
        print(verdicts_text(verdicts))
    return EXIT_OK


def _env_setting(name: str) -> str | None:
    """A setting from its ``CODESEARCH_*`` variables (``verify`` reads only where it runs so)."""
    from ._options import BY_NAME

    setting = BY_NAME[name]
    return next((os.environ[k] for k in (setting.env, *setting.env_aliases) if os.environ.get(k)), None)


def _verify_on_cluster(
    address: str, spec: Any, sources: list[str], limits: dict[str, Any], progress: _Progress
) -> list[Verdict]:
    from ._engine import run_sync
    from .execute import _check
    from .execute._executors import dask_verifier, verify_with

    checked, _ = _check(limits.get("timeout", Limits().timeout), limits.get("memory_mb", Limits().memory_mb),
                        limits.get("workers", 1))
    verifier = dask_verifier(address, _env_setting("sandbox") or "auto", limits.get("workers"))
    run_sync(verifier.start())
    for note in verifier.notices():  # the cluster: its workers and dashboard
        print(f"jupyter-codesearch: {note}", file=sys.stderr)
    return run_sync(verify_with(verifier, spec, sources, checked, progress))


_CLEAR_LINE = "\r\033[K"
"""On a terminal: back to the start of the live progress line, and erase it."""


def _cmd_run(args: argparse.Namespace) -> int:
    from . import search  # the package's: wherever the run module lives
    from ._config import resolve_config
    from .spec import Spec

    spec = Spec.parse(read_spec(args.spec))
    config, origin = resolve_config(from_flags(args, "run"))
    _log.debug("run %s with %s (from: %s)", args.spec, config,
               {k: v for k, v in origin.items() if v != "default"})
    if config.effective_generator == "synth" and not config.model:
        print("jupyter-codesearch: no model configured: using the offline synthesizer "
              "(set --model or CODESEARCH_MODEL to use an LLM)", file=sys.stderr)
    with warnings.catch_warnings():  # the run's notice says it, as it happens
        warnings.simplefilter("ignore", SandboxWarning)
        run = search(spec, config, wait=False)
    _follow(run)
    if run.error is not None:
        raise run.error
    if args.json:
        _print_json(run)
    else:
        print(summary_text(run.ranked(), run.best, run.disagreements()))
        climb = trajectory_text(run.trajectory, runtime=run.spec.score_mode == "runtime")
        if climb:
            print("\n" + climb)
    return EXIT_OK


def _follow(run: SearchRun) -> None:
    """Wait for the run, with its notices as they come and a live progress line on a terminal."""
    live = sys.stderr.isatty()
    told = 0

    def tell() -> None:  # no sandbox, a skipped generator, ...
        nonlocal told
        notes = run.notices
        for note in notes[told:]:
            print(_CLEAR_LINE * live + f"jupyter-codesearch: {note}", file=sys.stderr)
        told = len(notes)

    try:
        while not run.wait(0.2 if live else 1.0).done:
            tell()
            if live:
                sys.stderr.write("\r" + progress_text(run.progress) + "  ")
                sys.stderr.flush()
    except KeyboardInterrupt:
        run.stop()
        run.wait(15)
    tell()
    print(_CLEAR_LINE * live + progress_text(run.progress), file=sys.stderr)


def _print_json(run: SearchRun) -> None:
    for rank, c in enumerate(run.ranked(), 1):
        base = c.verdict.to_dict() if c.verdict is not None else {
            "index": c.id, "status": c.status, "passed": False, "tests": [], "runtime_s": None,
            "error": c.error, "cached": False,
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
            return {"verify": _cmd_verify, "run": _cmd_run, **HISTORY_COMMANDS}[args.command](args)
        except CodeSearchError as e:
            # One line for the user; the traceback (and its cause) for CODESEARCH_LOG=debug.
            _log.debug("%s failed", args.command, exc_info=e)
            where = f"{args.spec}: " if isinstance(e, SpecError) and hasattr(args, "spec") else ""
            print(f"jupyter-codesearch: {where}{e}", file=sys.stderr)
            return EXIT_INPUT if isinstance(e, (SpecError, InputError, ConfigError)) else EXIT_FAILURE
        except KeyboardInterrupt:
            print("jupyter-codesearch: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # `... | head`: the reader left; so do we, quietly
            sys.stdout = open(os.devnull, "w")
            return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
