"""How verification kernels and zygotes are isolated from the user's machine.

Two bubblewrap layers, built from the same list of read-only paths:

* the **kernel** sandbox: no network, own PID/IPC/UTS namespaces, no capabilities, a private
  ``/tmp`` (also its HOME and working directory), the interpreter and its packages read-only,
  and one private directory holding this kernel's Jupyter connection file and IPC sockets;
* the **zygote** sandbox, started by the kernel inside its own: the same view minus the
  connection directory and ``/proc``, read-only everywhere but a fresh ``/tmp`` (256 MB) and
  ``/dev/shm`` (64 MB), the zygote as PID 1 (so candidates can neither signal it nor outlive
  it), and no further user namespaces.

Nothing else of the host is mounted: not the user's home, not the working directory, not the
user's Jupyter runtime directory. Environment variables pass only through an allowlist, so API
keys and tokens never reach the kernels.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import warnings
from dataclasses import dataclass
from pathlib import Path

from .._exceptions import ConfigError, SandboxWarning

__all__ = [
    "ENV_ALLOWLIST", "Isolation", "SandboxWarning", "detect_isolation", "unsandboxed_notice", "visible_paths",
    "warn_if_unsandboxed",
]

ENV_ALLOWLIST = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ", "TERM")
"""Variables copied from the caller's environment; everything else is dropped."""

_ETC = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "alternatives",
    "nsswitch.conf", "mime.types",
)
_MERGED_USR = ("bin", "lib", "lib32", "lib64", "libx32", "sbin")
_TMP_BYTES = 256 << 20
_SHM_BYTES = 64 << 20


@dataclass(frozen=True)
class Isolation:
    """The isolation mode chosen for this process: ``"bwrap"`` or ``"none"``."""

    mode: str
    python: str
    reason: str = ""
    fallback: bool = False
    """No sandbox because bubblewrap is unusable (not because the user turned it off)."""

    @property
    def sandboxed(self) -> bool:
        """True when candidates run inside bubblewrap."""
        return self.mode == "bwrap"

    def kernel_env(self, home: str, runtime_dir: str) -> dict[str, str]:
        """The whole environment of a verification kernel."""
        env = {k: os.environ[k] for k in ENV_ALLOWLIST if k in os.environ}
        bindir = str(Path(self.python).parent)
        env.update(
            HOME=home,
            TMPDIR="/tmp" if self.sandboxed else home,
            PATH=f"{bindir}:/usr/local/bin:/usr/bin:/bin",
            PYTHONNOUSERSITE="1",
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
            # Forking from a process with BLAS thread pools deadlocks; candidates get one core each.
            OPENBLAS_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            MPLBACKEND="Agg",
            JUPYTER_PLATFORM_DIRS="1",
            JUPYTER_RUNTIME_DIR=runtime_dir,
            IPYTHONDIR=os.path.join(home, ".ipython"),
        )
        return env

    def kernel_prefix(self, runtime_dir: str) -> list[str]:
        """bwrap arguments that go before the kernel's command (empty without a sandbox)."""
        if not self.sandboxed:
            return []
        return [
            _bwrap(), *_common(),
            "--proc", "/proc",
            "--bind", runtime_dir, runtime_dir,
            "--",
        ]

    def zygote_prefix(self) -> list[str]:
        """bwrap arguments for the zygote, run from inside the kernel sandbox."""
        if not self.sandboxed:
            return []
        # Everything read-only but two small tmpfs mounts of its own, /tmp and /dev/shm (bwrap's
        # /dev/shm would be half the RAM): a candidate that writes there leaves them to no one,
        # the zygote is replaced with fresh ones. The root (/, /etc, /root) and /dev, tmpfs
        # made by bwrap, are remounted read-only: nothing can be planted there for the next one.
        return [_bwrap(), *_common(), "--remount-ro", "/dev", "--size", str(_SHM_BYTES), "--tmpfs", "/dev/shm",
                "--remount-ro", "/", "--as-pid-1", "--disable-userns", "--"]


