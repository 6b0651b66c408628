"""Examples read from a stub's docstring, in the forms people write them."""

from __future__ import annotations

from jupyter_codesearch.spec._examples_doc import docstring_examples

DOC = '''Count the vowels.

>>> vowels("banana")
3
>>> vowels('')
0
Also vowels("sky") == 0, and vowels("AEIOU") -> 5.
    vowels("queue") should return 4.
    vowels("x y") ➞ 0
    vowels(some_variable) == 2
    vowels("odd") == the number of vowels
    vowels("tree") returns 2 # two e's
'''


def test_every_common_form_of_example_is_read_with_its_answer() -> None:
    found = [(e.args, e.expected) for e in docstring_examples(DOC, "vowels")]
    assert found == [(("banana",), 3), (("",), 0), (("sky",), 0), (("AEIOU",), 5), (("queue",), 4),
                     (("x y",), 0), (("tree",), 2)]


def test_examples_that_do_not_read_cleanly_are_left_out() -> None:
    assert docstring_examples("f(1) = 1 + 2 = 3\nf([1, 2) == 3\nf(2) is unclear", "f") == []
    assert docstring_examples("g(1) == 2", "f") == [] and docstring_examples(None, "f") == []
    assert [e.source for e in docstring_examples(">>> f(1, 'a')\n    'b'", "f")] == ["f(1, 'a') == 'b'"]
