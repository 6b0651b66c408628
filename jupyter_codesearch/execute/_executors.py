"""Where verification runs: this machine's kernel pool, or a Dask cluster (the ``executor`` setting).

The Dask verifier lives in ``_dask`` and needs ``distributed`` (the ``dask`` extra); this module
does not import it until a cluster is asked for, so a plain install never needs it.
"""

from __future__ import annotations

import asyncio
import atexit
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import _engine
from .._exceptions import ConfigError
from .._model import Limits, Verdict
from .._seams import Verifier
from ..spec import Spec
from ._verifier import LocalVerifier

if TYPE_CHECKING:
    from ._dask import DaskVerifier

__all__ = ["LOCAL", "dask_verifier", "verifier_for", "verify_with"]

LOCAL = "local"
"""The ``executor`` value for this machine's kernel pool (anything else is a scheduler address)."""

_shared: dict[tuple[object, ...], DaskVerifier] = {}


def verifier_for(executor: str, sandbox: str, workers: int | None, client: Any = None) -> Verifier:
    """The verifier for these settings: a local pool, or the Dask cluster at ``executor`` (or
    the one ``client`` is connected to), shared by every run of this process that asks for it."""
    if client is None and executor.strip() == LOCAL:
        return LocalVerifier(sandbox, workers or os.cpu_count() or 1)
    return dask_verifier(executor.strip(), sandbox, workers, client)


def dask_verifier(address: str, sandbox: str, kernels: int | None, client: Any = None) -> DaskVerifier:
    """The process-wide :class:`DaskVerifier` for a scheduler, connected on first use."""
    try:
        from ._dask import DaskVerifier
    except ImportError as e:
        if (e.name or "").split(".")[0] not in ("distributed", "dask"):
            raise
        raise ConfigError(
            "verifying on a Dask cluster needs distributed: pip install 'jupyter-codesearch[dask]'"
        ) from None
    if client is not None:
        address = client.scheduler.address
    if not address:
        raise ConfigError("executor must be local or a Dask scheduler address (e.g. tcp://host:8786), not ''")
    key = (address, sandbox, kernels)
    verifier = _shared.get(key)
    if verifier is None:
        verifier = _shared[key] = DaskVerifier(address, sandbox=sandbox, kernels=kernels)
    return verifier


async def verify_with(
    verifier: Verifier,
    spec: Spec,
    sources: list[str],
    limits: Limits,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> list[Verdict]:
    """``verify()`` on any verifier: verdicts in input order, ``on_verdict`` as each arrives."""
    await verifier.start()

    async def one(index: int, source: str) -> Verdict:
        verdict = await verifier.verify(spec, index, source, limits)
        if on_verdict is not None:
            on_verdict(verdict)
        return verdict

    return list(await asyncio.gather(*(one(i, s) for i, s in enumerate(sources))))


async def _close_shared() -> None:
    verifiers = list(_shared.values())
    _shared.clear()
    await asyncio.gather(*(v.close() for v in verifiers), return_exceptions=True)


@atexit.register
def _disconnect() -> None:
    # Registered after the engine's own hook, so it runs first, while the engine loop still runs.
    if _shared:
        try:
            _engine.run_sync(_close_shared(), timeout=10)
        except Exception:
            pass
