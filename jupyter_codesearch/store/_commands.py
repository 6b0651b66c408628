"""``jupyter-codesearch history | show | export | prune``: the search history from the shell."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from typing import Any

from .._exceptions import ConfigError, InputError
from ._read import list_runs, load_run, prune
from ._store import Store

__all__ = ["COMMANDS", "EXPORT_FORMATS", "add_parsers"]

EXPORT_FORMATS = ("csv", "jsonl", "parquet")


def _history_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--history", metavar="PATH", help="the history file (default: the history setting, "
                   "CODESEARCH_HISTORY, else history.sqlite in the user data dir)")


def add_parsers(sub: Any) -> None:
    """Add the history subcommands to the CLI's subparsers."""
    h = sub.add_parser("history", help="list past runs, newest first",
                       description="List the runs in the search history, newest first.")
    h.add_argument("--json", action="store_true", help="one JSON object per run on stdout")
    h.add_argument("--limit", type=int, metavar="N", help="only the N newest runs")
    _history_flag(h)
    s = sub.add_parser("show", help="a past run's ranked candidates",
                       description="Show a past run (ID or a unique prefix of it) as `run` prints a finished run.")
    s.add_argument("id", metavar="ID")
    s.add_argument("--json", action="store_true", help="one JSON object per candidate, best first (as run --json)")
    _history_flag(s)
    e = sub.add_parser("export", help="a past run's candidates as csv, jsonl or parquet",
                       description="Write a past run's candidates, best first, with the columns of "
                       "SearchRun.to_frame().")
    e.add_argument("id", metavar="ID")
    e.add_argument("--format", choices=EXPORT_FORMATS, default="csv", help="file format (default csv)")
    e.add_argument("-o", "--output", metavar="FILE", help="where to write (default: stdout; parquet: ID.parquet)")
    _history_flag(e)
    p = sub.add_parser("prune", help="delete runs older than some days",
                       description="Delete the runs that started more than DAYS days ago, with all they hold.")
    p.add_argument("--older-than", metavar="DAYS", type=float, required=True, dest="older_than")
    _history_flag(p)


def _store(args: argparse.Namespace) -> Store:
    from .._config import resolve_config
    from . import history_path, store_for

    config, _ = resolve_config({"history": args.history})
    if history_path(config) is None:
        raise ConfigError("the search history is off (history=off): nothing is recorded, nothing to read")
    store = store_for(config)
    if store is None:
        raise ConfigError(f"the search history {history_path(config)} cannot be opened")
    return store


def _cmd_history(args: argparse.Namespace) -> int:
    from ..ui._text import history_text

    runs = list_runs(_store(args), args.limit)
    if args.json:
        for r in runs:
            print(json.dumps({**r, "started": _iso(r["started"]), "ended": _iso(r["ended"])}, ensure_ascii=False))
    else:
        print(history_text(runs))
    return 0


def _iso(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _cmd_show(args: argparse.Namespace) -> int:
    from ..cli import _print_json
    from ..run._past import restored
    from ..ui._text import progress_text, summary_text, trajectory_text

    run = restored(load_run(_store(args), args.id))
    if args.json:
        _print_json(run)
        return 0
    for note in run.notices:
        print(f"jupyter-codesearch: {note}", file=sys.stderr)
    print(f"run {run.history_id}: " + progress_text(run.progress, run.spec.name), file=sys.stderr)
    print(summary_text(run.ranked(), run.best, run.disagreements()))
    climb = trajectory_text(run.trajectory, runtime=run.spec.score_mode == "runtime")  # as `run` prints it
    if climb:
        print("\n" + climb)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from ..run._past import restored

    fmt = args.format
    if fmt == "parquet" and not any(importlib.util.find_spec(m) for m in ("pyarrow", "fastparquet")):
        raise InputError("export --format parquet needs pyarrow (pip install pyarrow); csv and jsonl need nothing more")
    run = restored(load_run(_store(args), args.id))
    frame = run.to_frame().reset_index()
    out = args.output or (f"{run.history_id}.parquet" if fmt == "parquet" else None)
    if fmt == "parquet":
        frame.to_parquet(out, index=False)
    elif fmt == "jsonl":
        text = frame.to_json(orient="records", lines=True, force_ascii=False)
        _write(out, text if text.endswith("\n") else text + "\n")
    else:
        _write(out, frame.to_csv(index=False))
    if out is not None:
        print(f"jupyter-codesearch: wrote {len(frame)} candidates of run {run.history_id} to {out}", file=sys.stderr)
    return 0


def _write(path: str | None, text: str) -> None:
    if path is None:
        sys.stdout.write(text)
        return
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e}") from e


def _cmd_prune(args: argparse.Namespace) -> int:
    if args.older_than < 0:
        raise InputError(f"--older-than takes a number of days, 0 or more, not {args.older_than:g}")
    n = prune(_store(args), args.older_than)
    print(f"jupyter-codesearch: deleted {n} run{'s' if n != 1 else ''} older than {args.older_than:g} days",
          file=sys.stderr)
    return 0


COMMANDS = {"history": _cmd_history, "show": _cmd_show, "export": _cmd_export, "prune": _cmd_prune}
