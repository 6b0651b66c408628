"""The pool's lifecycle: nothing left behind, and the no-sandbox fallback."""

from __future__ import annotations

import asyncio
import glob
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from jupyter_codesearch import Spec
from jupyter_codesearch._engine import run_sync
from jupyter_codesearch.execute import KernelPool, Limits, SandboxWarning, _isolation, detect_isolation
from tests.support.procs import descendants, wait_no_strays

SPEC = Spec.parse("def f(x):\n    '''d'''\nassert f(1) == 2\n")
GOOD = "def f(x):\n    return x + 1\n"


def ours() -> set[int]:
    """Processes of a pool: bwrap, kernels, zygotes (not the shared pool of other tests)."""
    marks = ("ipykernel_launcher", "zygote_main", "bwrap")
    return {pid for pid, _, cmd in descendants() if any(mark in cmd for mark in marks)}


@pytest.mark.parametrize("mode", ["bwrap", "none"])
def test_starting_and_stopping_a_pool_leaves_nothing_behind(mode: str) -> None:
    before_procs = ours()
    before_dirs = set(glob.glob("/tmp/codesearch-*"))

    async def lifecycle() -> tuple[str, int, list[str]]:
        async with KernelPool(detect_isolation(mode), workers=2) as pool:
            runtime = pool.runtime_dir
            started = len(ours() - before_procs)
            [verdict] = await pool.verify(SPEC, [GOOD], Limits())
            assert verdict.passed
            files = os.listdir(runtime)
        return runtime, started, files

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)
        runtime, started, files = run_sync(lifecycle())
    assert started >= 2  # two kernels (and their sandboxes) were really running
    assert any(name.endswith(".json") for name in files)  # connection files existed ...
    assert not os.path.exists(runtime)  # ... and are gone with their directory
    assert set(glob.glob("/tmp/codesearch-*")) - before_dirs == set()
    for _ in range(50):
        if not ours() - before_procs:
            break
        run_sync(asyncio.sleep(0.1))
    assert ours() - before_procs == set()


def test_a_pool_that_cannot_start_cleans_up_and_says_why() -> None:
    from jupyter_codesearch import SandboxError

    broken = _isolation.Isolation("none", "/nonexistent/python")
    before = set(glob.glob("/tmp/codesearch-*"))

    async def start() -> None:
        async with KernelPool(broken, workers=1):
            pass

    with pytest.raises(SandboxError, match="could not start a verification kernel with /nonexistent/python"):
        run_sync(start(), timeout=180)
    assert set(glob.glob("/tmp/codesearch-*")) - before == set()


def test_without_bubblewrap_the_user_is_told_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_isolation.shutil, "which", lambda name: None)
    monkeypatch.setattr(_isolation, "_WARNED", False)
    detect_isolation.cache_clear()
    try:
        iso = detect_isolation("auto")
        assert not iso.sandboxed and iso.fallback and "not installed" in iso.reason
        notice = _isolation.unsandboxed_notice(iso)
        assert notice is not None and re.search("WITHOUT an OS sandbox.*apt-get install bubblewrap", notice)
        with pytest.warns(SandboxWarning, match="WITHOUT an OS sandbox"):
            _isolation.warn_if_unsandboxed(iso)  # for verify(), which has no notices
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _isolation.warn_if_unsandboxed(iso)  # a second time: silent
        # Turned off on purpose: nothing to alarm anyone about.
        assert _isolation.unsandboxed_notice(detect_isolation("none")) is None
        with pytest.raises(Exception, match="bubblewrap sandbox requested but unusable"):
            detect_isolation("bwrap")
    finally:
        detect_isolation.cache_clear()


def test_search_from_python_warns_in_the_callers_thread_and_notes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_codesearch import search

    monkeypatch.setattr(_isolation.shutil, "which", lambda name: None)
    monkeypatch.setattr(_isolation, "_WARNED", False)
    detect_isolation.cache_clear()
    try:
        # Nothing the synthesizer can learn from: the run ends before any kernel starts.
        with pytest.warns(SandboxWarning, match="WITHOUT an OS sandbox") as record:
            run = search('def f(x):\n    """d"""\nassert f(1) is not None\n')
        assert record[0].filename == __file__  # pointing at the caller's line
        assert run.error is not None and any("WITHOUT an OS sandbox" in note for note in run.notices)
    finally:
        detect_isolation.cache_clear()


def test_the_cli_says_so_once_as_it_happens_without_bubblewrap(tmp_path: Path) -> None:
    spec = "def add(a, b):\n    \"\"\"Add.\"\"\"\n\nassert add(1, 2) == 3\n"
    (tmp_path / "spec.py").write_text(spec)
    (tmp_path / "c.jsonl").write_text(json.dumps("def add(a, b):\n    return a + b\n") + "\n")
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # no bwrap on it
    for args in (["verify", "spec.py", "c.jsonl"], ["run", "spec.py", "--time-limit", "5"]):
        proc = subprocess.run([sys.executable, "-m", "jupyter_codesearch.cli", *args], capture_output=True,
                              text=True, cwd=tmp_path, env=env, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr
        told = [line for line in proc.stderr.splitlines() if "WITHOUT an OS sandbox" in line]
        assert len(told) == 1 and told[0].count("jupyter-codesearch") == 1, proc.stderr
        if args[0] == "run":  # before the run's summary, not after it
            lines = proc.stderr.splitlines()
            done = next(i for i, line in enumerate(lines) if line.startswith("done, "))
            assert lines.index(told[0]) < done, proc.stderr


NO_SANDBOX_CASES = {
    "loop": ("def f(x):\n    while True:\n        pass\n", "timeout"),
    "exit": ("import os\ndef f(x):\n    os._exit(0)\n", "crashed"),
    "sleepers": (
        "import os, time\ndef f(x):\n    for _ in range(20):\n        if os.fork() == 0:\n"
        "            os.setsid()\n            time.sleep(1000)\n            os._exit(0)\n    return 0\n",
        "failed",
    ),
    "memory": ("def f(x):\n    return len(bytearray(10**11))\n", "memory"),
}


@pytest.mark.parametrize("name", sorted(NO_SANDBOX_CASES))
def test_without_the_sandbox_limits_and_cleanup_still_hold(name: str) -> None:
    from jupyter_codesearch import verify

    source, status = NO_SANDBOX_CASES[name]
    [verdict] = verify(SPEC, [source], timeout=1.0, memory_mb=256, sandbox="none")
    assert verdict.status == status, verdict.error
    assert wait_no_strays() == []
    [after] = verify(SPEC, [GOOD], sandbox="none")
    assert after.passed
