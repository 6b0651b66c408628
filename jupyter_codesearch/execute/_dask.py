"""The Dask :class:`~jupyter_codesearch._seams.Verifier`: verification on a Dask cluster.

The second implementation of the seam (the local kernel pool is the first): the run logic is the
same, only where verdicts come from changes. Each Dask worker hosts the same sandboxed kernel pool
as a local run (``_dask_worker.PoolPlugin``); the spec (and a run's probe inputs) reaches each
worker once, as the result of a tiny task that workers copy from each other; candidates that
arrive together are batched into one task; verdicts come back as plain data, in the order tasks
finish (``as_completed``), and resolve the same per-candidate awaitables the run already uses.

Faults: a worker that dies mid-batch has its task run again elsewhere by the scheduler (its
result is taken once, so no candidate is lost or counted twice); a task that keeps killing
workers ends as ``crashed`` verdicts; an unreachable scheduler is one error naming its address.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import distributed

from .._exceptions import SandboxError
from .._model import Behaviour, Limits, TestResult, Verdict
from .._seams import ProbeSet
from ..spec import Spec
from . import _dask_worker as remote

__all__ = ["DaskVerifier", "verdict_from_dict"]

BATCH = 64
"""Candidates per task at most: many, to pay the per-task and per-batch cost once for all of them;
not all, so that verdicts of a burst come back in several steps and a worker lost costs little.
Fewer when fewer are waiting: what has gathered is split evenly over the cluster's kernels."""
_LINGER_S = 0.005
"""How long a candidate waits for others to share its task (a run submits them one by one)."""
_CONNECT_S = 10.0
_HELD = 64
"""Specs and probe sets kept on the cluster for later batches (a long session's oldest go)."""
_UIDS = itertools.count()


@dataclass
class _Group:
    """Candidates waiting to be sent in one task: same spec, limits and probe inputs."""

    spec: Spec
    limits: Limits
    probes: ProbeSet | None
    items: list[tuple[int, int, str, asyncio.Future[Any]]] = field(default_factory=list)
    """``(uid, caller's index, source, future)``."""


