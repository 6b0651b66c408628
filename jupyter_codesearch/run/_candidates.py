"""The candidates of one run: duplicates merged, safe to read from any thread.

Every sample becomes a program key (its AST with docstrings dropped, see ``generate._extract``);
samples with the same key are one candidate whose ``samples`` count them (votes). Updates
replace the frozen candidate; a version number says when anything changed, so readers can
cache what they derive (clusters).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from .._model import Candidate
from .._seams import Sample
from ..generate._extract import extract, program_key, program_size

__all__ = ["CandidateTable"]


class CandidateTable:
    """Candidates in arrival order, keyed by program."""

    def __init__(self, name: str) -> None:
        self.name = name
        """The function searched for (what extraction looks for in a reply)."""
        self._lock = threading.Lock()
        self._items: list[Candidate] = []
        self._by_key: dict[str, int] = {}
        self.version = 0
        self.generated = 0
        """Samples received, before merging."""

    def snapshot(self) -> tuple[int, list[Candidate]]:
        """The version and a copy of the candidates."""
        with self._lock:
            return self.version, list(self._items)

    def __getitem__(self, index: int) -> Candidate:
        with self._lock:
            return self._items[index]

    def add(self, sample: Sample) -> tuple[Candidate, bool]:
        """Record a sample; ``(candidate, is_new)``. A new candidate with runnable code needs
        verifying; an old one only gained a vote."""
        code, invalid = sample.text, None
        if not sample.code:
            got = extract(sample.text, self.name)
            code = got.code if got.code is not None else sample.text
            invalid = got.reason
        key = program_key(code) if invalid is None else "invalid:" + program_key(code)
        synth = int(sample.origin == "synth")
        with self._lock:
            self.generated += 1
            self.version += 1
            existing = self._by_key.get(key)
            if existing is not None:
                old = self._items[existing]
                cost = None if old.cost is None or sample.cost is None else old.cost + sample.cost
                cand = replace(old, samples=old.samples + 1, synth_samples=old.synth_samples + synth,
                               tokens=old.tokens + sample.tokens, cost=cost)
                self._items[existing] = cand
                return cand, False
            cand = Candidate(
                id=len(self._items), code=code, origin=sample.origin, model=sample.model, round=sample.round,
                parent=sample.parent, tokens=sample.tokens, cost=sample.cost,
                size=program_size(code) if invalid is None else 0, invalid_reason=invalid, key=key,
                synth_samples=synth,
            )
            self._by_key[key] = cand.id
            self._items.append(cand)
            return cand, True

    def seed(self, candidates: list[Candidate], generated: int) -> None:
        """Start from a past run's candidates (``--resume``): new samples join them."""
        with self._lock:
            self._items = list(candidates)
            self._by_key = {c.key: c.id for c in candidates}
            self.generated = generated
            self.version += 1

    def update(self, index: int, change: Callable[[Candidate], Candidate]) -> Candidate:
        """Replace candidate ``index`` by ``change(it)``; the new candidate."""
        with self._lock:
            cand = self._items[index] = change(self._items[index])
            self.version += 1
            return cand
