"""The code stays typed and tidy: mypy --strict on the package, ruff on everything."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=REPO, check=False)


@pytest.mark.slow
def test_the_package_is_mypy_strict_clean() -> None:
    run = _run("mypy")  # files and strictness come from pyproject.toml
    assert run.returncode == 0, run.stdout[-3000:]


def test_ruff_finds_nothing() -> None:
    run = _run("ruff", "check", "jupyter_codesearch", "tests", "benchmarks")
    assert run.returncode == 0, run.stdout[-3000:]


MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
DATA_TABLES = {("generate/_synth_ops.py", "_ops")}
"""Functions that are tables of data written as code (one entry a line), not logic."""


def test_no_module_over_500_lines_and_no_function_over_60() -> None:
    import ast

    package = REPO / "jupyter_codesearch"
    too_long = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        source = path.read_text()
        if source.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{rel}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (rel, node.name) not in DATA_TABLES:
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{rel}:{node.lineno} {node.name}(): {length} lines")
    assert not too_long, "split these by job:\n" + "\n".join(too_long)