def visible_paths() -> tuple[str, ...]:
    """Host directories the sandboxes mount read-only (besides a few files of /etc).

    A module imported from anywhere else (the notebook's folder, an editable install of the
    user's project) cannot be imported inside the sandbox.
    """
    return tuple(os.path.realpath(p) for p in _readonly_paths() if not p.startswith("/etc/"))


def _common() -> list[str]:
    args = [
        "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        # Not uid 0 inside: an unprivileged uid is what lets the nested (zygote) sandbox start.
        "--uid", "1000", "--gid", "1000",
        "--hostname", "codesearch",
        "--dev", "/dev",
        "--size", str(_TMP_BYTES), "--tmpfs", "/tmp",
        "--dir", "/tmp/home", "--dir", "/tmp/work", "--chdir", "/tmp/work",
    ]
    for name in _MERGED_USR:
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    for path in _readonly_paths():
        args += ["--ro-bind", path, path]
    return args


@functools.lru_cache(maxsize=1)
def _readonly_paths() -> tuple[str, ...]:
    """The interpreter, its standard library and packages; /usr; a few files of /etc."""
    paths: set[str] = {"/usr"}
    for name in _ETC:
        etc = Path("/etc") / name
        if etc.exists():
            paths.add(str(etc))
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with_key = sysconfig.get_paths().get(key)
        if with_key:
            prefixes.add(with_key)
    prefixes.add(str(Path(os.path.realpath(sys.executable)).parent.parent))
    for p in prefixes:
        for q in (p, os.path.realpath(p)):
            if q and os.path.isdir(q):
                paths.add(q)
    # Drop paths nested in another one: bwrap would mount them twice.
    ordered = sorted(paths, key=len)
    kept: list[str] = []
    for p in ordered:
        if not any(p == k or p.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(p)
    return tuple(kept)


_WARNED = False


@functools.lru_cache(maxsize=8)
def detect_isolation(mode: str = "auto", python: str | None = None) -> Isolation:
    """Choose the isolation for this process.

    ``mode`` is ``"auto"`` (bubblewrap when it works, otherwise none, with one visible warning),
    ``"bwrap"`` (required: raise if unusable) or ``"none"``. Also read from
    ``CODESEARCH_SANDBOX``.
    """
    python = python or sys.executable
    mode = os.environ.get("CODESEARCH_SANDBOX", mode) if mode == "auto" else mode
    if mode not in ("auto", "bwrap", "none"):
        raise ConfigError(f"sandbox must be auto, bwrap or none, not {mode!r}")
    if mode == "none":
        return Isolation("none", python, "disabled by configuration")
    problem = _bwrap_problem(python)
    if problem is None:
        return Isolation("bwrap", python)
    if mode == "bwrap":
        raise ConfigError(f"bubblewrap sandbox requested but unusable: {problem}")
    return Isolation("none", python, problem, fallback=True)


def unsandboxed_notice(iso: Isolation) -> str | None:
    """What to tell the user when candidates run without the sandbox they did not turn off."""
    if not iso.fallback:
        return None
    return (f"candidates run WITHOUT an OS sandbox ({iso.reason}); only resource limits apply: a "
            "hostile candidate could read your files, use the network, and tamper with its own "
            "verification. Install bubblewrap (`apt-get install bubblewrap`) to isolate candidates.")


def warn_if_unsandboxed(iso: Isolation) -> None:
    """The notice as a :class:`SandboxWarning`, once per process (for callers without notices)."""
    global _WARNED
    text = unsandboxed_notice(iso)
    if text is not None and not _WARNED:
        _WARNED = True
        warnings.warn(text, SandboxWarning, stacklevel=3)


def _bwrap_problem(python: str) -> str | None:
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed"
    probe = [
        exe, *_common(), "--proc", "/proc", "--",
        exe, *_common(), "--as-pid-1", "--disable-userns", "--",
        python, "-I", "-c", "import sys; sys.exit(0)",
    ]
    try:
        run = subprocess.run(probe, capture_output=True, timeout=30, check=False, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bwrap failed to run: {e}"
    if run.returncode != 0:
        return "bwrap cannot create a sandbox here: " + run.stderr.decode(errors="replace").strip()[:200]
    return None


def _bwrap() -> str:
    return shutil.which("bwrap") or "bwrap"
