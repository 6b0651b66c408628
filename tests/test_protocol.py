"""The wire: one table of operation names, one of sizes, typed messages, shippable modules."""

from __future__ import annotations

import ast
import json
import sys
import typing
from pathlib import Path

import pytest

from jupyter_codesearch import Spec
from jupyter_codesearch._model import Behaviour
from jupyter_codesearch.execute import _codec, _protocol
from jupyter_codesearch.execute._payload import plan_of, spec_payload
from jupyter_codesearch.execute._pool import KERNEL_MODULES, ZYGOTE_MODULES
from jupyter_codesearch.execute._protocol import Op, Size
from jupyter_codesearch.execute._verdict import behaviour_from_report, verdict_from_report

PACKAGE = Path(_protocol.__file__).resolve().parents[1]
EXECUTE = PACKAGE / "execute"
KERNEL_MAY_IMPORT_LAZILY = {"IPython.display", "cloudpickle", "numpy", "pandas"}
"""Imported inside a function: in the kernel only, where ipykernel brings them (or is tried); numpy and
pandas by the codec, only when one of their values is met (see ``_codec_data``)."""


def test_operation_names_are_unique_and_travel_as_plain_strings() -> None:
    values = [op.value for op in Op]
    assert len(values) == len(set(values))
    assert json.dumps({"op": Op.SPAWN}) == '{"op": "spawn"}'
    assert f"__cs__.{Op.RUN_BATCH}(...)" == "__cs__.run_batch(...)" and str(Op.PLAN) == "plan"
    assert "spawned" == Op.SPAWNED and {"reap": 1}[Op.REAP] == 1


def test_every_message_with_an_op_names_it_from_the_table() -> None:
    with_op = []
    for name in _protocol.__all__:
        cls = getattr(_protocol, name)
        if isinstance(cls, type) and issubclass(cls, dict):
            hints = typing.get_type_hints(cls)
            if "op" in hints:
                (member,) = typing.get_args(hints["op"])
                assert isinstance(member, Op), name
                with_op.append(member)
    assert set(with_op) >= {Op.HELLO, Op.CONTEXT, Op.SPAWN, Op.SPAWNED, Op.REAP, Op.REAPED,
                            Op.SOURCE, Op.CALL, Op.PLAN}


def test_size_limits_are_one_table_and_nest() -> None:
    assert _codec.MAX_BYTES == Size.MESSAGE
    assert Size.SOURCE < Size.ANSWERS < Size.MESSAGE  # a spawn always fits in a message
    assert Size.OUTPUT_KEPT < Size.FILE


def _imports(path: Path) -> tuple[list[ast.ImportFrom | ast.Import], list[ast.ImportFrom | ast.Import]]:
    """(module-level imports, imports inside functions)."""
    tree = ast.parse(path.read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    inner = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and n not in top]
    return top, inner


@pytest.mark.parametrize("modules", [ZYGOTE_MODULES, KERNEL_MODULES], ids=["zygote", "kernel"])
def test_shipped_modules_import_only_the_standard_library_and_modules_shipped_before_them(
    modules: tuple[str, ...],
) -> None:
    for i, name in enumerate(modules):
        top, inner = _imports(EXECUTE / f"{name}.py")
        for node in top:
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1 and node.module in modules[:i], f"{name} imports .{node.module}"
            else:
                roots = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for root in roots:
                    assert root.split(".")[0] in sys.stdlib_module_names, f"{name} imports {root}"
        for node in inner:
            lazily = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert set(lazily) <= KERNEL_MAY_IMPORT_LAZILY, f"{name} imports {lazily} in a function"


def _import_graph() -> dict[str, set[str]]:
    """Module-level imports between the package's modules. Importing ``a.b.c`` runs the
    ``__init__`` of ``a.b`` first, so that is an edge too (unless it is the importer's own
    package, which is being imported already)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        package = parts[:-1]
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        targets: list[list[str]] = []
        for node in _imports(path)[0]:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                if node.module:
                    targets.append([*base, *node.module.split(".")])
                else:
                    targets += [[*base, a.name] for a in node.names]
        edges = graph.setdefault(name, set())
        for target in targets:
            for k in range(1, len(target) + 1):
                step = ".".join(target[:k])
                if not (name == step or name.startswith(step + ".")):
                    edges.add(step)
    return graph


def test_the_package_has_no_import_cycles() -> None:
    graph = _import_graph()
    assert graph["jupyter_codesearch.execute._pool"] >= {"jupyter_codesearch.spec", "jupyter_codesearch._model"}
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(node):], node]))
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            if nxt in graph:
                visit(nxt, [*path, node])
        done.add(node)

    for module in sorted(graph):
        visit(module, [])


def test_a_behaviour_is_built_from_its_three_fields_without_parsing() -> None:
    # A value whose text looks like a prefixed string is still only a value.
    got = behaviour_from_report({"kind": "value", "detail": "e:KeyError", "shown": "'e:KeyError'"})
    assert (got.kind, got.detail, got.shown) == ("value", "e:KeyError", "'e:KeyError'")
    assert behaviour_from_report({"kind": "raised", "detail": "KeyError", "shown": "raises KeyError"}) == \
        Behaviour("raised", "KeyError")
    assert behaviour_from_report({"kind": "timeout", "detail": "", "shown": "timeout"}).kind == "timeout"
    odd = behaviour_from_report({"kind": "martian", "detail": "", "shown": "?"})
    assert (odd.kind, odd.detail) == ("crashed", "martian")


def test_a_verdict_takes_test_sources_and_hidden_flags_from_the_spec_by_line() -> None:
    report: _protocol.VerdictReport = {
        "index": 7, "status": "failed", "passed": False, "runtime_s": 0.5, "error": "line 3: assertion failed",
        "stdout": "hi", "output_bytes": 2,
        "tests": [{"line": 3, "passed": False, "duration_s": 0.5, "got": "1", "expected": "2",
                   "calls": [{"call": "f(1)", "got": "1"}]},
                  {"line": 4, "passed": True, "duration_s": 0.0}],
    }
    verdict = verdict_from_report(report, {3: ("assert f(1) == 2", False), 4: ("assert f(2) == 2", True)})
    first, second = verdict.tests
    assert (verdict.index, verdict.status, verdict.passed, verdict.stdout) == (7, "failed", False, "hi")
    assert (first.source, first.hidden, first.got, first.expected) == ("assert f(1) == 2", False, "1", "2")
    assert first.calls == ({"call": "f(1)", "got": "1"},)
    assert (second.hidden, second.error, second.calls) == (True, None, ())
    assert verdict_from_report({**report, "status": "nonsense"}, {}).status == "error"


def test_the_spec_payload_carries_the_plan_as_trees_with_labels() -> None:
    spec = Spec.parse("def f(a, b=0):\n    '''d'''\nassert f(1) == 1\nassert f([2], b={3}) == 5  # hidden\n")
    payload = spec_payload(spec)
    assert json.loads(json.dumps(payload)) == payload  # plain JSON
    assert [i["hidden"] for i in payload["items"]] == [False, True]
    assert payload["plan"] == [
        {"args": ["L", 1], "kwargs": ["D"], "label": "f(1)"},
        {"args": ["L", ["L", 2]], "kwargs": ["D", "b", ["S", 3]], "label": "f([2], b={3})"},
    ]


def test_no_plan_when_a_literal_cannot_be_sent_as_data() -> None:
    assert plan_of(Spec.parse("def f(a):\n    '''d'''\nassert f(...) == 1\n")) is None
