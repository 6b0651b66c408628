"""Behaviour of the offline enumerative synthesizer (programming by example)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

import pytest

from jupyter_codesearch._exceptions import CodeSearchError
from jupyter_codesearch.generate._synth import SynthProgress, SynthUnsupported, synthesize

Example = tuple[tuple[object, ...], object]


def _compile(source: str, name: str) -> Callable[..., object]:
    ns: dict[str, object] = {}
    exec(compile(source, "<synthesized>", "exec"), ns)  # our own generated code
    fn = ns[name]
    assert callable(fn)
    return fn


def _passes(source: str, name: str, examples: Sequence[Example]) -> bool:
    fn = _compile(source, name)
    return all(fn(*args) == out for args, out in examples)


def _first(examples: Sequence[Example], params: Sequence[str], name: str = "f", limit: float = 10.0) -> str:
    programs = list(synthesize(examples, params, name, time_limit=limit, max_programs=1))
    assert programs, "no program found"
    return programs[0]


def _no_literal_examples(source: str, examples: Sequence[Example]) -> None:
    """A program must not spell out example inputs or outputs (that is a lookup table)."""
    for args, out in examples:
        for v in (*args, out):
            if isinstance(v, str) and len(v) >= 2:
                assert repr(v) not in source, f"{v!r} copied into\n{source}"


# ---------------------------------------------------------------------------------------------
# finds programs that generalise


def test_string_task_generalises_to_unseen_inputs() -> None:
    train = [(("hello world",), "HELLO"), (("good morning all",), "GOOD"), (("yes",), "YES")]
    src = _first(train, ["text"])
    assert src.startswith("def f(text):\n")
    assert _passes(src, "f", train)
    assert _passes(src, "f", [(("python is fun",), "PYTHON"), (("a b",), "A")])
    _no_literal_examples(src, train)


def test_output_literal_shared_by_all_outputs_is_used_as_a_constant() -> None:
    train = [
        (("Nancy FreeHafer",), "Dr. Nancy"),
        (("Andrew Cencici",), "Dr. Andrew"),
        (("Jan Kotas",), "Dr. Jan"),
    ]
    src = _first(train, ["name"])
    assert "'Dr. '" in src
    assert _passes(src, "f", [(("Mary Major",), "Dr. Mary")])


def test_integer_task() -> None:
    train = [((3, 4), 1), ((10, 2), 8), ((5, 5), 0), ((1, 7), 6)]
    src = _first(train, ["a", "b"])
    assert _passes(src, "f", train)
    assert _passes(src, "f", [((100, 1), 99), ((0, 9), 9)])


def test_list_task_with_a_comprehension() -> None:
    train = [
        ((["ab", "cd"],), ["AB", "CD"]),
        ((["x"],), ["X"]),
        ((["hi", "yo", "ok"],), ["HI", "YO", "OK"]),
    ]
    src = _first(train, ["words"])
    assert " for " in src
    assert _passes(src, "f", [((["new", "one"],), ["NEW", "ONE"]), (([],), [])])


def test_list_reduction() -> None:
    train = [(([3, 1, 2],), 3), (([5, 9],), 9), (([-4, -2, -8],), -2)]
    src = _first(train, ["xs"])
    assert _passes(src, "f", [(([7, 70, 0],), 70)])


def test_task_that_needs_a_conditional() -> None:
    train = [
        (("123", "x"), "123"),
        (("ab", "yy"), "yy"),
        (("7", "zz"), "7"),
        (("q1", "w"), "w"),
    ]
    src = _first(train, ["a", "b"])
    assert "if " in src
    assert _passes(src, "f", [(("42", "k"), "42"), (("abc", "d"), "d")])
    _no_literal_examples(src, train)


def test_float_task() -> None:
    train = [((1.5,), 3.0), ((2.25,), 4.5), ((-1.0,), -2.0)]
    src = _first(train, ["x"])
    assert _passes(src, "f", [((10.0,), 20.0)])


def test_bool_output() -> None:
    train = [(("a@b.com",), True), (("nobody",), False), (("x@y",), True), (("z",), False)]
    src = _first(train, ["s"])
    assert _passes(src, "f", [(("me@here",), True), (("plain",), False)])


def test_tuple_outputs_come_back_as_tuples() -> None:
    train = [(("a,b",), ("a", "b")), (("x,y,z",), ("x", "y", "z"))]
    src = _first(train, ["s"])
    fn = _compile(src, "f")
    assert fn("p,q") == ("p", "q")


def test_regex_programs_import_what_they_use() -> None:
    train = [(("a1b22c333",), ["1", "22", "333"]), (("x9",), ["9"]), (("no",), [])]
    src = _first(train, ["s"])
    assert _passes(src, "f", train)  # runs in an empty namespace: imports are inside


# ---------------------------------------------------------------------------------------------
# ordering and variety


def test_first_program_is_the_smallest() -> None:
    train = [(("abc",), "ABC"), (("Hello",), "HELLO")]
    assert _first(train, ["s"]) == "def f(s):\n    return s.upper()\n"


def test_identity_is_found_without_search() -> None:
    train = [(("abc",), "abc"), (("x y",), "x y")]
    assert _first(train, ["s"]) == "def f(s):\n    return s\n"


def test_several_distinct_programs_come_out_smallest_first() -> None:
    train = [(("John Smith",), "John"), (("Ada Lovelace",), "Ada"), (("Alan Turing",), "Alan")]
    programs = list(synthesize(train, ["full"], "first", time_limit=10, max_programs=4))
    assert len(programs) == 4
    assert len(set(programs)) == 4
    for src in programs:
        assert _passes(src, "first", train)
    sizes = [len(p) for p in programs]
    assert sizes[0] == min(sizes)


def test_output_is_deterministic() -> None:
    train = [(("a-b",), "b"), (("cc-dd",), "dd"), (("x-yy-z",), "z")]
    one = list(synthesize(train, ["s"], "f", time_limit=10, max_programs=3))
    two = list(synthesize(train, ["s"], "f", time_limit=10, max_programs=3))
    assert one == two


_DETERMINISM_SCRIPT = """
from jupyter_codesearch.generate._synth import synthesize
train = [(("a-b c",), "B"), (("cc-dd e",), "DD"), (("x-yy z",), "YY")]
for p in synthesize(train, ["s"], "f", time_limit=10, max_programs=4):
    print(p)
