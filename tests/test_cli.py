"""The command line, run as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SPEC = '''
def add(a, b):
    """Add."""

assert add(1, 2) == 3
assert add(2, 2) == 4  # hidden
'''


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_codesearch.cli", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300, check=False,
    )


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "spec.py").write_text(SPEC)
    lines = [
        json.dumps("def add(a, b):\n    return a + b\n"),
        "",
        json.dumps({"code": "def add(a, b):\n    return a * b\n"}),
        json.dumps({"code": "def add(a, b) oops"}),
    ]
    (tmp_path / "cands.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_verify_prints_a_table_and_exits_zero(files: Path) -> None:
    run = cli("verify", "spec.py", "cands.jsonl", cwd=files)
    assert run.returncode == 0, run.stderr
    rows = run.stdout.splitlines()
    assert rows[1].split()[:3] == ["0", "passed", "2/2"]
    assert rows[2].split()[:3] == ["1", "failed", "1/2"]
    assert rows[3].split()[:3] == ["2", "invalid", "0/2"]
    assert rows[-1] == "1 of 3 candidates pass every test."


def test_verify_json_has_one_object_per_candidate_in_input_order(files: Path) -> None:
    options = ("--json", "--timeout", "3", "--memory", "256", "--workers", "1")
    run = cli("verify", "spec.py", "cands.jsonl", *options, cwd=files)
    assert run.returncode == 0, run.stderr
    objs = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o["index"] for o in objs] == [0, 1, 2]
    assert [(o["status"], o["passed"]) for o in objs] == [("passed", True), ("failed", False), ("invalid", False)]
    first, hidden = objs[1]["tests"]
    assert (first["passed"], first["got"], first["expected"]) == (False, "2", "3")
    assert first["source"] == "assert add(1, 2) == 3"
    assert (hidden["passed"], hidden["hidden"], hidden["got"]) == (True, True, "4")
    assert isinstance(objs[0]["runtime_s"], float)
    assert objs[2]["runtime_s"] is None


@pytest.mark.parametrize(
    ("spec", "cands", "bad_file", "message"),
    [
        ("missing.py", "cands.jsonl", None, "spec file not found: missing.py"),
        ("spec.py", "missing.jsonl", None, "candidates file not found: missing.jsonl"),
        ("bad.py", "cands.jsonl", "def f(:\n", "bad.py: line 1: syntax error"),
        ("spec.py", "bad.jsonl", '"ok"\n{"code": 3}\n', "bad.jsonl, line 2: expected a JSON string"),
        ("spec.py", "bad.jsonl", '"ok"\n\n{nope\n', "bad.jsonl, line 3: not valid JSON"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_nonzero_exit(
    files: Path, spec: str, cands: str, bad_file: str | None, message: str
) -> None:
    if bad_file is not None:
        (files / (spec if spec.startswith("bad") else cands)).write_text(bad_file)
    run = cli("verify", spec, cands, cwd=files)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert message in lines[0]
    assert "Traceback" not in run.stderr


def test_an_unknown_option_shows_the_subcommands_usage(files: Path) -> None:
    run = cli("run", "spec.py", "--bogus", cwd=files)
    assert run.returncode == 2
    assert run.stderr.startswith("usage: jupyter-codesearch run ")
    assert run.stderr.strip().endswith("jupyter-codesearch run: error: unrecognized arguments: --bogus")


def test_a_timed_out_candidate_shows_no_runtime(files: Path) -> None:
    (files / "slow.jsonl").write_text(json.dumps("def add(a, b):\n    while True:\n        pass\n") + "\n")
    run = cli("verify", "spec.py", "slow.jsonl", "--timeout", "0.5", cwd=files)
    assert run.returncode == 0, run.stderr
    row = run.stdout.splitlines()[1].split()
    assert row[:4] == ["0", "timeout", "0/2", "-"], run.stdout


def test_an_api_base_without_a_model_is_said_to_be_unused(files: Path) -> None:
    run = cli("run", "spec.py", "--api-base", "http://127.0.0.1:9/v1", "--time-limit", "5", cwd=files)
    assert run.returncode == 0, run.stderr
    told = [line for line in run.stderr.splitlines() if "http://127.0.0.1:9/v1 is not used without a model" in line]
    assert len(told) == 1, run.stderr


def test_run_prints_the_widgets_table_then_the_best_candidate(files: Path) -> None:
    from jupyter_codesearch.ui._text import COLUMNS

    run = cli("run", "spec.py", "--time-limit", "60", cwd=files)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == [c.title for c in COLUMNS]  # the widget's columns, in its order
    top = lines[1].split()
    assert top[:4] == ["1", top[1], "passed", "2/2"] and top[1].startswith("#")
    best = lines.index(f"best ({top[1]}):")
    assert lines[best + 1] == "def add(a, b):"
    assert run.stderr.splitlines()[-1].startswith("done, round 1, ")


def test_debug_output_is_logged_only_when_codesearch_log_asks_for_it(files: Path) -> None:
    import os

    quiet = cli("verify", "missing.py", "cands.jsonl", cwd=files)
    assert quiet.stderr.splitlines() == ["jupyter-codesearch: spec file not found: missing.py"]
    env = {**os.environ, "CODESEARCH_LOG": "debug"}
    loud = subprocess.run([sys.executable, "-m", "jupyter_codesearch.cli", "verify", "missing.py", "cands.jsonl"],
                          capture_output=True, text=True, cwd=files, env=env, timeout=120, check=False)
    assert loud.returncode == 2
    assert "jupyter_codesearch.cli DEBUG: verify failed" in loud.stderr
    assert "Traceback" in loud.stderr and "InputError: spec file not found" in loud.stderr
    assert loud.stderr.splitlines()[-1] == "jupyter-codesearch: spec file not found: missing.py"
