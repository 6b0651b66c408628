"""Shared fixtures: real kernels, real processes; everything started here is stopped here."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

# Secrets in the caller's environment before any kernel starts: the hazard tests check that
# candidates can never read them.
SECRET = "cs-secret-" + secrets.token_hex(8)
os.environ["CODESEARCH_TEST_SECRET"] = SECRET
os.environ["OPENAI_API_KEY"] = "sk-" + SECRET


@pytest.fixture(scope="session", autouse=True)
def _stop_engine_at_end() -> Iterator[None]:
    yield
    from jupyter_codesearch import _engine

    _engine.shutdown()


@pytest.fixture
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"benchmark data not found at {DATA} (expected ../shared/data next to the repo)")
    return DATA
