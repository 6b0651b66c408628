"""The trusted side of verification, running inside each verification kernel.

The kernel holds one :class:`Evaluator` (``__cs__``); the caller runs its methods with JSON
payloads (``_protocol``): load a spec, verify a batch of candidates, run candidates on probe
inputs. It never runs candidate code: candidates run in processes forked by the zygote
(``_sandbox``, started and spoken to by ``_zygote``), and the tests run here (``_tests``) with
the function's name bound to a proxy (``_candidate``). Reports go back to the caller as
``display_data`` with :data:`~._protocol.MIME`, a few per message.

What a candidate can and cannot see or touch (each point tested in ``tests/test_hazards.py``
and ``tests/test_hazards_neighbours.py``):

* It sees only its call's arguments, its context, its own stdin (/dev/null), output pipe and
  call socket, and the interpreter and ``/usr`` read-only: never the tests, expected values,
  other candidates, the caller's environment, files, Jupyter connection or the network. A hidden
  test's arguments reach it only after every visible answer is in; a visible test run as
  written after a hidden one called it is ``withheld`` from repair prompts.
* It writes only its sandbox's ``/tmp`` and ``/dev/shm`` (fresh tmpfs, counted as its memory);
  everything else is read-only. If it wrote there, or started processes, the next candidate
  gets a fresh sandbox: nothing of one candidate reaches the next, and nothing is walked.
* What it sends is decoded here by exact type, keeping each type's equality, under its own
  deadline; whatever fails in decoding or in rebuilding its exception is charged to it
  (``unserializable``), never a pass and never its neighbours' verdict. Output is drained in
  bounded bites; more than 64 processes, or memory and scratch files past its limit, stop it.
* The spec's own code runs here too, never in a candidate: it is rehearsed in a forked child
  with a deadline first, and a spec that exits, interrupts or never ends is a ``spec_error``
  for the caller, not a verdict.
* Its source goes from here to its own process only, compiled there: the zygote it is forked
  from never holds a candidate's source, so no candidate inherits an earlier one's source or
  constants, not even in freed memory.

Shipped into the kernel as source with the modules it imports (see ``_pool``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Literal, cast

from ._loaded import CONTEXT_S, LoadedSpec, SpecFailed, load
from ._probing import probe_one, status_behaviour
from ._protocol import (
    MIME,
    BatchPayload,
    KernelConfig,
    PlanCall,
    ProbeBatchPayload,
    ProbeReport,
    Published,
    SpecPayload,
    VerdictReport,
)
from ._shown import text
from ._tests import verify_one
from ._zygote import Spawner

__all__ = ["MIME", "Evaluator"]

Report = VerdictReport | ProbeReport
_FLUSH_S = 0.05
"""Longest a finished report waits for company before it is published."""


class Evaluator:
    """Loaded once per kernel by the pool; holds loaded specs and the zygote."""

    def __init__(self, cfg: KernelConfig) -> None:
        self.specs: dict[str, LoadedSpec] = {}
        self.spawner = Spawner(cfg)
        self.publish: Callable[[Published], None] = _publish
        # One core per kernel, inherited by its zygote and candidates: the three processes of a
        # candidate's verification hand work back and forth, and moving between cores costs.
        cpu = cfg.get("cpu")
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, {int(cpu)})

    def load_spec(self, payload: str, timeout: float = CONTEXT_S) -> None:
        """Compile a spec (:class:`~._protocol.SpecPayload`) for the batches that follow; its
        expected values get the candidates' ``timeout``. A spec that cannot run here is
        published as ``spec_error`` (the caller's to fix), not raised (the kernel lives on)."""
        try:
            spec = load(cast(SpecPayload, json.loads(payload)), values_s=timeout)
        except (Exception, SpecFailed) as e:
            why = str(e) if isinstance(e, SpecFailed) else f"{type(e).__name__}: {text(e, 300)}"
            self.publish({"spec_error": text(why, 500)})
            return
        self.specs[spec.key] = spec

    def run_batch(self, payload: str) -> None:
        """Verify candidates (:class:`~._protocol.BatchPayload`); publish a verdict for each."""
        batch = cast(BatchPayload, json.loads(payload))
        spec = self.specs[batch["key"]]
        limits = batch["limits"]

        def reports() -> Iterator[VerdictReport]:
            for c in batch["candidates"]:
                try:
                    yield verify_one(self.spawner, spec, c["index"], c["source"], limits)
                except Exception as e:
                    # Charged to the candidate being handled, never to the batch around it.
                    yield {"index": c["index"], "status": "crashed", "passed": False, "tests": [],
                           "runtime_s": None, "error": self._lost(e), "stdout": "", "output_bytes": 0}

        try:
            self._stream("verdicts", reports())
        except SpecFailed as e:  # the tests' own code: no verdict on anyone, the caller is told
            self.spawner.sweep()
            self.publish({"spec_error": text(e, 500)})

    def run_probes(self, payload: str) -> None:
        """Run candidates on probe inputs (:class:`~._protocol.ProbeBatchPayload`); publish one
        behaviour per probe for each, in bunches."""
        batch = cast(ProbeBatchPayload, json.loads(payload))
        spec = self.specs[batch["key"]]
        limits = batch["limits"]
        calls: list[PlanCall] = [{"args": args, "kwargs": ["D"]} for args in batch["probes"]]

        def reports() -> Iterator[ProbeReport]:
            for c in batch["candidates"]:
                try:
                    found = probe_one(self.spawner, spec, c["source"], limits, calls)
                except Exception as e:
                    found = [status_behaviour("crashed", self._lost(e))] * len(calls)
                yield {"index": c["index"], "behaviours": found}

        self._stream("probes", reports())

    def _lost(self, e: Exception) -> str:
        """An unexpected failure while handling one candidate: its zygote may be in any state,
        so the next candidate gets a fresh one."""
        self.spawner.discard()
        return f"internal error while handling its answers: {type(e).__name__}: {text(e, 200)}"

    def _stream(self, kind: Literal["verdicts", "probes"], reports: Iterator[Report]) -> None:
        """Publish reports as they are made, a few per message (one message each costs more than
        a report), but never holding one back for long: the caller watches for progress."""
        ready: list[Report] = []
        flushed = time.monotonic()
        for report in reports:
            ready.append(report)
            if time.monotonic() - flushed > _FLUSH_S:
                self.publish(cast(Published, {kind: ready}))
                ready, flushed = [], time.monotonic()
        self.spawner.sweep()  # nothing of the batch's last candidate outlives the batch
        if ready:
            self.publish(cast(Published, {kind: ready}))


def _publish(reports: Published) -> None:
    from IPython.display import publish_display_data

    # One JSON string, not a structure: the display machinery walks structures in Python.
    text = json.dumps(reports, ensure_ascii=False, allow_nan=True)
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates we missed
    publish_display_data({MIME: text})  # type: ignore[no-untyped-call]
