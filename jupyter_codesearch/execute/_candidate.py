"""One candidate as the tests see it: a proxy for the function, the calls it makes through the
candidate's channel, and the answers turned back into plain data or exceptions.

Shipped into the kernel as source: standard library only (cloudpickle is tried, in the kernel,
for an argument plain pickle cannot send).
"""

from __future__ import annotations

import builtins
import collections
import pickle
import sys
import time
from typing import Any

from ._channel import Abort, Channel
from ._codec import Unserializable, from_tree, to_tree
from ._protocol import Answer, CallRecord, CallRequest, Op, PlanCall, PlannedCall, PlanRequest
from ._shown import label, short, text

__all__ = ["CONTEXT_EXC", "CandidateRaised", "Proxy", "Trial"]

CONTEXT_EXC: dict[str, type[Exception]] = {}
"""Exception classes the spec's context defines, by name: a candidate raising one of those is
re-raised as the trusted side's own (see ``_loaded.namespace``)."""


class CandidateRaised(Exception):
    """Marks an exception re-raised from the candidate (vs. one raised by the test itself)."""


class Proxy:
    """Stands for the candidate function in the trusted test namespace."""

    def __init__(self, trial: Trial, name: str) -> None:
        self._trial = trial
        self.__name__ = self.__qualname__ = name

    def __repr__(self) -> str:
        return f"<candidate {self.__name__}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._trial.call(args, kwargs)


