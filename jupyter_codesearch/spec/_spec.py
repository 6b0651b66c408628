"""Parse the body of a ``%%search`` cell into a :class:`Spec`.

A cell has three parts, in this order::

    <context: imports, helpers, constants>     optional
    def name(params):                          the stub: the last top-level def before the tests
        \"\"\"docstring\"\"\"
    <tests and setup>                          each top-level assert, call of an ``assert_*`` function
                                               (``pd.testing.assert_frame_equal(f(df), expected)``) or
                                               compound statement holding asserts is a test; anything
                                               else is setup, run in order
    @score                                     optional: a function of the candidate returning a
    def name(f): ...                           number, run on passing candidates (see ``Spec.score``)

Parsing never executes anything: it only reads the AST and the comments.
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import tokenize
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from .._exceptions import SpecError, SpecWarning

__all__ = ["Item", "Spec", "Stub", "score"]

_HIDDEN = re.compile(r"#\s*hidden\b", re.IGNORECASE)
_MAGIC_LINE = re.compile(r"\s*%%search\b")


_F = TypeVar("_F", bound=Callable[..., Any])


def score(fn: _F) -> _F:
    """Marks the cell's score function: ``@score def bins(f): ...`` takes the candidate and returns
    a number (higher is better unless ``--minimize``). The spec finds it by this decorator in the
    cell's text; this function itself does nothing, so the cell also runs as plain Python."""
    return fn


@dataclass(frozen=True)
class Stub:
    """The function to search for, as the user wrote it."""

    name: str
    params: tuple[str, ...]
    """Positional parameter names, in order (what examples bind to)."""
    signature: str
    """The ``def`` line(s) as written, e.g. ``def slugify(title: str) -> str:``."""
    docstring: str | None
    source: str
    """Signature plus docstring, re-indented: what a model is shown."""
    line: int


@dataclass(frozen=True)
class Item:
    """One top-level statement after the stub: a test, or setup run before the tests after it."""

    kind: Literal["test", "setup", "score"]
    """``score``: the ``@score`` function, its source without the decorator (see ``Spec.score``)."""
    source: str
    line: int
    """1-based line of the statement in the cell (after ``line_offset``)."""
    end_line: int
    hidden: bool = False
    """Carries a ``# hidden`` comment: used for verdicts, never shown to a model (a setup line
    so marked, such as a table of hidden cases, is kept from models too)."""


