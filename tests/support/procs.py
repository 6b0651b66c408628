"""Process inspection for tests: which processes a verification left behind."""

from __future__ import annotations

import os
import time


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
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[0] == "Z":
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        procs[int(entry)] = (int(fields[1]), cmd)
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
        while p in parent_of:
            if p in zygotes:
                out.append((pid, ppid, cmd[:80]))
                break
            p = parent_of[p]
    return out


def wait_no_strays(timeout: float = 3.0) -> list[tuple[int, int, str]]:
    """Strays still there after ``timeout`` seconds (processes being killed take a moment)."""
    deadline = time.monotonic() + timeout
    left = strays()
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = strays()
    return left
