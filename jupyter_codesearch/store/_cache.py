"""The verdict cache: a program judged before against the same tests and limits is not run again.

A wrapper around any :class:`~jupyter_codesearch._seams.Verifier`, keyed by (spec key, program
key, limits): the spec key covers the tests, the context and ``--use`` values; the program key
ignores formatting, comments and docstrings (as duplicates within a run are merged). Verdicts
an unlucky moment could have caused (a timeout on a loaded machine, a kernel lost) are not
cached: the next run judges them afresh. A hit comes back with ``cached=True``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from .._model import Behaviour, Limits, Verdict
from .._seams import ProbeSet, Verifier
from ..generate._extract import program_key
from ..spec import Spec
from ._rows import limits_key
from ._store import Store

__all__ = ["UNCACHED", "CachingVerifier"]

UNCACHED = frozenset({"timeout", "crashed"})
"""Statuses that may say more about the machine at the time than about the program."""


class CachingVerifier:
    """``inner``, with verdicts remembered in ``store`` across runs and processes."""

    def __init__(self, inner: Verifier, store: Store, run_id: str) -> None:
        self.inner = inner
        self.store = store
        self.run_id = run_id
        """The run whose verdicts this one records (the cache points at them)."""
        self._known: dict[tuple[str, str], set[str]] = {}
        """Program keys with a cached verdict, per (spec key, limits)."""
        self.hits = 0

    def preload(self, spec: Spec, limits: Limits) -> None:
        """Read this spec's cached verdicts now (one query) rather than one per candidate."""
        self._table(spec, limits)

    def _table(self, spec: Spec, limits: Limits) -> set[str]:
        key = (spec.key, limits_key(limits))
        table = self._known.get(key)
        if table is None:
            table = self._known[key] = self.store.cached_programs(spec.key, limits)
        return table

    async def start(self) -> None:
        await self.inner.start()

    async def verify(self, spec: Spec, index: int, source: str, limits: Limits) -> Verdict:
        table = self._table(spec, limits)
        program = program_key(source)  # remembered from when the run made the candidate: no parse
        hit = self.store.cached_verdict(spec.key, program, limits) if program in table else None
        if hit is not None:
            self.hits += 1
            # This run stores the verdict again (as cached): the cache points at the newest
            # copy, so pruning old runs keeps what recent runs still use.
            self._point(spec, program, limits, index)
            return replace(hit, index=index, cached=True, score_from=None)  # whose score: another run's
        verdict = await self.inner.verify(spec, index, source, limits)
        if verdict.status not in UNCACHED:
            self._point(spec, program, limits, index)
        return verdict

    def _point(self, spec: Spec, program: str, limits: Limits, index: int) -> None:
        row = (spec.key, program, limits_key(limits), self.run_id, index, time.time())
        self.store.put(lambda conn: conn.execute("INSERT OR REPLACE INTO verdict_cache VALUES (?, ?, ?, ?, ?, ?)", row))

    async def probe(
        self, spec: Spec, index: int, source: str, probes: ProbeSet, limits: Limits, urgent: bool = False
    ) -> Sequence[Behaviour]:
        return await self.inner.probe(spec, index, source, probes, limits, urgent)

    def notices(self) -> list[str]:
        return self.inner.notices()

