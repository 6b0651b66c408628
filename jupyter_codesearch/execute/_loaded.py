"""A spec as the kernel holds it: compiled once, when loaded, for every candidate after.

Shipped into the kernel as source: standard library only.
"""

from __future__ import annotations

import ast
import contextlib
import os
import pickle
import select
import signal
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal, NoReturn

from ._candidate import CONTEXT_EXC
from ._channel import Abort, alarm
from ._instrument import Check, compile_item, fast_check
from ._protocol import CONTEXT_MODULE, ContextRequest, Op, PlannedCall, SpecPayload
from ._shown import text

__all__ = ["CONTEXT_S", "LoadedSpec", "ScoreStep", "SpecFailed", "Step", "load", "namespace", "spec_code"]


@dataclass(frozen=True)
class Step:
    """One test or setup statement, instrumented and compiled with the cell's line numbers."""

    kind: Literal["test", "setup"]
    code: types.CodeType
    line: int
    source: str
    hidden: bool


@dataclass(frozen=True)
class ScoreStep:
    """The cell's ``@score`` function, compiled: defines ``name`` when run."""

    code: types.CodeType
    name: str
    mode: Literal["value", "runtime"]


@dataclass(frozen=True)
class LoadedSpec:
    """A spec compiled in the kernel: what every candidate's verification starts from."""

    key: str
    name: str
    preamble: types.CodeType
    context: types.CodeType
    objects: tuple[tuple[str, bytes], ...]
    zygote: ContextRequest
    """What the zygote must hold for this spec's candidates (a different one restarts it)."""
    steps: tuple[Step, ...]
    plan: list[PlannedCall] | None
    """The tests' calls, known up front (computed by the caller, see ``spec._calls``)."""
    fast: tuple[Check, ...] | None
    """With a plan: each test as a check against values computed once here; ``None`` when the
    tests must run as written, in a fresh namespace per candidate."""
    score: ScoreStep | None = None
    """Run on candidates that pass (see ``_score``)."""

    @property
    def tests(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.kind == "test")


CONTEXT_S = 60.0
"""Longest the spec's context may take on the trusted side (as in the zygote: ``context_timeout``)."""


class SpecFailed(BaseException):
    """The spec itself cannot be run here (its code exits, interrupts, or runs past its deadline):
    the caller's error, said once, never a verdict on a candidate. A BaseException so that no
    ``except Exception`` on the way turns it into one."""


@contextlib.contextmanager
def spec_code(what: str, seconds: float | None = None) -> Iterator[None]:
    """Run the user's own code (context, expected values, tests as written) so that what would
    end the kernel or hang it ends in :class:`SpecFailed` instead. ``os._exit`` and ``os.abort``
    raise SystemExit meanwhile: a kernel is not the user's to end."""
    exits = os._exit, os.abort

    def refuse(*_: object) -> NoReturn:
        raise SystemExit("os._exit() or os.abort() called")

    os._exit = os.abort = refuse  # type: ignore[assignment]
    try:
        if seconds is None:  # within a candidate's run: its own alarm bounds it
            yield
        else:
            try:
                with alarm(time.monotonic() + seconds - 0.5):  # the alarm adds half a second
                    yield
            except Abort:
                raise SpecFailed(f"{what} did not finish within {seconds:g} s") from None
    except (SystemExit, KeyboardInterrupt) as e:
        raise SpecFailed(f"{what} raised {type(e).__name__}" + (f": {text(e, 200)}" if str(e) else "")) from None
    finally:
        os._exit, os.abort = exits


def load(payload: SpecPayload, context_s: float = CONTEXT_S, values_s: float = CONTEXT_S) -> LoadedSpec:
    """Compile a spec sent by the caller, and run its context once (within ``context_s``) and,
    with a plan, its expected values (within ``values_s``). Raises what compiling the user's
    code raises, or :class:`SpecFailed`."""
    name = payload["name"]
    partial = LoadedSpec(
        key=payload["key"],
        name=name,
        preamble=compile(payload["preamble"], "<session>", "exec"),
        context=compile(payload["context"], "<cell>", "exec"),
        objects=tuple((o["name"], bytes.fromhex(o["pickle"])) for o in payload["objects"]),
        zygote={"op": Op.CONTEXT, "preamble": payload["preamble"], "objects": payload["objects"],
                "source": payload["context"]},
        steps=tuple(
            Step(i["kind"], compile_item(i["source"], i["line"], name), i["line"], i["source"], i["hidden"])
            for i in payload["items"]
        ),
        plan=payload["plan"] or None,
        fast=None,
        score=_score_step(payload),
    )
    _rehearse(partial, context_s, values_s)
    try:
        with spec_code("the spec's context", context_s):
            ns = namespace(partial)
    except Exception:  # reported with every candidate's verdict, as the zygote will see it too
        return partial
    if partial.plan is None:
        return partial
    with spec_code("computing the tests' expected values", values_s):
        fast = _fast_checks(partial, ns)
    return replace(partial, fast=fast)


