"""Execute: run candidates in sandboxed child kernels and judge them by the spec's tests."""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Iterable

from .._engine import shared_pool, synchronous
from .._exceptions import ConfigError, InputError
from .._model import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    MAX_TIMEOUT_S,
    MIN_MEMORY_MB,
    STATUSES,
    Limits,
    Status,
    TestResult,
    Verdict,
)
from ..spec import Spec
from ._isolation import Isolation, SandboxWarning, detect_isolation, warn_if_unsandboxed
from ._pool import KernelPool
from ._verifier import LocalVerifier

__all__ = [
    "STATUSES",
    "Isolation",
    "KernelPool",
    "Limits",
    "LocalVerifier",
    "SandboxWarning",
    "Status",
    "TestResult",
    "Verdict",
    "averify",
    "verify",
]


def _check(timeout: float, memory_mb: int, workers: int | None) -> tuple[Limits, int]:
    if not 0 < timeout <= MAX_TIMEOUT_S:  # also refuses nan and inf: no CPU limit or timer is that long
        raise ConfigError(f"timeout must be a positive number of seconds up to {MAX_TIMEOUT_S:g}, not {timeout!r}")
    try:
        memory = operator.index(memory_mb)  # ints of any kind (numpy's too), not 512.5
    except TypeError:
        raise ConfigError(f"memory_mb (--memory) must be a whole number of MB, not {memory_mb!r}") from None
    if memory < MIN_MEMORY_MB:
        raise ConfigError(f"memory_mb (--memory) must be at least {MIN_MEMORY_MB} MB, not {memory_mb!r}")
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ConfigError(f"workers must be at least 1, not {workers!r}")
    return Limits(timeout=float(timeout), memory_mb=memory), n


async def averify(
    spec: Spec | str,
    candidates: Iterable[str],
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    workers: int | None = None,
    sandbox: str = "auto",
    on_verdict: Callable[[Verdict], None] | None = None,
) -> list[Verdict]:
    """Run each candidate source against ``spec``'s tests; one :class:`Verdict` each, in order.

    Candidates run in sandboxed child kernels (bubblewrap where available) and never see the
    tests or the expected values. ``timeout`` is wall-clock seconds per candidate, ``memory_mb``
    the memory it may add, ``workers`` the number of kernels (default: one per core). The
    kernel pool is started on first use and reused for later calls in this process.
    ``on_verdict`` is called (from the engine thread) as each verdict arrives. ``sandbox`` is
    ``"auto"``, ``"bwrap"`` (required) or ``"none"``.

    ``verify`` blocks until done; ``averify`` is the same as a coroutine for the engine loop.
    """
    spec = Spec.parse(spec) if isinstance(spec, str) else spec
    limits, n = _check(timeout, memory_mb, workers)
    if isinstance(candidates, str):
        raise InputError("candidates is one str: pass a list of sources (e.g. [source])")
    sources = list(candidates)
    for i, source in enumerate(sources):
        if not isinstance(source, str):
            raise InputError(f"candidate {i} is a {type(source).__name__}, not source code (a str)")
    iso = detect_isolation(sandbox)
    warn_if_unsandboxed(iso)
    pool = await shared_pool(iso, n)
    return await pool.verify(spec, sources, limits, on_verdict)


verify = synchronous(averify)
