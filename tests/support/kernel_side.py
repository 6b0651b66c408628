"""The kernel's side of verification, run in the test process (no kernel, no sandbox)."""

from __future__ import annotations

from pathlib import Path

from jupyter_codesearch.execute._isolation import detect_isolation
from jupyter_codesearch.execute._pool import zygote_boot
from jupyter_codesearch.execute._protocol import ContextRequest, KernelConfig, Op


def config(tmp: Path) -> KernelConfig:
    """What a kernel gets from the pool, for zygotes without bubblewrap, their files in ``tmp``."""
    iso = detect_isolation("none")
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return {
        "python": iso.python, "zygote_prefix": [], "zygote_env": iso.kernel_env(str(home), "/nonexistent"),
        "zygote_boot": zygote_boot(), "tmp": str(home), "context_timeout": 30.0, "cpu": None,
    }


def context(source: str = "", preamble: str = "") -> ContextRequest:
    return {"op": Op.CONTEXT, "preamble": preamble, "objects": [], "source": source}