@dataclass(frozen=True)
class Spec:
    """A parsed ``%%search`` cell: context, stub, and the tests that judge candidates."""

    text: str
    context: str
    stub: Stub
    items: tuple[Item, ...]
    warnings: tuple[str, ...] = ()
    line_offset: int = 0
    key: str = field(default="", compare=False)
    """Stable hash of everything that affects verification (used to cache loaded specs)."""
    objects: tuple[tuple[str, bytes], ...] = ()
    """Pickled values (``--use``) bound by name in the context, on both sides of the sandbox."""
    preamble: str = ""
    """Context from outside the cell (imports run earlier in the session); runs before it."""
    score_mode: str = "value"
    """``value``: the score is what the ``@score`` function returns; ``runtime``: the time its
    calls to the candidate take (``--optimize runtime``). See :meth:`optimizing`."""

    def using(self, preamble: str = "", objects: Mapping[str, bytes] | None = None) -> Spec:
        """This spec with session context added: source run first, then pickled objects.

        ``objects`` maps names to pickles (``cloudpickle.dumps(value)``); they are loaded after
        the preamble and before the cell's own context, in the verification kernels and in the
        sandbox, so candidates and tests see the same values.
        """
        objs = tuple(sorted((objects or {}).items()))
        digest = hashlib.sha256(self.key.encode())
        digest.update(preamble.encode())
        for name, blob in objs:
            digest.update(name.encode() + b"\0" + hashlib.sha256(blob).digest())
        return replace(self, preamble=preamble, objects=objs, key=digest.hexdigest()[:16])

    def optimizing(self, mode: str) -> Spec:
        """This spec scored by ``mode`` (``value`` or ``runtime``); the key changes with it, as the
        kernels score by what the spec says."""
        if mode == self.score_mode:
            return self
        digest = hashlib.sha256(f"{self.key}\0score:{mode}".encode())
        return replace(self, score_mode=mode, key=digest.hexdigest()[:16])

    def without_score(self) -> Spec:
        """This spec without its ``@score`` function (its own key): the tests alone, which gate a
        candidate before it is probed and, if its behaviour is new, scored (see ``run._sharing``)."""
        if self.score is None:
            return self
        digest = hashlib.sha256(f"{self.key}\0unscored".encode())
        return replace(self, items=tuple(i for i in self.items if i.kind != "score"), key=digest.hexdigest()[:16])

    @property
    def score(self) -> Item | None:
        """The ``@score`` function: called with the candidate (a proxy, as in the tests) once it
        passes every test; returns a number. ``None`` when the cell has none."""
        return next((i for i in self.items if i.kind == "score"), None)

    @property
    def setup_context(self) -> str:
        """Everything candidates and tests start from, as source: preamble, then the cell's context."""
        return (self.preamble.rstrip() + "\n\n" if self.preamble.strip() else "") + self.context

    @property
    def name(self) -> str:
        """The name of the function being searched for."""
        return self.stub.name

    @property
    def tests(self) -> tuple[Item, ...]:
        """All tests, hidden ones included, in cell order."""
        return tuple(i for i in self.items if i.kind == "test")

    @property
    def visible_tests(self) -> tuple[Item, ...]:
        """The tests a model may see."""
        return tuple(i for i in self.tests if not i.hidden)

    def public_text(self) -> str:
        """The cell as a model may see it: context, stub, setup and visible tests only."""
        parts = [self.context.rstrip(), self.stub.source.rstrip()]
        parts += [i.source for i in self.items if not i.hidden]
        return "\n\n".join(p for p in parts if p).rstrip() + "\n"

    @classmethod
    def parse(cls, text: str, *, line_offset: int = 0) -> Spec:
        """Parse a cell body (without its ``%%search`` line).

        ``line_offset`` is added to every line number reported, so the magic can pass 1 and
        errors point at the line the user sees. A leading ``%%search`` line is tolerated (a spec
        file copied from a cell) and accounted for.
        """
        text = text.replace("\r\n", "\n")
        lines = text.split("\n")
        if lines and _MAGIC_LINE.match(lines[0]):
            lines[0] = ""  # keep line numbers as the user sees them
            text = "\n".join(lines)
        return _parse(text, line_offset)


def _parse(text: str, offset: int) -> Spec:
    body = _read_tree(text, offset).body
    stub_index = _stub_index(body, offset)
    src_lines = text.split("\n")
    stub_node = body[stub_index]
    assert isinstance(stub_node, ast.FunctionDef)
    stub = _make_stub(stub_node, src_lines, offset)

    context_end = stub_node.lineno - 1
    if stub_node.decorator_list:
        context_end = min(d.lineno for d in stub_node.decorator_list) - 1
    context = "\n".join(src_lines[:context_end]).strip("\n")
    context = context + "\n" if context else ""
    items, notes = _items(body[stub_index + 1 :], stub.name, text, offset)
    _compile_parts(context, items, offset)
    digest = hashlib.sha256()
    for part in (context, stub.name, *(f"{i.kind}:{i.line}:{i.source}" for i in items)):
        digest.update(part.encode())
        digest.update(b"\0")
    return Spec(
        text=text,
        context=context,
        stub=stub,
        items=tuple(items),
        warnings=tuple(notes),
        line_offset=offset,
        key=digest.hexdigest()[:16],
    )


def _read_tree(text: str, offset: int) -> ast.Module:
    try:
        with warnings.catch_warnings():
            # e.g. "invalid escape sequence": the user's own code, not ours to warn about
            warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))
            tree = ast.parse(text)
            # What parses may still not compile (`return` or `break` at the top level, top-level
            # `await`, `from __future__ import braces`): said here, not by every kernel later.
            compile(tree, "<cell>", "exec", dont_inherit=True)
            return tree
    except SyntaxError as e:
        raise _syntax_error(e, offset) from None
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes, absurd nesting
        raise SpecError(f"cannot read the cell: {e}") from None


