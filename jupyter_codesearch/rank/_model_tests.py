"""Model-written tests: test cases a model proposes from the visible spec (CodeT's idea).

Their inputs are in-domain by construction (the model read the docstring); their expected values
are weak evidence — often wrong — so they never judge a candidate. Ranking uses them as CodeT
does: behaviours that many samples share *and* that agree with many model-written tests are
likely right. The request shows only what a model may see (``Spec.public_text``: never a hidden
test).
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings

from ..spec import CallExample, Spec, literal_call

__all__ = ["MAX_MODEL_TESTS", "parse_model_tests", "test_case_prompt"]

MAX_MODEL_TESTS = 60
"""Kept at most per run (each is a probe every passing candidate runs)."""


def test_case_prompt(spec: Spec) -> str:
    """Asks for test cases of the visible spec, as plain asserts with literal values."""
    return (
        f"Here is a Python function stub with some tests:\n\n```python\n{spec.public_text()}```\n\n"
        f"Write 10 more test cases for `{spec.name}`, one per line, each of the form "
        f"`assert {spec.name}(<arguments>) == <expected result>` with literal values only. Cover "
        "typical inputs and edge cases the docstring allows. Reply with the asserts only."
    )


def parse_model_tests(replies: list[str], spec: Spec, limit: int = MAX_MODEL_TESTS) -> list[CallExample]:
    """The ``assert name(<literals>) == <literal>`` lines of the replies (either side may hold
    the call), deduplicated by input: the first answer proposed for an input is kept."""
    out: list[CallExample] = []
    seen: set[str] = set()
    for reply in replies:
        for node in _asserts(reply):
            test = _model_test(node, spec)
            if test is None:
                continue
            key = repr(test.args)
            if key in seen:
                continue
            seen.add(key)
            out.append(test)
            if len(out) == limit:
                return out
    return out


def _model_test(node: ast.Assert, spec: Spec) -> CallExample | None:
    cmp = node.test
    if not (isinstance(cmp, ast.Compare) and len(cmp.ops) == 1 and isinstance(cmp.ops[0], ast.Eq)):
        return None
    for call_node, other in ((cmp.left, cmp.comparators[0]), (cmp.comparators[0], cmp.left)):
        call = literal_call(call_node, spec.name, spec.stub.params)
        if call is None:
            continue
        try:
            expected = ast.literal_eval(other)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
        return CallExample(call.positional, expected, ast.unparse(node))
    return None


_FENCE = re.compile(r"```[a-zA-Z]*\n(.*?)```", re.DOTALL)


def _asserts(reply: str) -> list[ast.Assert]:
    """Every assert statement in a reply: its code blocks, else the reply itself; a block that
    does not parse as a whole is read statement by statement."""
    blocks = _FENCE.findall(reply) or [reply]
    found: list[ast.Assert] = []
    for block in blocks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a model's odd escapes are not our warnings
            try:
                tree = ast.parse(textwrap.dedent(block))
                found += [n for n in tree.body if isinstance(n, ast.Assert)]
                continue
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                pass
            for chunk in re.split(r"\n(?=\s*assert\b)", block):
                try:
                    tree = ast.parse(" ".join(chunk.split()))
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    continue
                found += [n for n in tree.body if isinstance(n, ast.Assert)]
    return found
