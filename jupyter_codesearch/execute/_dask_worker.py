"""The worker side of the Dask verifier: a kernel pool per Dask worker, and the batch task.

Everything here runs in a Dask worker process. :class:`PoolPlugin` (a ``WorkerPlugin``) gives the
worker the same sandboxed :class:`KernelPool` a local run uses, with the same trust boundary and
limits: it is started on first use (or by ``start()`` of the verifier), on the worker's own
engine loop, and closed when the worker closes. :func:`run_batch` is the Dask task: it runs a
batch of candidates on that pool and returns plain data (dicts and tuples), never an object a
candidate made. A candidate that kills its kernel is the pool's business (a restart and a
``crashed`` verdict), so a task only fails when the pool itself cannot work.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from dataclasses import asdict
from typing import Any

from distributed import WorkerPlugin, get_worker

from .. import _engine
from .._exceptions import ConfigError, SandboxError
from .._model import Limits, Verdict
from ..spec import Spec
from ._isolation import Isolation, detect_isolation
from ._pool import KernelPool

__all__ = ["PoolPlugin", "hold", "plugin_name", "prepare", "run_batch", "verdict_data", "worker_isolation"]

Item = tuple[int, str]
"""One candidate of a batch: the verifier's number for it, and its source."""


def plugin_name(sandbox: str, kernels: int | None) -> str:
    """One plugin per setting: two runs that ask for the same pool share it on every worker."""
    return f"codesearch-pool-{sandbox}-{kernels or 'threads'}"


def worker_isolation(sandbox: str, address: str) -> Isolation:
    """This worker's sandbox, or a :class:`SandboxError` naming the worker.

    Unlike a local run, ``auto`` does not fall back to no sandbox here: nobody is at that
    machine to see the warning, so a worker without bubblewrap refuses unless ``sandbox=none``.
    """
    try:
        iso = detect_isolation(sandbox)
    except ConfigError as e:
        raise SandboxError(f"Dask worker {address}: {e}") from None
    if iso.fallback:
        raise SandboxError(
            f"Dask worker {address} cannot sandbox candidates ({iso.reason}): install bubblewrap on it, "
            "or set sandbox=none to verify there without a sandbox"
        )
    return iso


class PoolPlugin(WorkerPlugin):  # type: ignore[misc]
    """Hosts one sandboxed kernel pool on a Dask worker, started lazily, closed on teardown."""

    idempotent = True  # registered again by another run with the same settings: keep this one

    def __init__(self, sandbox: str, kernels: int | None) -> None:
        self.sandbox = sandbox
        self.kernels = kernels
        self.name = plugin_name(sandbox, kernels)

    def __getstate__(self) -> dict[str, Any]:
        return {"sandbox": self.sandbox, "kernels": self.kernels, "name": self.name}

    def setup(self, worker: Any) -> None:
        self.address: str = worker.address
        self.threads: int = worker.state.nthreads
        self._lock = threading.Lock()
        self._pool: concurrent.futures.Future[KernelPool] | None = None

    def starting(self) -> concurrent.futures.Future[KernelPool]:
        """The pool's start-up (one per worker; a failed start is tried again next time)."""
        with self._lock:
            if self._pool is None or (self._pool.done() and self._pool.exception() is not None):
                self._pool = _engine.submit(self._start())
            return self._pool

    async def _start(self) -> KernelPool:
        iso = worker_isolation(self.sandbox, self.address)
        pool = KernelPool(iso, self.kernels or self.threads)
        await pool.start()
        return pool

    async def teardown(self, worker: Any) -> None:
        starting, self._pool = self._pool, None
        if starting is None:
            return
        try:
            pool = await asyncio.wrap_future(starting)
        except Exception:
            return  # never started: nothing to close
        await asyncio.wrap_future(_engine.submit(pool.close()))


def _plugin(name: str, worker: Any) -> PoolPlugin:
    plugin = worker.plugins.get(name)
    if not isinstance(plugin, PoolPlugin):
        raise SandboxError(f"Dask worker {worker.address} has no codesearch pool plugin {name!r}")
    return plugin


async def prepare(name: str, dask_worker: Any) -> dict[str, Any]:
    """Start this worker's pool now (``Client.run``); what the verifier shows of the worker."""
    plugin = _plugin(name, dask_worker)
    pool = await asyncio.wrap_future(plugin.starting())
    return {"kernels": pool.workers, "sandbox": pool.isolation.mode}


def hold(value: Any) -> Any:
    """A task whose result is its argument: the spec (or probe inputs) kept on the cluster, sent
    to each worker once, and recomputed from the scheduler's copy if the worker holding it dies."""
    return value


def run_batch(
    name: str, spec: Spec, limits: tuple[float, int], items: list[Item], probes: tuple[Any, ...] | None
) -> list[Any]:
    """The Dask task: verify (or probe) ``items`` on this worker's pool.

    Returns, in order, ``Verdict.to_dict()`` of each candidate (as :func:`verdict_data`), or with ``probes`` one list of
    ``(kind, detail, shown)`` per candidate.
    """
    worker = get_worker()
    pool = _plugin(name, worker).starting().result()
    return _engine.run_sync(_batch(pool, spec, Limits(*limits), items, probes))


def verdict_data(v: Verdict) -> dict[str, Any]:
    """``v.to_dict()``, made shallowly: every field is plain data already (``asdict`` copies it all
    again, recursively, which cost more per verdict than the whole trip through Dask)."""
    data = dict(vars(v))
    data["tests"] = [dict(vars(t)) for t in v.tests]
    return data


async def _batch(
    pool: KernelPool, spec: Spec, limits: Limits, items: list[Item], probes: tuple[Any, ...] | None
) -> list[Any]:
    if probes is None:
        verdicts = await asyncio.gather(*(pool.submit(spec, uid, source, limits) for uid, source in items))
        return [verdict_data(v) for v in verdicts]
    found = await asyncio.gather(*(pool.submit_probes(spec, uid, source, probes, limits) for uid, source in items))
    return [[tuple(asdict(b).values()) for b in behaviours] for behaviours in found]
