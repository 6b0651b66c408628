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
from typing import TextIO

from ._exceptions import CodeSearchError, InputError, SpecError

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
        description="Verify candidates against SPEC.py (a %%%%search cell body: context, stub, asserts). "
        'CANDIDATES.jsonl holds one JSON string (the source) or object {"code": ...} per line.',
    )
    v.add_argument("spec", metavar="SPEC.py")
    v.add_argument("candidates", metavar="CANDIDATES.jsonl")
    _limits(v)
    v.add_argument("--json", action="store_true", help="one JSON object per candidate on stdout")
    return p


def _limits(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, default=2.0, metavar="S", help="seconds per candidate (default 2)")
    p.add_argument("--memory", type=int, default=512, metavar="MB", help="memory per candidate (default 512)")
    p.add_argument("--workers", type=int, default=None, metavar="K", help="verification kernels (default: cores)")


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
            spec, sources, timeout=args.timeout, memory_mb=args.memory, workers=args.workers,
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


def _table(verdicts: Sequence[object]) -> None:
    from .execute import Verdict

    print(f"{'#':>4}  {'status':<14} {'tests':>7}  {'runtime':>9}  detail")
    for v in verdicts:
        assert isinstance(v, Verdict)
        runtime = f"{v.runtime_s * 1000:.2f} ms" if v.runtime_s is not None else "-"
        tests = f"{v.tests_passed}/{v.tests_total}"
        print(f"{v.index:>4}  {v.status:<14} {tests:>7}  {runtime:>9}  {(v.error or '')[:80]}")
    passing = sum(1 for v in verdicts if isinstance(v, Verdict) and v.passed)
    print(f"{passing} of {len(verdicts)} candidates pass every test.")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jupyter-codesearch`` console script."""
    args = _parser().parse_args(argv)
    # Our warnings (spec mistakes, no sandbox) become plain lines, each once.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return {"verify": _cmd_verify}[args.command](args)
        except SpecError as e:
            print(f"jupyter-codesearch: {args.spec}: {e}", file=sys.stderr)
            return EXIT_INPUT
        except InputError as e:
            print(f"jupyter-codesearch: {e}", file=sys.stderr)
            return EXIT_INPUT
        except CodeSearchError as e:
            print(f"jupyter-codesearch: {e}", file=sys.stderr)
            return EXIT_FAILURE
        except KeyboardInterrupt:
            print("jupyter-codesearch: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # `... | head`: the reader left; so do we, quietly
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stdout must stay open until exit
            return EXIT_OK
        finally:
            for message in dict.fromkeys(str(w.message) for w in caught):
                print(f"jupyter-codesearch: warning: {message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
