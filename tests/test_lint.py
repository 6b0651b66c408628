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
