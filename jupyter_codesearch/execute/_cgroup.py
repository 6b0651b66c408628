"""A process limit for each verification kernel and everything it starts, where only a cgroup
can give one.

``RLIMIT_NPROC`` (set by the zygote) bounds a candidate's processes per user namespace, but the
kernel does not apply it to root's processes, whatever namespace they are in: run as root,
a fork bomb would fill the host's PID table. So when this process is root, each kernel's tree
goes into a ``pids`` cgroup of its own with room for a candidate's processes and no more.
Unprivileged, nothing is done here (the rlimit holds). Host side only.
"""

from __future__ import annotations

import contextlib
import os
import time

from ._zygote import proc_children

__all__ = ["ROOM", "limit_processes", "release", "sweep_stale"]

ROOM = 64 + 32
"""Tasks allowed on top of the kernel's own: a candidate's 64 processes, its zygote, some slack."""
_BASES = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")
_PREFIX = "codesearch-"


def limit_processes(root: int, name: str) -> str | None:
    """Move the process tree under (and including) ``root`` into a new pids cgroup allowing
    :data:`ROOM` more tasks than it has now; its path, or ``None`` where that cannot be done."""
    if os.geteuid() != 0:
        return None
    tree, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        tree.append(pid)
        frontier += proc_children(pid)
    for base in _BASES:
        if not (base.endswith("/pids") and os.path.isdir(base)) and not _has_pids(base):
            continue  # v1 keeps a pids hierarchy of its own; in v2 the controller must be on
        path = os.path.join(base, f"{_PREFIX}{os.getpid()}-{name}")
        try:
            os.mkdir(path)
            tasks = sum(len(os.listdir(f"/proc/{pid}/task")) for pid in tree)
            _write(path, "pids.max", str(tasks + ROOM))
            for pid in tree:
                _write(path, "cgroup.procs", str(pid))
            return path
        except OSError:
            release(path)
    return None


def release(path: str | None) -> None:
    """Remove a cgroup made by :func:`limit_processes` (once its processes are gone)."""
    if path is None:
        return
    for _ in range(10):  # its last processes may still be exiting
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


def sweep_stale() -> None:
    """Remove cgroups of pools whose process is gone."""
    for base in _BASES:
        with contextlib.suppress(OSError):
            for entry in os.listdir(base):
                owner = entry[len(_PREFIX):].split("-")[0] if entry.startswith(_PREFIX) else ""
                if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
                    release(os.path.join(base, entry))


def _has_pids(base: str) -> bool:
    """cgroup v2: the pids controller can be given to children."""
    if base.endswith("/pids"):
        return False
    try:
        with open(os.path.join(base, "cgroup.subtree_control")) as f:
            return "pids" in f.read().split()
    except OSError:
        return False


def _write(path: str, name: str, value: str) -> None:
    with open(os.path.join(path, name), "w") as f:
        f.write(value)