def _stub_index(body: list[ast.stmt], offset: int) -> int:
    """Which statement is the function stub; a clear error when there is no stub or no test."""
    first_test = next((k for k, node in enumerate(body) if _is_test(node)), None)
    if first_test is None:
        stub_hint = next((n.name for n in body if isinstance(n, ast.FunctionDef)), "name")
        raise SpecError(
            f"no tests: add at least one `assert {stub_hint}(...) == ...` after the function stub."
        )
    defs = [k for k in range(first_test) if isinstance(body[k], ast.FunctionDef)]
    # The last def before the tests, unless a helper the tests use comes after the stub: then
    # the last one whose body is only a docstring / `pass` / `...` is the one to search for.
    stubs = [k for k in defs if _is_stub_body(body[k])]  # type: ignore[arg-type]
    if stubs or defs:
        return stubs[-1] if stubs else defs[-1]
    line = body[first_test].lineno + offset
    later_def = next(
        (n for n in body[first_test:] if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))),
        None,
    )
    if later_def is not None:
        raise SpecError(
            f"the function stub `def {later_def.name}(...)` must come before the first test "
            f"(line {line}). Move the asserts below it.",
            later_def.lineno + offset,
        )
    raise SpecError(
        "no function stub: write `def name(args):` with a docstring saying what it should do, "
        "above the asserts.",
        line,
    )


def _segment(node: ast.stmt, src_lines: list[str]) -> str:
    # Exact columns, not whole lines: `a = 1; assert f(a)` holds two statements on one line.
    start: ast.stmt | ast.expr = node
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.decorator_list:
        start = node.decorator_list[0]
    first, last = start.lineno, node.end_lineno or node.lineno
    chunk = src_lines[first - 1 : last]
    end_col = node.end_col_offset if node.end_col_offset is not None else len(chunk[-1])
    chunk[-1] = chunk[-1][: _char_col(chunk[-1], end_col)]
    chunk[0] = chunk[0][_char_col(chunk[0], start.col_offset) :]
    if isinstance(start, ast.expr):  # a decorator: keep its `@`
        chunk[0] = "@" + chunk[0]
    return "\n".join(chunk)


def _items(after_stub: list[ast.stmt], name: str, text: str, offset: int) -> tuple[list[Item], list[str]]:
    """The tests and setup after the stub, and notes on tests that never call the function."""
    hidden_lines = _hidden_comment_lines(text)
    src_lines = text.split("\n")
    items: list[Item] = []
    notes: list[str] = []
    # Names whose value depends on the function: results of calls (`r = f(x)`) and arguments it
    # may mutate in place (`f(data)`). A test checking one of them does exercise the function.
    touched = {name}
    for node in after_stub:
        end = node.end_lineno or node.lineno
        source = _segment(node, src_lines)
        hidden = any(ln in hidden_lines for ln in range(node.lineno, end + 1))
        if _is_score(node):
            items.append(_score_item(node, src_lines, offset, hidden, items))
        elif _is_test(node):
            items.append(Item("test", source, node.lineno + offset, end + offset, hidden))
            if not any(_mentions(node, n) for n in touched):
                note = (
                    f"line {node.lineno + offset}: this test never calls `{name}`, so every "
                    "candidate passes or fails it alike."
                )
                notes.append(note)
                warnings.warn(note, SpecWarning, stacklevel=4)
        else:
            items.append(Item("setup", source, node.lineno + offset, end + offset, hidden))
            if any(_mentions(node, n) for n in touched):
                touched |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return items, notes


def _syntax_error(e: SyntaxError, offset: int) -> SpecError:
    line = (e.lineno or 1) + offset
    shown = (e.text or "").strip()
    where = f": `{shown}`" if shown else ""
    return SpecError(f"syntax error, {e.msg}{where}. Fix the cell and run it again.", line)


