"""Shared fixtures: real kernels, real processes; everything started here is stopped here."""

from __future__ import annotations

import os
import secrets
import time
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


def descendants(root: int | None = None) -> list[tuple[int, int, str]]:
    """(pid, ppid, cmdline) of every live descendant of ``root`` (default: this process)."""
    root = os.getpid() if root is None else root
    procs: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            state = stat[stat.rindex(")") + 2 :].split()[0]
            if state == "Z":
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        procs[int(entry)] = (ppid, cmd)
    out: list[tuple[int, int, str]] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, cmd) in procs.items():
            if ppid == parent:
                out.append((pid, ppid, cmd))
                frontier.append(pid)
    return out


def strays() -> list[tuple[int, int, str]]:
    """Processes living under a zygote: candidates or their children that outlived a verdict."""
    found = descendants()
    zygotes = {pid for pid, _, cmd in found if "zygote_main" in cmd}
    parent_of = {pid: ppid for pid, ppid, _ in found}
    out = []
    for pid, ppid, cmd in found:
        if pid in zygotes:
            continue
        p = ppid
        while p in parent_of or p in zygotes:
            if p in zygotes:
                out.append((pid, ppid, cmd[:80]))
                break
            p = parent_of[p]
    return out


def wait_no_strays(timeout: float = 3.0) -> list[tuple[int, int, str]]:
    deadline = time.monotonic() + timeout
    left = strays()
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = strays()
    return left


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
