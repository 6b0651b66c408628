"""What the caller sends a kernel (caller side): the spec, with the plan computed here.

The plan is read by ``spec.planned_calls`` in the caller, not in the kernel: the kernel gets
only the shipped modules (``spec/`` is not one of them and needs no shipping this way), and the
reading happens once per spec instead of once per kernel.
"""

from __future__ import annotations

import ast
from typing import Any, Literal

from ..spec import Spec, planned_calls
from ._codec import Unserializable, to_tree
from ._protocol import PlannedCall, SpecPayload
from ._shown import label

__all__ = ["plan_of", "spec_payload"]


def spec_payload(spec: Spec) -> SpecPayload:
    """``load_spec``'s payload for ``spec``."""
    payload: SpecPayload = {
        "key": spec.key,
        "name": spec.name,
        "preamble": spec.preamble,
        "context": spec.context,
        "objects": [{"name": name, "pickle": blob.hex()} for name, blob in spec.objects],
        "items": [{"kind": i.kind, "source": i.source, "line": i.line, "hidden": i.hidden}
                  for i in spec.items if i.kind != "score"],
        "plan": plan_of(spec),
    }
    if spec.score is not None:
        node = ast.parse(spec.score.source).body[0]
        assert isinstance(node, ast.FunctionDef)  # as the spec found it
        mode: Literal["value", "runtime"] = "runtime" if spec.score_mode == "runtime" else "value"
        payload["score"] = {"source": spec.score.source, "name": node.name, "line": spec.score.line, "mode": mode}
    return payload


def plan_of(spec: Spec) -> list[PlannedCall] | None:
    """The tests' calls as the kernel sends them to candidates, or ``None`` without a plan."""
    calls = planned_calls(spec)
    if calls is None:
        return None
    plan: list[PlannedCall] = []
    for call in calls:
        kwargs: dict[str, Any] = dict(call.kwargs)
        try:
            trees = to_tree(list(call.args)), to_tree(kwargs)
        except Unserializable:
            return None
        plan.append({"args": trees[0], "kwargs": trees[1], "label": label(spec.name, call.args, kwargs)})
    return plan
