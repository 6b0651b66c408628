"""The synthesizer's conditionals, truth-valued answers and simplicity prior (tasks of our own)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from jupyter_codesearch.generate._synth import synthesize
from jupyter_codesearch.generate._synth_cond import Branches, Conditionals
from jupyter_codesearch.generate._synth_nodes import Leaf, Node
from jupyter_codesearch.generate._synth_ops import OPS
from jupyter_codesearch.generate._synth_prior import prior

Example = tuple[tuple[object, ...], object]


def _compile(source: str, name: str = "f") -> Callable[..., object]:
    ns: dict[str, object] = {}
    exec(compile(source, "<synthesized>", "exec"), ns)  # our own generated code
    fn = ns[name]
    assert callable(fn)
    return fn


def _first(examples: Sequence[Example], params: Sequence[str], limit: float = 10.0) -> str:
    programs = list(synthesize(examples, params, "f", time_limit=limit, max_programs=1))
    assert programs, "no program found"
    return programs[0]


def _passes(source: str, examples: Sequence[Example]) -> bool:
    fn = _compile(source)
    return all(fn(*args) == out for args, out in examples)


# ---------------------------------------------------------------------------------------------
# three branches, learnt by splitting the examples


def _bits(*on: int, n: int = 6) -> tuple[bool, ...]:
    return tuple(i in on for i in range(n))


def test_two_conditions_make_three_branches_when_no_single_split_does() -> None:
    # examples 0-1 want a, 2-3 want b, 4-5 want d; no value covers two of the groups
    target = ("a0", "a1", "b2", "b3", "d4", "d5")
    cond = Conditionals(6, target)
    a, b, d = Leaf("a"), Leaf("b"), Leaf("d")
    cond.note_partial(("a0", "a1", "x", "x", "x", "x"), a, 1)
    cond.note_partial(("x", "x", "b2", "b3", "x", "x"), b, 1)
    cond.note_partial(("x", "x", "x", "x", "d4", "d5"), d, 1)
    c1, c2 = Leaf("c1"), Leaf("c2")
    cond.note_bool(_bits(0, 1), c1, 1)  # separates group a
    cond.note_bool(_bits(2, 3, 0), c2, 1)  # on what is left, separates group b
    assert cond.take(None) == []  # no two-branch program exists
    cond.plan_three(50)
    plans = cond.take(None)
    assert plans, "no three-branch program"
    weight, plan = plans[0]
    assert [v for _, v in plan.arms] == [a, b] and plan.default is d
    assert plan.arms[0][0] is c1 and plan.arms[1][0] is c2
    assert weight >= 2 + 5  # two ifs, five parts, and the prior for the extra branch


def test_three_branches_need_enough_examples_to_be_more_than_a_fit() -> None:
    target = ("a0", "b1", "d2")
    cond = Conditionals(3, target)
    for i, v in enumerate(("a", "b", "d")):
        vec = tuple(target[j] if j == i else "x" for j in range(3))
        cond.note_partial(vec, Leaf(v), 1)
    cond.note_bool((True, False, False), Leaf("c1"), 1)
    cond.note_bool((False, True, False), Leaf("c2"), 1)
    cond.plan_three(50)
    assert cond.take(None) == []


def test_a_three_way_task_generalises() -> None:
    # mail addresses give the user, paths their last part, anything else is shouted
    train = [
        (("joe@x.org",), "joe"),
        (("usr/bin/py",), "py"),
        (("hello",), "HELLO"),
        (("ann@mail.com",), "ann"),
        (("a/b",), "b"),
        (("Zed",), "ZED"),
        (("kim@q.io",), "kim"),
    ]
    src = _first(train, ["s"], limit=15)
    # a conditional, or a trick of the same meaning (the split itself is tested above)
    assert _passes(src, [(("bo@c.de",), "bo"), (("var/log",), "log"), (("quiet",), "QUIET")])


# ---------------------------------------------------------------------------------------------
# truth-valued answers


def test_a_predicate_joined_with_and() -> None:
    train = [
        (("1234",), True),
        (("12",), False),
        (("abcde",), False),
        (("98765",), True),
        (("7a7a7",), False),
        (("555",), False),
        (("ab345",), False),
    ]
    src = _first(train, ["code"])
    assert _passes(src, [(("0000",), True), (("x1234",), False), (("99",), False)])


def test_a_predicate_over_two_parameters() -> None:
    train = [
        (("Anna", "Al"), True),
        (("Bob", "Carl"), False),
        (("dora", "dave"), True),
        (("Eve", "frank"), False),
        (("Mo", "Mike"), True),
    ]
    src = _first(train, ["a", "b"])
    assert _passes(src, [(("Zoe", "Zack"), True), (("Ian", "Jon"), False)])


def test_and_or_not_only_where_the_answer_is_a_truth_value() -> None:
    logic = {op.name for op in OPS if op.logic}
    assert {"and", "or_b", "not"} <= logic
    train = [(("a b",), "b"), (("c d",), "d")]
    src = _first(train, ["s"])
    assert " and " not in src and " not " not in src


# ---------------------------------------------------------------------------------------------
# the simplicity prior


def _op(name: str) -> object:
    return next(op for op in OPS if op.name == name)


def test_prior_holds_back_programs_that_ignore_a_parameter() -> None:
    plain = Branches((), Leaf("a"))
    assert prior(plain, ["a"]) == 0
    assert prior(plain, ["a", "b"]) > 0


def test_prior_holds_back_a_computed_separator() -> None:
    split_on = _op("before_first")
    lower = _op("lower")
    s, dash = Leaf("s"), Leaf("'-'", value="-")
    on_literal = Node(split_on, (s, dash))  # type: ignore[arg-type]
    on_computed = Node(split_on, (s, Node(lower, (s,))))  # type: ignore[arg-type]
    assert prior(Branches((), on_literal), ["s"]) == 0
    assert prior(Branches((), on_computed), ["s"]) > 0


def test_a_program_that_reads_every_parameter_comes_first() -> None:
    # the one example lets "the first input minus its last word" pass, but the task is
    # "remove the second input from the first"
    train = [(("Order 7 X-1-B", "X-1-B"), "Order 7")]
    src = _first(train, ["line", "code"])
    assert "code" in src.split("\n", 1)[1]
    assert _passes(src, [(("Ship 9 Q-2", "Q-2"), "Ship 9")])


# ---------------------------------------------------------------------------------------------
# labels and numbers written as text


def test_an_output_several_inputs_share_is_a_label_a_condition_can_choose() -> None:
    train = [(("",), "missing"), (("ab",), "AB"), (("",), "missing"), (("cd",), "CD")]
    src = _first(train, ["code"])
    assert "'missing'" in src
    assert _passes(src, [(("",), "missing"), (("xy",), "XY")])


def test_an_output_seen_once_is_never_spelled_out() -> None:
    train = [(("",), "none"), (("ab",), "AB"), (("cd",), "CD")]
    for src in synthesize(train, ["code"], "f", time_limit=3, max_programs=3):
        assert "'none'" not in src


def test_whole_numbers_written_as_text_get_arithmetic() -> None:
    train = [(("9",), True), (("10",), False), (("12",), True), (("4",), False), (("33",), True)]
    src = _first(train, ["n"])
    assert _passes(src, [(("21",), True), (("22",), False), (("300",), True)])


def test_text_that_part_of_the_outputs_share_is_a_branch_constant() -> None:
    from jupyter_codesearch.generate._synth_problem import SynthOptions, prepare, string_constants

    outs = ["9 o'clock sharp", "2 past noon", "11 o'clock sharp", "8 past noon", "3 o'clock sharp"]
    prob = prepare([((o.split()[0],), o) for o in outs], ["h"], "f")
    consts = string_constants(prob, SynthOptions())
    assert " o'clock sharp" in consts and " past noon" in consts
    once = prepare([(("1",), "1 am"), (("2",), "2 pm"), (("3",), "3 xm"), (("4",), "4 ym")], ["h"], "f")
    assert not any(c.endswith("m") and len(c) > 1 for c in string_constants(once, SynthOptions()))


def test_picking_one_of_the_gathered_parameters_reads_only_that_one() -> None:
    index = _op("index_ls")
    gathered = Leaf("[a, b, c]")
    pick = Node(index, (gathered, Leaf("1", value=1)))  # type: ignore[arg-type]
    assert prior(Branches((), pick), ["a", "b", "c"]) > 0
    join = Node(_op("join"), (Leaf("', '", value=", "), gathered))  # type: ignore[arg-type]
    assert prior(Branches((), join), ["a", "b", "c"]) == 0