class Trial:
    """One candidate's verification: its channel, deadline, and what the tests saw.

    ``abort`` is set once the candidate can answer no more (timed out, died, sent garbage);
    every later call raises it. ``seen`` is what the current test compared (got, expected).
    """

    def __init__(
        self, chan: Channel, deadline: float, name: str, plan: list[PlannedCall] | None,
        hidden: list[bool] | None = None,
    ) -> None:
        self.chan = chan
        self.hidden = hidden or [False] * len(plan or ())
        """Per planned call: whether its test is hidden (its arguments go out last)."""
        self.live = 0
        """Calls sent one by one (tests run as written)."""
        self.namespace: dict[str, Any] = {}
        self.answered_in: float | None = None
        self.deadline = deadline
        self.name = name
        self.plan = collections.deque(plan or ())
        self.answers: collections.deque[tuple[Answer, float]] = collections.deque()
        self.after_answers: Abort | None = None
        self.abort: Abort | None = None
        self.calls: list[CallRecord] = []
        self.call_time = 0.0
        self.seen: dict[str, Any] = {}

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call the candidate (or take its planned answer); its result, or what it raised."""
        if self.abort is not None:
            raise self.abort
        reply: Answer | None
        if self.plan:
            reply, record = self._planned(args, kwargs)
        else:
            reply, record = self._live(args, kwargs)
        if reply is None:
            self.abort = Abort("crashed", "")
            raise self.abort
        try:
            return self._answer(reply, args, record)
        except Abort as e:
            self.abort = e
            raise

    def _planned(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Answer, CallRecord]:
        # Each test makes exactly its planned call (see spec._calls.planned_calls); the label
        # was made once, by the caller.
        planned = self.plan.popleft()
        # Fast checks call with no arguments: the planned ones are known (see _instrument.fast_check).
        if (args or kwargs) and (
            len(args) != len(planned["args"]) - 1 or len(kwargs) != (len(planned["kwargs"]) - 1) // 2
        ):
            # Cannot happen for a plan made by planned_calls(); if it ever does, never guess.
            self.abort = Abort("error", "internal error: the tests' calls did not follow the plan")
            raise self.abort
        record: CallRecord = {"call": planned["label"]}
        self.calls.append(record)
        if not self.answers:
            self.abort = self.after_answers or Abort("crashed", "")
            raise self.abort
        reply, elapsed = self.answers.popleft()
        self.call_time += elapsed
        return reply, record

    def _live(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Answer | None, CallRecord]:
        msg: CallRequest
        try:
            msg = {"op": Op.CALL, "args": to_tree(list(args)), "kwargs": to_tree(kwargs)}
        except Unserializable:
            msg = {"op": Op.CALL, "pickle": _pickle((args, kwargs)).hex()}
        record: CallRecord = {"call": label(self.name, args, kwargs)}
        self.calls.append(record)
        self.live += 1
        start = time.perf_counter()
        try:
            self.chan.send(msg, self.deadline)
            reply: Answer | None = self.chan.recv(self.deadline)  # type: ignore[assignment]
        except Abort as e:
            self.abort = e
            raise
        finally:
            self.call_time += time.perf_counter() - start  # timed here, on the trusted side
        return reply, record

    def prefetch(self) -> None:
        """Read the answers to the planned calls as they arrive.

        The visible tests' arguments go first; a hidden test's only once every visible answer is
        in, so nothing the candidate says about a visible test (which a model may see) can hold
        a hidden test's arguments.

        Answers computed ahead arrive together, so arrival times cannot time them one by one.
        The candidate's own figure is used instead, capped so that the time it claims never
        exceeds what passed here since it was started (it may claim less: a candidate can look
        faster than it is, never slower, and never pass a test it fails).
        """
        if not self.plan:
            return
        plan = list(self.plan)
        groups = [[i for i in range(len(plan)) if not self.hidden[i]], [i for i in range(len(plan)) if self.hidden[i]]]
        if len(self.hidden) != len(plan):  # cannot happen (one flag per test); never guess
            groups = [list(range(len(plan))), []]
        # The arguments go out only now, after the candidate is defined: code running at import
        # cannot see them, so all the work on them happens within the span timed below.
        sent = time.perf_counter()
        got: dict[int, tuple[Answer, float]] = {}
        claimed = 0.0
        for group in groups:
            if not group:
                continue
            calls: list[PlanCall] = [{"args": plan[i]["args"], "kwargs": plan[i]["kwargs"]} for i in group]
            request: PlanRequest = {"op": Op.PLAN, "calls": calls}
            self.chan.send(request, self.deadline)
            for i in group:
                reply = self._next()
                if reply is None:
                    self._keep(got, len(plan))
                    return
                t = reply.get("t")
                t = float(t) if isinstance(t, (int, float)) and t == t and t > 0 else 0.0
                t = min(t, max(0.0, self.chan.arrived - sent - claimed))
                claimed += t
                got[i] = (reply, t)
        self._keep(got, len(plan))
        self.answered_in = self.chan.arrived - sent

    def _next(self) -> Answer | None:
        """The next planned answer; ``None`` (and ``after_answers`` set) when there is none."""
        try:
            reply: Answer | None = self.chan.recv(self.deadline)  # type: ignore[assignment]
        except Abort as e:
            self.after_answers = e
            return None
        if reply is None:
            self.after_answers = Abort("crashed", "")
        return reply

    def _keep(self, got: dict[int, tuple[Answer, float]], n: int) -> None:
        """The answers in test order, up to the first one missing (later tests get the abort)."""
        for i in range(n):
            if i not in got:
                return
            self.answers.append(got[i])

    def _answer(self, reply: Answer, args: tuple[Any, ...], record: CallRecord) -> Any:
        if "value" in reply:
            try:
                value = from_tree(reply["value"])
                after = from_tree(reply["args"]) if "args" in reply else None
            except Exception as e:  # from_tree raises only Unserializable; anything else is the candidate's too
                raise Abort("unserializable", f"returned a malformed value ({text(e, 200)})") from None
            if isinstance(after, list) and len(after) == len(args):
                _copy_back(args, after)
            record["got"] = short(value, 120)
            return value
        if "unserializable" in reply:
            raise Abort("unserializable", f"returned {text(reply['unserializable'], 200)}")
        kind = text(reply.get("raised") or reply.get("exit") or "Exception", 100)
        message = text(reply.get("message", ""), 500)
        where = text(reply.get("where", ""), 50)
        shown = f"{kind}: {message}" if message else kind
        record["raised"] = shown if len(shown) <= 200 else shown[:199] + "…"
        if "exit" in reply:
            raise Abort("crashed", f"raised {kind}" + (f" at {where}" if where else ""))
        if kind == "MemoryError":
            raise Abort("memory", "ran out of memory" + (f" at {where}" if where else ""))
        raise _rebuild(kind, message, where)


def _pickle(obj: object) -> bytes:
    try:
        return pickle.dumps(obj, protocol=4)
    except Exception:
        try:
            import cloudpickle
        except ImportError:
            raise TypeError("an argument cannot be sent to the sandbox (not plain data, not picklable)") from None
        return cloudpickle.dumps(obj, protocol=4)  # type: ignore[no-any-return]


_REFILLED = (dict, set, collections.OrderedDict, collections.Counter)


def _copy_back(args: tuple[Any, ...], after: list[Any]) -> None:
    for old, new in zip(args, after, strict=True):
        if type(old) is list and type(new) is list:
            old[:] = new
        elif not _copy_back_data(old, new) and type(old) is type(new) and type(old) in _REFILLED:
            old.clear()
            if isinstance(old, dict):
                for k, v in new.items():  # item by item: Counter's own update would add counts
                    old[k] = v
            else:
                old.update(new)


def _copy_back_data(old: Any, new: Any) -> bool:
    """An array, frame or series the candidate changed in place, changed here too (as the call
    would have in the user's kernel). ``new`` was built here by the codec, never the candidate's."""
    np, pd = sys.modules.get("numpy"), sys.modules.get("pandas")
    if np is not None and type(old) is np.ndarray and type(new) is np.ndarray:
        if old.shape == new.shape and old.dtype == new.dtype and old.flags.writeable:
            old[...] = new
        return True
    if pd is not None and type(old) is type(new) and type(old) in (pd.DataFrame, pd.Series):
        update = getattr(old, "_update_inplace", None)  # what pandas' own inplace=True methods do
        if update is not None:
            update(new)
        return True
    return False


def _rebuild(kind: str, message: str, where: str) -> BaseException:
    """The trusted side's own exception standing for the one the candidate raised.

    Whatever ``kind`` says, building it must never raise here: an exception escaping this
    function would be taken for the candidate's (a test expecting ``TypeError`` would pass on a
    consistent-MRO ``TypeError`` of our own). So every failure falls back to a class whose bases
    cannot conflict: :class:`CandidateRaised` alone (it is an ``Exception``).
    """
    base: Any = getattr(builtins, kind, None)
    if kind in ("StopIteration", "StopAsyncIteration"):
        # As PEP 479 does for generators: raised for real, it would silently end the test's
        # own iteration (`all(map(f, xs))` over nothing is True) -- a false pass.
        base = RuntimeError
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base = CONTEXT_EXC.get(kind)
    if not (isinstance(base, type) and issubclass(base, Exception)) or issubclass(CandidateRaised, base):
        base = None  # plain Exception (or a forged name): CandidateRaised is one already
    name = kind if kind.isidentifier() else "CandidateError"
    err: BaseException | None = None
    if base is not None:
        try:  # a context class may have a metaclass or an __init__ of its own: any of it may fail
            err = type(name, (base, CandidateRaised), {"__module__": "candidate"})(message)
        except Exception:
            err = None
    if err is None:
        err = type(name, (CandidateRaised,), {"__module__": "candidate"})(message)
    err.where = where  # type: ignore[union-attr]
    return err
