"""The probe lane: which passing candidates are probed, when, and which go without.

Probing a slow candidate costs calls on the kernels that verify the next ones, and only its
result says whether the next candidates need probing at all (a behaviour seen already settles a
first look; a leader that stays first whatever a candidate does makes its probes pointless for
the top). So slow candidates are probed one at a time, in the order they passed:

- while the leading behaviour could still change (``rank._confidence.leader_certain`` is false),
  a probe is *urgent*: the verifier runs it before waiting verifications, because the ranking
  the user is shown depends on it;
- once the leader stays first whatever a candidate does, its probes could change only the counts
  below the top: they run when the kernels would otherwise idle (generation is slower than
  verification, the usual case with a real model), and are skipped when candidates wait for
  verification or the round is settling — it ranks after the clustered ones ("not probed"), and
  a notice says how many. If more samples of the same program arrive and its votes could change
  the top after all, it is probed then.

The first behaviour probed needs only its first look (there is nothing yet to tell it apart
from; a later, different one looks further). Fast candidates run every probe in milliseconds
and skip the lane. Never with a score or a
``--reference``: there probing is part of the judgement, not of the ranking.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from .._model import Candidate, Cluster
from ..rank._confidence import leader_certain
from ..rank._policy import votes
from ._probing import FAST_S

__all__ = ["ProbeLane"]


class ProbeLane:
    """Decides, per passing candidate, whether and how urgently it is probed (engine loop only).
    ``can_skip`` false (a score or a reference): every candidate is probed at once, as it passes."""

    def __init__(self, can_skip: bool, start: Callable[[Candidate, bool], None],
                 lookup: Callable[[int], Candidate], found: Callable[[], Sequence[Cluster]]) -> None:
        self.can_skip = can_skip
        self._start, self._lookup, self._found = start, lookup, found
        self.verifying = 0
        """Verifications started and not finished."""
        self.settling = False
        """The round's samples are all in: what is probed now is the run's tail."""
        self.skipped: set[int] = set()
        self._waiting: deque[int] = deque()
        self._current: int | None = None

    def passed(self, cand: Candidate) -> None:
        """A candidate passed its tests: probe it now, later, or not at all."""
        if not self.can_skip or (cand.runtime_s is not None and cand.runtime_s <= FAST_S):
            self._start(cand, False)
        else:
            self._waiting.append(cand.id)
            self.pump()

    def probed(self, cand_id: int) -> None:
        """A candidate's probing has ended (with a result or not)."""
        if cand_id == self._current:
            self._current = None
            self.pump()

    def more_votes(self, cand: Candidate) -> bool:
        """A skipped candidate got more samples: ``True`` when it goes back in the lane."""
        if cand.id not in self.skipped or leader_certain(self._found(), votes([cand])):
            return False
        self.skipped.discard(cand.id)
        self._waiting.append(cand.id)
        self.pump()
        return True

    def pump(self) -> None:
        """Start the next probe, if none is running."""
        while self._waiting and self._current is None:
            cand = self._lookup(self._waiting.popleft())
            certain = leader_certain(self._found(), votes([cand]))
            if certain and (self.verifying > 0 or self.settling):
                self.skipped.add(cand.id)
                continue
            self._current = cand.id
            self._start(cand, not certain)

    def first_behaviour(self, candidates: Sequence[Candidate]) -> bool:
        """No candidate has been probed yet: the first behaviour has nothing to be told apart
        from, so a first look settles it (a later, different one looks further). Only in the
        lane: with a score or a reference, probes are part of the judgement."""
        return self.can_skip and not any(c.behaviours is not None for c in candidates)

    def notice(self, candidates: Sequence[Candidate]) -> str | None:
        """What the user should know at the end, if any passing candidate stayed unprobed."""
        left = sum(1 for c in candidates if c.id in self.skipped and c.passed and c.behaviours is None)
        if not left:
            return None
        return (f"{left} passing candidate{'s were' if left != 1 else ' was'} not probed: whatever they do on "
                "the probes the leading behaviour stays first, and probing them would have delayed verification")
