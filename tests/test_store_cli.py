"""``jupyter-codesearch history | show | export | prune``, run as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_codesearch import SearchConfig
from jupyter_codesearch.run import SearchRun, search
from jupyter_codesearch.run._frame import COLUMNS
from tests.test_cli import SPEC as ADD_SPEC
from tests.test_search_seams import ALSO_RIGHT, RIGHT, SPEC, WRONG, FakeSource, FakeVerifier


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jupyter_codesearch.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return tmp_path / "h.sqlite"


def recorded(history: Path, texts: list[str]) -> SearchRun:
    run = search(SPEC, SearchConfig(history=str(history)), source=FakeSource({1: texts}), verifier=FakeVerifier(),
                 wait=False).wait(10)
    assert run.recorded(5) and run.history_id is not None
    return run


def test_history_lists_runs_newest_first_as_text_and_json(history: Path, tmp_path: Path) -> None:
    old = recorded(history, [RIGHT, WRONG])
    new = recorded(history, [WRONG])
    text = cli("history", "--history", str(history), cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["id", "when", "function", "model", "status", "best", "candidates", "cost"]
    assert [ln.split()[0] for ln in lines[1:]] == [new.history_id, old.history_id]
    out = cli("history", "--json", "--history", str(history), cwd=tmp_path)
    runs = [json.loads(ln) for ln in out.stdout.splitlines()]
    assert [r["id"] for r in runs] == [new.history_id, old.history_id]
    assert {"id", "function", "started", "status", "candidates"} <= set(runs[0])
    assert (runs[1]["function"], runs[1]["status"], runs[1]["candidates"], runs[1]["best_status"]) == (
        "inc", "done", 2, "passed")
    assert runs[1]["started"].endswith("Z")


def test_show_json_prints_the_run_as_run_json_does(history: Path, tmp_path: Path) -> None:
    (tmp_path / "spec.py").write_text(ADD_SPEC)
    env = {**os.environ, "CODESEARCH_HISTORY": str(history)}
    first = subprocess.run([sys.executable, "-m", "jupyter_codesearch.cli", "run", "spec.py", "--json", "-n", "4"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env, check=False)
    assert first.returncode == 0, first.stderr
    listed = cli("history", "--json", "--history", str(history), cwd=tmp_path).stdout
    [run] = [json.loads(ln) for ln in listed.splitlines()]
    shown = cli("show", run["id"][:6], "--json", "--history", str(history), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == first.stdout
    # The same search again: every verdict comes from the cache, and says so.
    again = subprocess.run([sys.executable, "-m", "jupyter_codesearch.cli", "run", "spec.py", "--json", "-n", "4"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env, check=False)
    rows = [json.loads(ln) for ln in again.stdout.splitlines()][:-1]
    assert rows and all(r["cached"] for r in rows if r["status"] != "invalid")
    table = cli("show", run["id"], "--history", str(history), cwd=tmp_path)
    assert table.returncode == 0 and "passed" in table.stdout


def test_export_writes_the_columns_of_to_frame(history: Path, tmp_path: Path) -> None:
    run = recorded(history, [RIGHT, WRONG, ALSO_RIGHT])
    assert run.history_id is not None
    out = cli("export", run.history_id, "--format", "csv", "--history", str(history), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert list(rows[0]) == list(COLUMNS) and [r["code"] for r in rows] == [c.code for c in run.ranked()]
    out = cli("export", run.history_id, "--format", "jsonl", "-o", "run.jsonl", "--history", str(history), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    records = [json.loads(ln) for ln in (tmp_path / "run.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == [c.id for c in run.ranked()] and list(records[0]) == list(COLUMNS)


def test_parquet_needs_pyarrow_and_says_so(history: Path, tmp_path: Path) -> None:
    run = recorded(history, [RIGHT])
    assert run.history_id is not None
    out = cli("export", run.history_id, "--format", "parquet", "--history", str(history), cwd=tmp_path)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert out.returncode == 2 and out.stdout == ""
        assert out.stderr.strip() == ("jupyter-codesearch: export --format parquet needs pyarrow (pip install "
                                      "pyarrow); csv and jsonl need nothing more")
    else:
        assert out.returncode == 0 and (tmp_path / f"{run.history_id}.parquet").exists()


def test_prune_and_bad_ids_are_one_line_each(history: Path, tmp_path: Path) -> None:
    run = recorded(history, [RIGHT])
    for args, message in [
        (("show", "nothex"), "'nothex' is not a run id"),
        (("show", "abcdef0123"), "no run abcdef0123 in the search history"),
        (("prune", "--older-than", "-1"), "--older-than takes a number of days"),
    ]:
        out = cli(*args, "--history", str(history), cwd=tmp_path)
        assert out.returncode == 2 and len(out.stderr.splitlines()) == 1 and message in out.stderr, out.stderr
    out = cli("prune", "--older-than", "0", "--history", str(history), cwd=tmp_path)
    assert out.returncode == 0 and "deleted 1 run older than 0 days" in out.stderr
    assert cli("history", "--json", "--history", str(history), cwd=tmp_path).stdout == ""
    off = cli("history", "--history", "off", cwd=tmp_path)
    assert off.returncode == 2 and "history is off" in off.stderr
    del run
