"""Turning model replies into candidate source, and merging duplicates."""

from __future__ import annotations

import pytest

from jupyter_codesearch.generate._extract import extract, program_key

FENCED = "Here you go:\n```python\nimport re\n\ndef f(x):\n    return re.sub('a', '', x)\n```\nHope it helps."


@pytest.mark.parametrize(
    ("reply", "code", "reason"),
    [
        (FENCED, "import re\n\ndef f(x):\n    return re.sub('a', '', x)\n", None),
        ("def f(x):\n    return x\n\nThis works because it returns x.", "def f(x):\n    return x\n", None),
        ("Sure! The answer depends on the input.", None, "no code in the reply"),
        ("```python\ndef f(x)\n    return x\n```", None, "syntax error in the code"),
        ("```python\ndef g(x):\n    return x\n```", None, "the code does not define `f`"),
        ("```js\nfunction f(x) { return x }\n```", None, "no code in the reply"),
    ],
)
def test_replies_give_code_or_a_reason(reply: str, code: str | None, reason: str | None) -> None:
    got = extract(reply, "f")
    assert (got.code, got.reason) == (code, reason)


def test_helpers_and_imports_in_other_blocks_are_kept_but_example_usage_is_not() -> None:
    reply = (
        "```python\nimport re\n```\n```python\ndef _norm(s):\n    return re.sub('x', '', s)\n```\n"
        "```python\ndef f(t):\n    return _norm(t)\n```\n```python\nprint(f('axb'))\nassert f('x') == ''\n```"
    )
    code = extract(reply, "f").code
    assert code is not None
    assert "import re" in code and "def _norm" in code and "print(" not in code and "assert" not in code
    namespace: dict[str, object] = {}
    exec(code, namespace)
    assert namespace["f"]("axb") == "ab"  # type: ignore[operator]


def test_formatting_comments_and_docstrings_do_not_make_a_new_program() -> None:
    a = "def f(x):\n    '''Doc.'''\n    return x + 1  # plus one\n"
    b = "def f(x):\n\n    return (x + 1)\n"
    c = "def f(x):\n    return x + 2\n"
    assert program_key(a) == program_key(b) != program_key(c)
