"""The local :class:`~jupyter_codesearch._seams.Verifier`: this machine's shared kernel pool."""

from __future__ import annotations

from collections.abc import Sequence

from .. import _engine
from .._model import Behaviour, Limits, Verdict
from .._seams import ProbeSet
from ..spec import Spec
from ._isolation import Isolation, detect_isolation, unsandboxed_notice
from ._pool import KernelPool

__all__ = ["LocalVerifier"]


class LocalVerifier:
    """Verifies on the process-wide kernel pool for ``sandbox`` (``auto``, ``bwrap``, ``none``)
    and ``workers`` (started on first use, shared with every other run and ``verify()`` call of
    this process). The sandbox is looked for on first use too: one that is required and
    missing is that run's error."""

    def __init__(self, sandbox: str, workers: int) -> None:
        self.sandbox = sandbox
        self.workers = workers
        self._isolation: Isolation | None = None
        self._pool: KernelPool | None = None

    @property
    def isolation(self) -> Isolation:
        if self._isolation is None:
            self._isolation = detect_isolation(self.sandbox)
        return self._isolation

    async def start(self) -> None:
        if self._pool is None:
            self._pool = await _engine.shared_pool(self.isolation, self.workers)

    async def _started(self) -> KernelPool:
        await self.start()
        assert self._pool is not None
        return self._pool

    async def verify(self, spec: Spec, index: int, source: str, limits: Limits) -> Verdict:
        pool = await self._started()
        return await pool.submit(spec, index, source, limits)

    async def probe(
        self, spec: Spec, index: int, source: str, probes: ProbeSet, limits: Limits, urgent: bool = False
    ) -> Sequence[Behaviour]:
        pool = await self._started()
        return await pool.submit_probes(spec, index, source, probes.trees, limits, urgent)

    def notices(self) -> list[str]:
        note = unsandboxed_notice(self.isolation)
        return [note] if note is not None else []
