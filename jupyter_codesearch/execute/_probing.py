"""Running a candidate on probe inputs: what it does on each, as a typed behaviour.

A behaviour is ``_model.Behaviour``'s fields as data (:class:`~._protocol.BehaviourReport`):
values are compared by digest (answers can be huge), exceptions by name; a timeout, a crash or
an answer that is not data is a behaviour too. Shipped into the kernel as source: standard
library only.
"""

from __future__ import annotations

from ._channel import Abort, alarm
from ._codec import from_tree, value_digest
from ._loaded import LoadedSpec
from ._protocol import Answer, BehaviourReport, FirstMessage, LimitsPayload, Op, PlanCall, PlanRequest
from ._shown import short, text
from ._zygote import NotStarted, Spawner

__all__ = ["answer_behaviour", "probe_one", "status_behaviour"]

_STATUS_KINDS = ("timeout", "crashed", "unserializable", "invalid")
"""Statuses that are behaviour kinds of their own; any other (memory, error) counts as a crash."""


def status_behaviour(status: str, shown: str) -> BehaviourReport:
    """A run that ended without an answer (timed out, died, ...) as a behaviour."""
    if status in _STATUS_KINDS:
        return {"kind": status, "detail": "", "shown": shown}
    return {"kind": "crashed", "detail": status, "shown": shown}


def answer_behaviour(reply: Answer) -> BehaviourReport:
    """A candidate's answer as a behaviour: comparable by ``kind`` and ``detail``."""
    if "value" in reply:
        try:
            value = from_tree(reply["value"])
            digest = value_digest(reply["value"])
        except Exception:  # whatever the candidate's answer makes fail is its own behaviour
            return status_behaviour("unserializable", "unserializable")
        return {"kind": "value", "detail": digest, "shown": short(value, 120)}
    if "unserializable" in reply:
        return status_behaviour("unserializable", "unserializable")
    kind = text(reply.get("raised") or reply.get("exit") or "Exception", 100)
    return {"kind": "raised", "detail": kind, "shown": f"raises {kind}"}


def probe_one(
    spawner: Spawner, spec: LoadedSpec, source: str, limits: LimitsPayload, calls: list[PlanCall]
) -> list[BehaviourReport]:
    """One behaviour per call in ``calls``: the candidate answers them all in one stream.

    A candidate that hangs on a probe costs only its own time budget; once it stops answering,
    the probes left are that same behaviour.
    """
    started = spawner.start(spec.zygote, spec.name, source, limits)
    if isinstance(started, NotStarted):
        return [status_behaviour(started.status, started.error)] * len(calls)
    chan, deadline = started.chan, started.deadline
    found: list[BehaviourReport] = []
    aborted = False
    try:
        with alarm(deadline):  # decoding answers is bounded by the candidate's deadline too
            first: FirstMessage | None = chan.recv(deadline)  # type: ignore[assignment]
            if first is None or "ready" not in first:
                why = "invalid" if first is not None and "invalid" in first else "crashed"
                found = [status_behaviour(why, why)] * len(calls)
            else:
                request: PlanRequest = {"op": Op.PLAN, "calls": calls}
                chan.send(request, deadline)
                for _ in calls:
                    reply: Answer | None = chan.recv(deadline)  # type: ignore[assignment]
                    if reply is None:
                        break
                    found.append(answer_behaviour(reply))
    except Abort as e:
        found.append(status_behaviour(e.status, e.status))
        aborted = True
    finally:
        spawner.done_with(now=aborted)
        chan.close()
    missing = len(calls) - len(found)
    if missing > 0:
        last = "timeout" if found and found[-1]["kind"] == "timeout" else "crashed"
        found += [status_behaviour(last, last)] * missing
    return found[: len(calls)]
