"""The one reader of literal calls, and what each of its users takes from it."""

from __future__ import annotations

import ast

from jupyter_codesearch import Spec
from jupyter_codesearch.generate._examples import examples_from_spec
from jupyter_codesearch.rank._probes import call_arguments
from jupyter_codesearch.spec import LiteralCall, literal_call, literal_calls, planned_calls


def read(call: str, params: tuple[str, ...] = ("a", "b", "c")) -> LiteralCall | None:
    return literal_call(ast.parse(call, mode="eval").body, "f", params)


def spec(tests: str, stub: str = "def f(a, b=0):\n    '''d'''\n") -> Spec:
    return Spec.parse(stub + tests)


def test_literal_arguments_are_read_as_values() -> None:
    call = read("f(1, 'x', [2, (3,)], {'k': {4}}, -5.0, None)", params=())
    assert call == LiteralCall((1, "x", [2, (3,)], {"k": {4}}, -5.0, None), ())


def test_a_keyword_that_fills_the_next_parameter_is_a_position() -> None:
    call = read("f(1, b=2, c=3)")
    assert call is not None and call.args == (1,) and call.kwargs == (("b", 2), ("c", 3))
    assert call.positional == (1, 2, 3)


def test_keywords_out_of_order_or_unknown_or_unpacked_are_not_literal_calls() -> None:
    assert read("f(1, c=3)") is None  # skips b
    assert read("f(b=2, a=1)") is None
    assert read("f(1, z=3)") is None
    assert read("f(1, **{'b': 2})") is None
    assert read("f(*[1, 2])") is None


def test_names_and_expressions_are_not_literals_and_other_functions_are_not_read() -> None:
    assert read("f(x)") is None
    assert read("f(len('a'))") is None
    assert read("g(1)") is None
    assert read("obj.f(1)") is None


def test_every_call_in_tests_and_setup_is_found_nested_ones_too() -> None:
    s = spec("xs = f(1)\nassert f(2) == f(3, b=4)\nassert [f(5)] == [f(y) for y in []]\n")
    assert [c.positional for c in literal_calls(s, s.items)] == [(1,), (2,), (3, 4), (5,)]


def test_probes_seed_from_every_literal_call_hidden_tests_included() -> None:
    tests = "assert f(1) == 2\nassert f(3, b=4) == 7  # hidden\nassert f(x) == 0\n"
    s = spec(tests, "x = 1\ndef f(a, b=0):\n    '''d'''\n")
    assert call_arguments(s) == [(1,), (3, 4)]


def test_examples_use_visible_equalities_with_literal_expected_values_only() -> None:
    s = spec(
        "assert f(1) == 2\n"
        "assert 5 == f(2, b=3)\n"       # the call on the right
        "assert f(3) != 4\n"            # not ==
        "assert f(4) == len('ab')\n"    # expected not a literal
        "assert f(5, 6) == 11  # hidden\n"
    )
    assert examples_from_spec(s) == ([((1,), 2), ((2, 3), 5)], None)


def test_examples_say_why_there_are_none() -> None:
    hidden = spec("assert f(1) == 2  # hidden\n")
    assert examples_from_spec(hidden) == ([], "every test is hidden, so there are no examples to learn from")
    _, why = examples_from_spec(spec("assert f(1) > 0\n"))
    assert why is not None and "assert f(<values>) == <value>" in why


def test_the_plan_is_every_tests_leading_call_in_order() -> None:
    s = spec("y = 3\nassert f(1) == y\nassert not f(2, b=5)\nassert f(0)\n")
    calls = planned_calls(s)
    assert calls is not None and [c.positional for c in calls] == [(1,), (2, 5), (0,)]
    assert calls[1] == LiteralCall((2,), (("b", 5),))  # as written: the kernel calls it so


def test_no_plan_when_any_test_could_make_other_calls() -> None:
    for tests in (
        "assert f(1) == 1\nassert f(2) == f(3)\n",        # two calls in one test
        "assert f(1) == 1\nfor i in range(2):\n    assert f(i) == i\n",  # not a plain assert
        "assert f(1) == 1\nassert 1 == f(1)\n",            # the call is not evaluated first
        "assert f(1) == 1\nassert f(x) == 1\n",            # not literal
        "g = f\nassert f(1) == 1\n",                       # setup touches the function
        "assert f(1) == 1\nassert f(1, c=2) == 1\n",       # a keyword the stub does not have next
    ):
        s = spec(tests, "x = 1\ndef f(a, b=0):\n    '''d'''\n")
        assert planned_calls(s) is None, tests
