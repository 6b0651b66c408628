"""The verdict cache: a program judged before against the same tests and limits is not run again.

A wrapper around any :class:`~jupyter_codesearch._seams.Verifier`, keyed by (spec key, program
key, limits): the spec key covers the tests, the context and ``--use`` values; the program key
ignores formatting, comments and docstrings (as duplicates within a run are merged). Verdicts
an unlucky moment could have caused (a timeout on a loaded machine, a kernel lost) are not
cached: the next run judges them afresh. A hit comes back with ``cached=True``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import replace

from .._model import Behaviour, Limits, Verdict
from .._seams import ProbeSet, Verifier
from ..generate._extract import program_key
from ..spec import Spec
from ._rows import limits_key, verdict_from_json, verdict_json
from ._store import Store
from ._writer import Op

__all__ = ["UNCACHED", "CachingVerifier"]

UNCACHED = frozenset({"timeout", "crashed"})
"""Statuses that may say more about the machine at the time than about the program."""


class CachingVerifier:
    """``inner``, with verdicts remembered in ``store`` across runs and processes."""

    def __init__(self, inner: Verifier, store: Store) -> None:
        self.inner = inner
        self.store = store
        self._known: dict[tuple[str, str], dict[str, str]] = {}
        """Cached verdicts (as JSON, read when hit) by program key, per (spec key, limits)."""
        self.hits = 0

    def preload(self, spec: Spec, limits: Limits) -> None:
        """Read this spec's cached verdicts now (one query) rather than one per candidate."""
        self._table(spec, limits)

    def _table(self, spec: Spec, limits: Limits) -> dict[str, str]:
        key = (spec.key, limits_key(limits))
        table = self._known.get(key)
        if table is None:
            table = self._known[key] = self.store.cached_verdicts(spec.key, limits)
        return table

    async def start(self) -> None:
        await self.inner.start()

    async def verify(self, spec: Spec, index: int, source: str, limits: Limits) -> Verdict:
        table = self._table(spec, limits)
        program = program_key(source)  # remembered from when the run made the candidate: no parse
        hit = table.get(program)
        if hit is not None:
            self.hits += 1
            return replace(verdict_from_json(hit), index=index, cached=True)
        verdict = await self.inner.verify(spec, index, source, limits)
        if verdict.status not in UNCACHED:
            self.store.put(_remember(spec.key, program, source, limits_key(limits), verdict))
        return verdict

    async def probe(
        self, spec: Spec, index: int, source: str, probes: ProbeSet, limits: Limits
    ) -> Sequence[Behaviour]:
        return await self.inner.probe(spec, index, source, probes, limits)

    def notices(self) -> list[str]:
        return self.inner.notices()


def _remember(spec_key: str, program: str, source: str, limits: str, verdict: Verdict) -> Op:
    """The write of one cache entry (its JSON made by the writer, not the engine thread)."""

    def op(conn: sqlite3.Connection) -> None:
        row = (spec_key, program, limits, verdict_json(replace(verdict, cached=False)), time.time())
        conn.execute("INSERT OR REPLACE INTO verdict_cache VALUES (?, ?, ?, ?, ?)", row)

    return op
