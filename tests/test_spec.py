from __future__ import annotations

import warnings

import pytest

from jupyter_codesearch import CodeSearchError, SpecError, SpecWarning
from jupyter_codesearch.spec import Spec

SLUGIFY = '''import re

def helper(s):
    return s

def slugify(title: str) -> str:
    """Lowercase, words joined by '-', punctuation dropped."""

words = ["a"]
assert slugify("Hello, World!") == "hello-world"
assert slugify("  Many   spaces ") == "many-spaces"
assert slugify("Ünïcode") == "unicode"   # hidden
for w in words:
    assert slugify(w) == w
'''


def test_parse_splits_context_stub_setup_and_tests() -> None:
    spec = Spec.parse(SLUGIFY)
    assert spec.context == "import re\n\ndef helper(s):\n    return s\n"
    assert spec.name == "slugify"
    assert spec.stub.params == ("title",)
    assert spec.stub.signature == "def slugify(title: str) -> str:"
    assert spec.stub.docstring == "Lowercase, words joined by '-', punctuation dropped."
    assert [i.kind for i in spec.items] == ["setup", "test", "test", "test", "test"]
    assert spec.items[0].source == 'words = ["a"]'
    assert spec.tests[3].source == "for w in words:\n    assert slugify(w) == w"
    assert [t.line for t in spec.tests] == [10, 11, 12, 13]


def test_hidden_comment_marks_a_test_hidden_and_keeps_it_out_of_public_text() -> None:
    spec = Spec.parse(SLUGIFY)
    assert [t.hidden for t in spec.tests] == [False, False, True, False]
    assert len(spec.visible_tests) == 3
    assert "Ünïcode" not in spec.public_text()
    assert "Hello, World!" in spec.public_text()


def test_a_hidden_comment_anywhere_in_a_multiline_test_hides_it() -> None:
    spec = Spec.parse('def f(x):\n    """d"""\n\nassert f(\n    1\n) == 2  # hidden\n')
    assert spec.tests[0].hidden


def test_stub_body_beyond_the_docstring_is_ignored() -> None:
    # HumanEval/115 has an import inside the stub.
    spec = Spec.parse('def f(x):\n    import math\n    """Doc."""\n\nassert f(1) == 1\n')
    assert spec.name == "f"
    assert spec.stub.docstring is None  # the string is not the first statement
    spec = Spec.parse('def f(x):\n    """Doc."""\n    import math\n\nassert f(1) == 1\n')
    assert spec.stub.docstring == "Doc."
    assert "import math" not in spec.stub.source


def test_stub_is_the_last_def_before_the_tests() -> None:
    spec = Spec.parse("def a(x):\n    return x\n\ndef b(y):\n    '''B.'''\n\nassert b(a(1)) == 1\n")
    assert spec.name == "b"
    assert "def a" in spec.context


def test_line_offset_counts_the_magic_line() -> None:
    with pytest.raises(SpecError) as err:
        Spec.parse("def f(x):\n    '''d'''\nassert f(1) = 2\n", line_offset=1)
    assert err.value.line == 4
    assert "line 4" in str(err.value)


def test_a_leading_magic_line_is_tolerated_and_counted() -> None:
    spec = Spec.parse("%%search -n 4\ndef f(x):\n    '''d'''\nassert f(1) == 2\n")
    assert spec.name == "f"
    assert spec.tests[0].line == 4


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("def f(x):\n    '''d'''\nassert f(1) = 2\n", 3, "syntax error"),
        ("x = 1\nassert x == 1\n", 2, "no function stub"),
        ("def f(x):\n    '''d'''\n", None, "no tests"),
        ("assert f(1) == 2\ndef f(x):\n    '''d'''\n", 2, "must come before"),
        ("", None, "no tests"),
    ],
)
def test_spec_errors_name_the_line_and_the_fix(text: str, line: int | None, words: str) -> None:
    with pytest.raises(SpecError) as err:
        Spec.parse(text)
    assert err.value.line == line
    assert words in str(err.value)
    assert isinstance(err.value, CodeSearchError)


def test_an_assert_that_never_calls_the_function_is_a_warning() -> None:
    with pytest.warns(SpecWarning, match="never calls `f`"):
        spec = Spec.parse("def f(x):\n    '''d'''\nassert 1 == 1\nassert f(1) == 1\n")
    assert len(spec.tests) == 2
    assert "line 3" in spec.warnings[0]


def test_key_changes_with_tests_but_not_with_the_docstring() -> None:
    a = Spec.parse("def f(x):\n    '''one'''\nassert f(1) == 1\n")
    b = Spec.parse("def f(x):\n    '''two'''\nassert f(1) == 1\n")
    c = Spec.parse("def f(x):\n    '''one'''\nassert f(1) == 2\n")
    assert a.key == b.key
    assert a.key != c.key


def test_two_statements_on_one_line_are_split() -> None:
    spec = Spec.parse("def f(x):\n    '''d'''\na = 1; assert f(a) == 2\n")
    assert [(i.kind, i.source) for i in spec.items] == [("setup", "a = 1"), ("test", "assert f(a) == 2")]


def test_compound_statements_with_asserts_are_single_tests() -> None:
    spec = Spec.parse(
        "def f(x):\n    '''d'''\n"
        "with open('x') as fh:\n    assert f(fh)\n"
        "if True:\n    assert f(1)\n"
        "try:\n    f(-1)\n    assert False\nexcept ValueError:\n    pass\n"
    )
    assert [i.kind for i in spec.items] == ["test", "test", "test"]


def test_asserts_on_values_the_function_touched_do_not_warn() -> None:
    text = "def f(xs):\n    '''d'''\ndata = [2, 1]\nf(data)\nassert data == [1, 2]\nr = f([3])\nassert r is None\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = Spec.parse(text)
    assert spec.warnings == ()


def test_a_helper_the_tests_use_after_the_stub_does_not_become_the_stub() -> None:
    spec = Spec.parse(
        'def sort_list(xs):\n    """Sort."""\n\n'
        "def is_sorted(xs):\n    return all(a <= b for a, b in zip(xs, xs[1:]))\n\n"
        "assert is_sorted(sort_list([3, 1, 2]))\n"
    )
    assert spec.name == "sort_list"
    assert spec.items[0].kind == "setup" and spec.items[0].source.startswith("def is_sorted")


def test_one_line_stubs_keep_their_annotated_signature() -> None:
    spec = Spec.parse("def f(x: int) -> int: ...\nassert f(1) == 1\n")
    assert spec.stub.signature == "def f(x: int) -> int:"
    spec = Spec.parse("def f(x: int) -> int: 'Double it.'\nassert f(1) == 2\n")
    assert spec.stub.source == "def f(x: int) -> int:\n    'Double it.'\n"


def test_hidden_setup_lines_stay_out_of_what_models_see() -> None:
    spec = Spec.parse(
        "def f(x):\n    '''d'''\ncases = [(10, 11)]  # hidden\nfor a, b in cases:\n    assert f(a) == b\n"
    )
    assert spec.items[0].hidden
    assert "(10, 11)" not in spec.public_text()