class DaskVerifier:
    """Verifies on the Dask cluster whose scheduler is at ``address`` (``tcp://host:8786``), or
    the one ``client`` (a ``distributed.Client``) is connected to.

    ``sandbox`` is as for a local run, except that a worker without bubblewrap refuses unless it
    is ``"none"``; ``kernels`` is the kernels per worker (default: the worker's threads);
    ``batch`` the most candidates per task.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        client: Any = None,
        sandbox: str = "auto",
        kernels: int | None = None,
        batch: int = BATCH,
        connect_timeout: float = _CONNECT_S,
    ) -> None:
        if client is not None:
            address = client.scheduler.address
        if not address:
            raise SandboxError("a Dask verifier needs a scheduler address or a distributed.Client")
        self.address: str = address
        self.sandbox = sandbox
        self.kernels = kernels
        self.batch = max(1, batch)
        self.connect_timeout = connect_timeout
        self.workers: dict[str, dict[str, Any]] = {}
        """The workers prepared at start: address to ``{"kernels": ..., "sandbox": ...}``."""
        self.dashboard: str | None = None
        self.delivered = 0
        """Candidates whose result was handed back (each exactly once)."""
        self._client: Any = None
        self._starting: asyncio.Future[None] | None = None
        self._held: dict[object, Any] = {}
        self._groups: dict[tuple[object, ...], _Group] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._inflight: dict[str, list[_Group]] = {}
        self._done: Any = None
        self._collector: asyncio.Task[None] | None = None
        self._plugin = remote.plugin_name(sandbox, kernels)

    # -- the seam ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._connect())
        try:
            await asyncio.shield(self._starting)
        except BaseException:
            if self._starting.done():
                self._starting = None  # a failed start is not kept: the next call tries again
            raise

    async def verify(self, spec: Spec, index: int, source: str, limits: Limits) -> Verdict:
        result = await self._queue(spec, index, source, limits, None)
        assert isinstance(result, Verdict)
        return result

    async def probe(
        self, spec: Spec, index: int, source: str, probes: ProbeSet, limits: Limits, urgent: bool = False
    ) -> Sequence[Behaviour]:
        # ``urgent`` is not needed here: tasks reach the workers as they are sent, and a cluster's
        # kernels are many; waiting verifications do not hold a probe back.
        result = await self._queue(spec, index, source, limits, probes)
        assert isinstance(result, tuple)
        return result

    def notices(self) -> list[str]:
        if self._client is None:
            return []  # said once connected, with the workers (a failure to connect names the address)
        kernels = sum(int(w.get("kernels", 0)) for w in self.workers.values())
        where = f"verifying on the Dask cluster at {self.address}: {len(self.workers)} workers, {kernels} kernels"
        notes = [where + (f"; dashboard {self.dashboard}" if self.dashboard else "")]
        if self.sandbox == "none":
            notes.append("candidates run WITHOUT an OS sandbox on the Dask workers (sandbox=none); only "
                         "resource limits apply")
        return notes

    async def close(self) -> None:
        """Disconnect (the workers keep their pools until they close)."""
        if self._timer is not None:
            self._timer.cancel()
        for group in [*self._groups.values(), *(p for parts in self._inflight.values() for p in parts)]:
            for *_, fut in group.items:
                if not fut.done():
                    fut.set_exception(SandboxError("the Dask verifier was closed"))
        self._groups.clear()
        self._inflight.clear()
        if self._collector is not None:
            self._collector.cancel()
        client, self._client, self._starting = self._client, None, None
        self._held.clear()
        if client is not None:
            await client.close()

    # -- connecting ----------------------------------------------------------------------------

    async def _connect(self) -> None:
        try:
            client = distributed.Client(
                self.address, asynchronous=True, timeout=self.connect_timeout, set_as_default=False
            )
        except Exception as e:  # a bad address
            raise SandboxError(f"could not reach the Dask scheduler at {self.address}: {e}") from None
        try:
            await client
        except Exception as e:  # OSError, TimeoutError: all say the same to the user
            with contextlib.suppress(Exception):
                await client.close()  # else its reconnection attempts outlive us, and log
            raise SandboxError(f"could not reach the Dask scheduler at {self.address}: {e}") from None
        try:
            await client.register_plugin(remote.PoolPlugin(self.sandbox, self.kernels), name=self._plugin)
            prepared = await client.run(remote.prepare, self._plugin, on_error="return")
        except BaseException:
            await client.close()
            raise
        failed = [r for r in prepared.values() if isinstance(r, BaseException)]
        if failed:
            await client.close()
            error = failed[0]
            raise error if isinstance(error, SandboxError) else SandboxError(f"a Dask worker failed: {error}")
        self.workers = dict(prepared)
        try:
            self.dashboard = client.dashboard_link
        except Exception:  # no dashboard on this scheduler (bokeh not installed there)
            self.dashboard = None
        self._client = client
        self._done = distributed.as_completed(loop=client.loop)

    # -- batching ------------------------------------------------------------------------------

    async def _queue(self, spec: Spec, index: int, source: str, limits: Limits, probes: ProbeSet | None) -> Any:
        await self.start()
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        key = (spec.key, limits, id(probes) if probes is not None else None)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(spec, limits, probes)
        group.items.append((next(_UIDS), index, source, fut))
        if len(group.items) >= self.batch:
            self._send([self._groups.pop(key)])
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(_LINGER_S, self._send_all)
        return await fut

    def _send_all(self) -> None:
        """What has gathered, split evenly over the cluster's kernels. A task may carry several
        specs: a benchmark's many small specs then cost a few tasks, not one each."""
        self._timer = None
        groups, self._groups = list(self._groups.values()), {}
        waiting = sum(len(g.items) for g in groups)
        share = min(self.batch, -(-waiting // self._cluster_kernels()))
        parts: list[_Group] = []
        size = 0
        for group in groups:
            at = 0
            while at < len(group.items):
                part = replace(group, items=group.items[at:at + share - size])
                parts.append(part)
                at += len(part.items)
                size += len(part.items)
                if size >= share:
                    self._send(parts)
                    parts, size = [], 0
        if parts:
            self._send(parts)

    def _send(self, parts: list[_Group]) -> None:
        for part in parts:  # without those cancelled while waiting
            part.items = [item for item in part.items if not item[3].done()]
        parts = [part for part in parts if part.items]
        if not parts or self._client is None:
            return
        segments = [(
            self._hold(p.spec.key, p.spec), (p.limits.timeout, p.limits.memory_mb),
            [(uid, source) for uid, _, source, _ in p.items],
            self._hold(p.probes, p.probes.trees) if p.probes is not None else None,
        ) for p in parts]
        task = self._client.submit(
            remote.run_batch, self._plugin, segments, key=f"codesearch-batch-{uuid.uuid4().hex}", pure=False,
        )
        self._inflight[task.key] = parts
        self._done.add(task)
        if self._collector is None or self._collector.done():
            self._collector = asyncio.ensure_future(self._collect())

    def _cluster_kernels(self) -> int:
        """The cluster's kernels now (workers come and go), from the client's cached totals."""
        try:
            info = self._client.scheduler_info() if self._client is not None else {}
            total = self.kernels * int(info["n_workers"]) if self.kernels else int(info["total_threads"])
        except (KeyError, TypeError, ValueError):
            total = sum(int(w.get("kernels", 1)) for w in self.workers.values())
        return max(1, total)

    def _hold(self, key: object, value: Any) -> Any:
        """``value`` as a cluster future, made once per run (what reaches each worker once)."""
        held = self._held.get(key)
        if held is None:
            assert self._client is not None
            if len(self._held) >= _HELD:  # the oldest run's spec; batches that need it keep it alive
                del self._held[next(iter(self._held))]
            held = self._held[key] = self._client.submit(
                remote.hold, value, key=f"codesearch-data-{uuid.uuid4().hex}", pure=False
            )
        return held

    # -- results -------------------------------------------------------------------------------

    async def _collect(self) -> None:
        async for task in self._done:
            parts = self._inflight.pop(task.key, [])
            try:
                if task.cancelled():  # a scheduler restarted or lost: not the candidates' doing
                    raise SandboxError("the Dask cluster cancelled the batch")
                results = await task.result()
            except (Exception, distributed.client.FutureCancelledError) as e:
                for part in parts:
                    _fail(part, e)
                continue
            finally:
                task.release()  # taken once: the cluster must not keep (or recompute) it
            for part, found in zip(parts, results, strict=True):
                self._deliver(part, found)

    def _deliver(self, group: _Group, results: list[Any]) -> None:
        for (_, index, _, fut), result in zip(group.items, results, strict=True):
            self.delivered += 1
            if fut.done():
                continue
            if group.probes is None:
                fut.set_result(replace(verdict_from_dict(result), index=index))
            else:
                fut.set_result(tuple(Behaviour(*b) for b in result))


def _fail(group: _Group, error: BaseException) -> None:
    """A task that did not give results: a worker dying under it every time (``KilledWorker``)
    means its candidates crash a worker, which is their verdict; anything else is the cluster's."""
    killed = type(error).__name__ == "KilledWorker"
    for _, index, _, fut in group.items:
        if fut.done():
            continue
        if killed and group.probes is None:
            fut.set_result(Verdict.lost(index, "crashed", f"the Dask workers running it died ({error})"))
        elif killed and group.probes is not None:
            fut.set_result((Behaviour("crashed"),) * len(group.probes))
        else:
            fut.set_exception(SandboxError(f"verification on the Dask cluster failed: {error}"))


def verdict_from_dict(data: dict[str, Any]) -> Verdict:
    """The :class:`Verdict` that ``Verdict.to_dict()`` (or ``verdict_data``) gave ``data`` for."""
    tests = tuple(TestResult(**{**t, "calls": tuple(t.get("calls", ()))}) for t in data.get("tests", ()))
    return Verdict(**{**data, "tests": tests})
