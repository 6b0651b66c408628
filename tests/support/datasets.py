"""HumanEval and MBPP as ``%%search`` specs, with canonical and mutant candidates.

Used by the acceptance tests and by ``benchmarks/``; the data is read from ``../shared/data``.
"""

from __future__ import annotations

import ast
import gzip
import json
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

_MUTATE = '''

def _cs_mutate(r):
    if isinstance(r, bool):
        return not r
    if isinstance(r, (int, float)):
        return r + 1
    if isinstance(r, str):
        return r + "x"
    if isinstance(r, list):
        return r + [None]
    if isinstance(r, tuple):
        return r + (None,)
    if isinstance(r, dict):
        return {**r, "_mutant": 1}
    if r is None:
        return "mutant"
    return None

_cs_original = {name}

def {name}(*args, **kwargs):
    return _cs_mutate(_cs_original(*args, **kwargs))
'''


@dataclass(frozen=True)
class Task:
    """One task: the spec text, a correct program, a program that must fail, a reference run."""

    task_id: str
    name: str
    spec: str
    canonical: str
    reference_tests: str
    """Test code that, appended to a program, raises if the program is wrong."""

    def mutant(self) -> str:
        return self.canonical + _MUTATE.replace("{name}", self.name)


class _Rename(ast.NodeTransformer):
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id == self.old:
            node.id = self.new
        return node


def humaneval(path: Path | None = None) -> list[Task]:
    """HumanEval: spec = prompt + the body of ``check`` with ``candidate`` renamed."""
    path = path or DATA / "humaneval" / "HumanEval.jsonl.gz"
    tasks = []
    with gzip.open(path, "rt") as f:
        for line in f:
            rec = json.loads(line)
            entry = rec["entry_point"]
            module = ast.parse(rec["test"])
            setup, body = [], []
            for node in module.body:
                if isinstance(node, ast.FunctionDef) and node.name == "check":
                    body = [_Rename("candidate", entry).visit(stmt) for stmt in node.body]
                elif not (isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "METADATA"):
                    setup.append(node)
            tests = "\n".join(ast.unparse(stmt) for stmt in (*setup, *body))
            spec = rec["prompt"].rstrip() + "\n\n" + tests + "\n"
            tasks.append(Task(
                task_id=rec["task_id"], name=entry, spec=spec,
                canonical=rec["prompt"] + rec["canonical_solution"],
                reference_tests=rec["test"] + f"\ncheck({entry})\n",
            ))
    return tasks


def mbpp(path: Path | None = None) -> list[Task]:
    """MBPP train split: stub from the canonical code's signature and ``text``; ``test_list`` asserts."""
    path = path or DATA / "mbpp" / "mbpp-train.jsonl"
    tasks = []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            code = rec["code"].replace("\r\n", "\n")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))  # '\.' in regexes
                module = ast.parse(code)
            defs = {n.name: n for n in module.body if isinstance(n, ast.FunctionDef)}
            called = [
                n.func.id for t in rec["test_list"] for n in ast.walk(ast.parse(t))
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in defs
            ]
            name = called[0]
            stub = f"def {name}({ast.unparse(defs[name].args)}):\n    {_docstring(rec['text'])}\n"
            # Imports the asserts rely on (MBPP/596 calls sys.getsizeof) and classes the tests
            # build their arguments from (a tree Node) are context; nothing of the solution is.
            context = "".join(
                ast.unparse(n) + "\n\n" for n in module.body
                if isinstance(n, (ast.ClassDef, ast.Import, ast.ImportFrom))
            )
            setup = rec["test_setup_code"].replace("\r\n", "\n").strip()
            tests = "\n".join([setup, *rec["test_list"]]).strip()
            tasks.append(Task(
                task_id=f"MBPP/{rec['task_id']}", name=name,
                spec=context + stub + "\n" + tests + "\n", canonical=code + "\n",
                reference_tests="\n" + "\n".join([setup, *rec["test_list"]]) + "\n",
            ))
    return tasks


def _docstring(text: str) -> str:
    text = " ".join(text.split()).replace("\\", "\\\\").replace('"""', "'''")
    return '"""' + textwrap.shorten(text, 2000) + '"""'
