"""The zygote sandbox's scratch space (``/tmp``, ``/dev/shm``): whether a candidate changed it.

The rest of the sandbox is read-only. A changed scratch is never emptied (a wipe walks what a
candidate made, and can be defeated); the zygote says it is stale and is replaced, with fresh
mounts. Shipped into the sandbox as source: standard library only.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["STALE", "check_scratch", "note_clean", "open_scratch"]

_SCRATCH = ("/tmp", "/dev/shm")
"""The only writable places in the sandbox (fresh tmpfs mounts of its own; the rest is read-only)."""
_KNOWN_MAX = 2000
_known: list[str] | None = []
"""What the scratch held once the context was loaded (the user's files): checked for changes."""
_clean: list[object] = []
STALE = [False]


def _scratch_state() -> list[object]:
    """The scratch space by its metadata alone: the same after a candidate only if it created,
    removed and changed nothing. Only stats: nothing a candidate made is walked (a directory
    chmod-ed to 000, a tree 1,500 levels deep, symlink loops cost nothing here)."""
    state: list[object] = []
    for top in _SCRATCH:
        try:
            st = os.statvfs(top)
            state.append((st.f_bfree, st.f_ffree))
        except OSError:
            state.append(None)
    for path in _known or ():
        try:
            lst = os.lstat(path)
            state.append((lst.st_ino, lst.st_mode, lst.st_mtime_ns, lst.st_ctime_ns))
        except OSError:
            state.append(None)
    return state


def note_clean() -> None:
    """Record the scratch as the context left it (its own files included, walked once here:
    they are the user's)."""
    global _known, _clean
    found: list[str] = []
    for top in _SCRATCH:
        found.append(top)
        for root, dirs, files in os.walk(top):
            found += [os.path.join(root, n) for n in (*dirs, *files)]
            if len(found) > _KNOWN_MAX:
                _known = None  # too many to watch: every candidate gets a fresh sandbox
                return
    _known = found
    _clean = _scratch_state()


def check_scratch() -> None:
    """After a candidate: a scratch it changed is never handed to the next one; the zygote says
    it is stale instead, and the trusted side starts a fresh one (fresh mounts, no wipe)."""
    if _known is None or _scratch_state() != _clean:
        STALE[0] = True


def open_scratch() -> list[int]:
    """Descriptors of the scratch mounts, for the kernel to measure them (``fstatvfs``)."""
    fds = []
    for top in _SCRATCH:
        with contextlib.suppress(OSError):
            fds.append(os.open(top, os.O_RDONLY | os.O_DIRECTORY))
    return fds
