"""Turn a model's reply into candidate source, and know when two sources are the same program.

Nothing here runs code: replies are only parsed. Parsing hostile text is bounded (size cap) and
every parser failure is a reason, never an exception.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
import warnings
from dataclasses import dataclass

__all__ = ["Extracted", "extract", "program_key"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_MAX_REPLY = 200_000


@dataclass(frozen=True)
class Extracted:
    """The code found in a reply, or why there is none (``code`` is then ``None``)."""

    code: str | None
    reason: str | None = None


def _parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes etc. in model code are not ours to report
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def _defines(tree: ast.Module, name: str) -> bool:
    return any(
        (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name)
        or (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets))
        for node in tree.body
    )


_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
                ast.AnnAssign)


def _supports(block: str, used: set[str]) -> bool:
    """A block of imports and definitions only, defining something the function uses."""
    tree = _parse(block)
    if tree is None or not tree.body or not all(isinstance(n, _DEFINITIONS) for n in tree.body):
        return False
    if all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body):
        return True
    defined = {getattr(n, "name", None) for n in tree.body} | {
        t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
        for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)
    }
    return bool(defined & used)


def extract(reply: str, name: str) -> Extracted:
    """Find the code defining ``name`` in a reply: fenced blocks first, then bare text.

    Imports and helpers that come with the function are kept. When several fenced blocks
    exist, the ones that parse are joined, so a reply that puts imports and the function in
    separate blocks still works.
    """
    if len(reply) > _MAX_REPLY:
        return Extracted(None, f"reply over {_MAX_REPLY // 1000} kB")
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(reply)]
    blocks = [(lang, body) for lang, body in blocks if lang in ("", "python", "py", "python3")]
    saw_code = bool(_FENCE.search(reply))  # fenced, but not Python: treat as no usable code
    if blocks:
        parsed = [body for _, body in blocks if _parse(body) is not None]
        for body in parsed:
            tree = _parse(body)
            if tree is not None and _defines(tree, name):
                # Imports and helpers put in blocks of their own belong to the function;
                # example usage (calls, prints, asserts) does not.
                used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
                extra = [b.strip("\n") for b in parsed if b is not body and _supports(b, used)]
                return Extracted("\n\n".join([*extra, body.strip("\n")]) + "\n")
        joined = "\n\n".join(parsed)
        tree = _parse(joined) if parsed else None
        if tree is not None and _defines(tree, name):
            return Extracted(joined.strip("\n") + "\n")
        if len(parsed) < len(blocks):
            return Extracted(None, "syntax error in the code")
        return Extracted(None, f"the code does not define `{name}`")
    if saw_code:
        return Extracted(None, "no code in the reply")
    # Bare text: from a line that starts code, with trailing prose dropped line by line.
    lines = reply.strip("\n").split("\n")
    starts = [i for i, line in enumerate(lines) if re.match(r"(def |async def |import |from |class |@)", line)]
    if not starts:
        return Extracted(None, "no code in the reply")
    for start in starts[:5]:
        for end in range(len(lines), max(start, len(lines) - 30), -1):
            text = "\n".join(lines[start:end])
            tree = _parse(text)
            if tree is not None:
                if _defines(tree, name):
                    return Extracted(text.strip("\n") + "\n")
                break
    if re.search(rf"\bdef\s+{re.escape(name)}\s*\(", reply):
        return Extracted(None, "syntax error in the code")
    return Extracted(None, f"the code does not define `{name}`")


class _StripDocstrings(ast.NodeTransformer):
    def _strip(self, node: ast.AST) -> ast.AST:
        body = getattr(node, "body", None)
        if (
            isinstance(body, list) and body and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
        self.generic_visit(node)
        return node

    visit_Module = visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _strip


@functools.lru_cache(maxsize=2048)  # the run keys a candidate, then the verdict cache keys it again
def program_key(code: str) -> str:
    """Same key for sources that differ only in formatting, comments or docstrings."""
    tree = _parse(code)
    if tree is None:
        return "text:" + hashlib.sha256(code.encode()).hexdigest()
    tree = _StripDocstrings().visit(tree)
    return "ast:" + hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def program_size(code: str) -> int:
    """Number of AST nodes: the size used for ranking (formatting does not count)."""
    tree = _parse(code)
    return sum(1 for _ in ast.walk(tree)) if tree is not None else len(code)
