"""Examples the user wrote in the stub's docstring, in the forms people write them.

``>>> f(2)`` with the answer on the next line (doctest), ``f(2) == 4``, ``f(2) -> 4``,
``f(2) => 4``, ``f(2) ➞ 4``, ``f(2) = 4``, ``f(2) should return 4``, ``f(2) returns 4``. Only
calls with literal arguments and a literal answer count (nothing is evaluated); an example that
does not read cleanly is left out rather than guessed at. They are evidence for ranking (the
user's own word on what the function does), never tests that change a verdict.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from ._calls import CallExample

__all__ = ["docstring_examples"]

_ARROW = re.compile(r"^\s*(?:==>|==|=>|->|➞|=|should\s+return|returns|return|gives|is)\s*(.*)$", re.IGNORECASE)
_MAX = 20


def docstring_examples(docstring: str | None, name: str) -> list[CallExample]:
    """The examples in ``docstring`` for the function ``name`` (at most 20)."""
    if not docstring:
        return []
    lines = docstring.splitlines()
    out: list[CallExample] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        for start in _calls(line, name):
            call, rest = _split_call(line, start)
            if call is None:
                continue
            args = _literal_args(call, name)
            if args is None:
                continue
            answer = rest
            if line.lstrip().startswith(">>>") and not rest.strip() and i + 1 < len(lines):
                answer = lines[i + 1]  # doctest: the answer is the next line
            expected = _answer(answer, doctest=line.lstrip().startswith(">>>") and not rest.strip())
            if expected is _NO or call in seen:
                continue
            seen.add(call)
            out.append(CallExample(args, expected[0], f"{call} == {expected[1]}"))
            if len(out) == _MAX:
                return out
    return out


_NO: Any = object()


def _calls(line: str, name: str) -> list[int]:
    return [m.start() for m in re.finditer(rf"(?<![\w.]){re.escape(name)}\s*\(", line)]


def _split_call(line: str, start: int) -> tuple[str | None, str]:
    """The call starting at ``start`` (up to its balanced closing parenthesis) and what follows."""
    depth, quote, i = 0, "", line.index("(", start)
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return line[start : i + 1], line[i + 1 :]
        i += 1
    return None, ""


def _literal_args(call: str, name: str) -> tuple[Any, ...] | None:
    try:
        node = ast.parse(call.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name) or node.keywords:
        return None
    try:
        return tuple(ast.literal_eval(a) for a in node.args)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return None


def _answer(text: str, doctest: bool) -> Any:
    """``(value, source)`` of the literal answer in ``text``, or :data:`_NO`."""
    text = text.split(" #")[0].strip()
    if not doctest:
        m = _ARROW.match(text)
        if m is None:
            return _NO
        text = m.group(1).strip()
    text = text.rstrip(".;,").strip()
    if not text or text.startswith(">>>"):
        return _NO
    # The whole rest of the line, else the shortest literal before a comma or semicolon
    # (prose goes on: "f(1) == 2, and f(2) == 3").
    cuts = [len(text)] + [m.start() for m in re.finditer(r"[,;]", text)]
    for end in cuts:
        piece = text[:end].strip()
        try:
            return ast.literal_eval(piece), piece
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            continue
    return _NO