def _compile_parts(context: str, items: list[Item], offset: int) -> None:
    """Each part compiles on its own too, as the kernel compiles it (a `from __future__` import
    is allowed only at the top of what is compiled)."""
    parts = [(context, offset), *((i.source, i.line - 1) for i in items)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))
        for source, at in parts:
            try:
                compile(source, "<cell>", "exec", dont_inherit=True)
            except SyntaxError as e:
                raise _syntax_error(e, at) from None
            except (ValueError, RecursionError, MemoryError) as e:
                raise SpecError(f"cannot read the cell: {e}", at + 1) from None


def _is_score(node: ast.stmt) -> bool:
    """``@score`` (or ``@<module>.score``) on a top-level function after the stub.

    A decorator, not a comment: it is in the tree the spec is read from (a comment is not),
    and ``from jupyter_codesearch import score`` makes the same cell run as plain Python."""
    return isinstance(node, ast.FunctionDef) and any(
        (isinstance(d, ast.Name) and d.id == "score") or (isinstance(d, ast.Attribute) and d.attr == "score")
        for d in node.decorator_list
    )


def _score_item(node: ast.stmt, src_lines: list[str], offset: int, hidden: bool, items: list[Item]) -> Item:
    assert isinstance(node, ast.FunctionDef)
    line = node.lineno + offset
    if any(i.kind == "score" for i in items):
        raise SpecError("more than one @score function: keep one (it returns the number to optimise).", line)
    if len(node.decorator_list) != 1:
        raise SpecError(f"the score function `{node.name}` takes no decorator but @score.", line)
    if not (node.args.posonlyargs or node.args.args):
        raise SpecError(f"the score function `{node.name}` must take the candidate function as its argument, "
                        f"e.g. `def {node.name}(f):`.", line)
    end = node.end_lineno or node.lineno
    source = "\n".join(src_lines[node.lineno - 1 : end])
    return Item("score", source, line, end + offset, hidden)


def _is_stub_body(node: ast.FunctionDef) -> bool:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return all(
        isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                    and s.value.value is Ellipsis)
        for s in body
    )


def _make_stub(node: ast.FunctionDef, src_lines: list[str], offset: int) -> Stub:
    args = node.args
    params = tuple(a.arg for a in (*args.posonlyargs, *args.args))
    first = node.body[0]
    if first.lineno == node.lineno:  # `def f(x: int) -> int: ...` on one line
        line = src_lines[node.lineno - 1]
        signature = line[: _char_col(line, first.col_offset)].rstrip()
    else:
        signature = "\n".join(src_lines[node.lineno - 1 : first.lineno - 1]).rstrip()
    doc = ast.get_docstring(node)
    source = signature
    if doc is not None and first.lineno == node.lineno:
        source += "\n    " + repr(doc)
    elif doc is not None:
        source += "\n" + "\n".join(src_lines[first.lineno - 1 : (first.end_lineno or first.lineno)])
    else:
        source += "\n    ..."
    return Stub(
        name=node.name,
        params=params,
        signature=signature,
        docstring=doc,
        source=source + "\n",
        line=node.lineno + offset,
    )


def _char_col(line: str, byte_col: int) -> int:
    """ast columns count UTF-8 bytes; slicing needs characters."""
    return len(line.encode()[:byte_col].decode(errors="ignore"))


def _is_test(node: ast.stmt) -> bool:
    if isinstance(node, ast.Assert) or _is_assert_call(node):
        return True
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return False  # a helper that asserts is setup, not a test
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


def _is_assert_call(node: ast.stmt) -> bool:
    """A top-level call of an ``assert_*`` function (``np.testing.assert_allclose(f(a), b)``,
    ``pd.testing.assert_frame_equal(f(df), expected)``): a test, as the data libraries write them."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    func = node.value.func
    called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return called.startswith("assert_")


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _hidden_comment_lines(text: str) -> set[int]:
    lines: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT and _HIDDEN.match(tok.string):
                lines.add(tok.start[0])
    except (tokenize.TokenError, SyntaxError):  # already parsed by ast; be lenient
        pass
    return lines