_CONTEXT_DONE = b"context done\n"


def _rehearse(spec: LoadedSpec, context_s: float, values_s: float) -> None:
    """Run the context and the expected values once in a forked child, killed at its deadline:
    a signal cannot stop a loop in C (``sum(range(10**13))``) and nothing here can survive an
    exit that bypasses Python, so this process runs them only once they are known to end.
    Raises :class:`SpecFailed` with what went wrong."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: report and leave, whatever happens
        try:
            os.close(r)
            _rehearsal(spec, w)
        finally:
            os._exit(0)
    os.close(w)
    status = 0
    try:
        said = _watch(r, context_s, values_s)
    finally:
        os.close(r)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)  # not reaped yet: the pid is still its own
        with contextlib.suppress(ChildProcessError):
            status = os.waitpid(pid, 0)[1]
    if said is not None:
        raise SpecFailed(said.replace("{status}", _wait_status(status)))


def _rehearsal(spec: LoadedSpec, out: int) -> None:  # pragma: no cover - runs in the forked child
    devnull = open(os.devnull, "w")  # the kernel's streams talk to threads a fork does not have
    sys.stdout = sys.stderr = devnull
    said = ""
    try:
        try:
            with spec_code("the spec's context"):
                ns = namespace(spec)
        except Exception:
            ns = None  # reported with every verdict
        os.write(out, _CONTEXT_DONE)
        if ns is not None and spec.plan is not None:
            with spec_code("computing the tests' expected values"):
                _fast_checks(spec, ns)
    except SpecFailed as e:
        said = str(e)
    except BaseException as e:
        said = f"the spec raised {type(e).__name__}"
    os.write(out, ("said:" + said).encode("utf-8", "replace")[:2000])


def _watch(r: int, context_s: float, values_s: float) -> str | None:
    """What the rehearsal said went wrong (``None``: nothing), given each part its deadline."""
    heard = b""
    what, deadline = "the spec's context", time.monotonic() + context_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return f"{what} did not finish within {context_s if what.endswith('context') else values_s:g} s"
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            continue
        chunk = os.read(r, 4096)
        if not chunk:
            break
        heard += chunk
        if what.endswith("context") and heard.startswith(_CONTEXT_DONE):
            what, deadline = "computing the tests' expected values", time.monotonic() + values_s
    said = heard.removeprefix(_CONTEXT_DONE)
    if not said.startswith(b"said:"):
        return f"{what} ended the process ({{status}})"
    return said[5:].decode("utf-8", "replace") or None


def _wait_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}"


def _score_step(payload: SpecPayload) -> ScoreStep | None:
    score = payload.get("score")
    if score is None:
        return None
    code = compile("\n" * (score["line"] - 1) + score["source"], "<cell>", "exec")  # the cell's line numbers
    return ScoreStep(code, score["name"], "runtime" if score["mode"] == "runtime" else "value")


def namespace(spec: LoadedSpec) -> dict[str, Any]:
    """A fresh trusted namespace holding the context (tests may change it: one per candidate)."""
    module = types.ModuleType(CONTEXT_MODULE)
    sys.modules[CONTEXT_MODULE] = module
    ns = module.__dict__
    exec(spec.preamble, ns)
    for name, blob in spec.objects:
        ns[name] = pickle.loads(blob)  # the user's own values (--use)
    exec(spec.context, ns)
    CONTEXT_EXC.clear()
    CONTEXT_EXC.update({k: v for k, v in ns.items() if isinstance(v, type) and issubclass(v, Exception)})
    return ns


def _fast_checks(spec: LoadedSpec, ns: dict[str, Any]) -> tuple[Check, ...] | None:
    """For planned specs: each test as a check of the candidate's answer against a value
    computed here once (the tests' other side never involves the candidate, and setup never
    touches it). Saves running the tests' code for every candidate; ``None`` when anything is
    not that simple (the tests then run as written)."""
    try:
        checks = []
        for step in spec.steps:
            node = ast.parse(step.source).body[0]
            if step.kind == "setup":
                exec(compile(ast.Module([node], []), "<cell>", "exec"), ns)
                continue
            assert isinstance(node, ast.Assert)
            if node.msg is not None:
                return None
            checks.append(fast_check(node.test, ns))
        return tuple(checks)
    except Exception:
        return None