"""


def test_output_does_not_depend_on_the_hash_seed() -> None:
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", _DETERMINISM_SCRIPT],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        )
        outs.append(run.stdout)
    assert outs[0] == outs[1]
    assert outs[0].count("def f") == 4


def test_parameter_names_do_not_clash_with_comprehension_variables() -> None:
    train = [((["ab", "cd"],), ["AB", "CD"]), ((["x"],), ["X"])]
    src = _first(train, ["x"])
    assert _passes(src, "f", [((["q", "r"],), ["Q", "R"])])


# ---------------------------------------------------------------------------------------------
# never a lookup table


def test_arbitrary_mapping_gives_no_lookup_table() -> None:
    train = [(("cat",), "meow"), (("dog",), "woof"), (("cow",), "moo")]
    programs = list(synthesize(train, ["animal"], "sound", time_limit=1.5, max_programs=3))
    for src in programs:  # anything that comes out must be a rule, not the table
        _no_literal_examples(src, train)
        assert "==" not in src or "'" not in src.split("==")[1][:3]


def test_an_input_shared_by_all_others_is_not_a_literal_to_compare_with() -> None:
    # 'x y' is a substring of every input, so it would be mined as a delimiter; as a literal it
    # would allow `if s == 'x y':`, a lookup of the first example
    train = [(("x y",), "X Y"), (("ax y",), "ax y"), (("cx y",), "cx y"), (("bx y",), "bx y")]
    for src in synthesize(train, ["s"], "f", time_limit=2, max_programs=3):
        assert "'x y'" not in src


def test_constant_outputs_are_not_copied_whole() -> None:
    train = [(("Park Kim",), "Kim"), (("Lee Kim",), "Kim")]
    src = _first(train, ["name"])
    assert "'Kim'" not in src
    assert _passes(src, "f", [(("Ann Lee",), "Lee")])


# ---------------------------------------------------------------------------------------------
# refusing, stopping, reporting


def test_no_examples_is_unsupported_with_a_one_line_reason() -> None:
    with pytest.raises(SynthUnsupported) as info:
        synthesize([], ["x"], "f")
    msg = str(info.value)
    assert "example" in msg
    assert "\n" not in msg
    assert isinstance(info.value, CodeSearchError)


@pytest.mark.parametrize(
    ("value", "word"),
    [({"a": 1}, "dict"), (None, "NoneType"), ([[1], [2]], "list"), (object(), "object")],
)
def test_values_that_are_not_plain_data_are_unsupported(value: object, word: str) -> None:
    with pytest.raises(SynthUnsupported) as info:
        synthesize([((value,), 1), ((value,), 2)], ["x"], "f")
    msg = str(info.value)
    assert word in msg
    assert "\n" not in msg


def test_unsupported_is_raised_before_anything_is_yielded() -> None:
    # raised by the call itself, so a caller never gets a half-started iterator
    with pytest.raises(SynthUnsupported):
        synthesize([(("a",), {"no": "dicts"})], ["s"], "f")


def test_mixed_types_across_examples_are_unsupported() -> None:
    with pytest.raises(SynthUnsupported, match="mixed types"):
        synthesize([(("a",), "b"), ((1,), "c")], ["s"], "f")


@pytest.mark.parametrize(("params", "name"), [(["class"], "f"), (["s"], "def"), (["a", "a"], "f"), (["a b"], "f")])
def test_unusable_names_are_unsupported(params: list[str], name: str) -> None:
    with pytest.raises(SynthUnsupported):
        synthesize([(("x",) * len(params), "y")], params, name)


def test_wrong_argument_count_is_unsupported() -> None:
    with pytest.raises(SynthUnsupported, match="takes 2"):
        synthesize([(("a",), "b")], ["s", "t"], "f")


_HARD = [(("alpha",), "q"), (("beta",), "zz"), (("gamma",), "k"), (("delta",), "pp")]


def test_time_limit_is_honoured() -> None:
    t0 = time.monotonic()
    list(synthesize(_HARD, ["s"], "f", time_limit=0.5, max_programs=1))
    assert time.monotonic() - t0 < 1.5


def test_should_stop_is_honoured_promptly() -> None:
    t0 = time.monotonic()
    stop_at = t0 + 0.3
    out = list(synthesize(_HARD, ["s"], "f", time_limit=30, should_stop=lambda: time.monotonic() > stop_at))
    assert out == []
    assert time.monotonic() - t0 < 1.0


def test_progress_is_reported() -> None:
    seen: list[SynthProgress] = []
    list(synthesize(_HARD, ["s"], "f", time_limit=0.8, on_progress=seen.append))
    assert seen
    assert all(isinstance(p, SynthProgress) for p in seen)
    explored = [p.explored for p in seen]
    assert explored == sorted(explored)
    assert explored[-1] > 0
    assert seen[-1].size >= 1


def test_progress_counts_emitted_programs() -> None:
    seen: list[SynthProgress] = []
    train = [(("abc",), "ABC"), (("Hello",), "HELLO")]
    progs = list(synthesize(train, ["s"], "f", max_programs=2, on_progress=seen.append))
    assert seen[-1].programs == len(progs) == 2


def test_huge_values_do_not_blow_up() -> None:
    train = [((10**15, "ab"), "ab" * 3), ((7, "xyz"), "xyz" * 3)]
    t0 = time.monotonic()
    src = _first(train, ["n", "s"], limit=5)
    assert time.monotonic() - t0 < 5.5
    assert _passes(src, "f", [((1, "q"), "qqq")])


def test_time_limit_holds_on_big_inputs() -> None:
    # every op is a pass over ~200 kB here, and replace/join could grow it quadratically
    big = "lorem ipsum dolor sit amet, " * 8000
    train = [((big + "A",), "q1"), ((big + "B",), "zz"), ((big[:1000],), "k")]
    t0 = time.monotonic()
    list(synthesize(train, ["s"], "f", time_limit=0.5))
    assert time.monotonic() - t0 < 2.0
