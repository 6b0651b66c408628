"""A spec as the kernel holds it: compiled once, when loaded, for every candidate after.

Shipped into the kernel as source: standard library only.
"""

from __future__ import annotations

import ast
import pickle
import sys
import types
from dataclasses import dataclass, replace
from typing import Any, Literal

from ._candidate import CONTEXT_EXC
from ._instrument import Check, compile_item, fast_check
from ._protocol import CONTEXT_MODULE, ContextRequest, Op, PlannedCall, SpecPayload

__all__ = ["LoadedSpec", "ScoreStep", "Step", "load", "namespace"]


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


def load(payload: SpecPayload) -> LoadedSpec:
    """Compile a spec sent by the caller; raises what compiling the user's code raises."""
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
    if partial.plan is None:
        return partial
    return replace(partial, fast=_fast_checks(partial))


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


def _fast_checks(spec: LoadedSpec) -> tuple[Check, ...] | None:
    """For planned specs: each test as a check of the candidate's answer against a value
    computed here once (the tests' other side never involves the candidate, and setup never
    touches it). Saves running the tests' code for every candidate; ``None`` when anything is
    not that simple (the tests then run as written)."""
    try:
        ns = namespace(spec)
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
