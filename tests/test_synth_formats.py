"""Number and date formats, and outputs assembled from pieces (tasks of our own)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from jupyter_codesearch.generate._synth import SynthOptions, synthesize
from jupyter_codesearch.generate._synth_concat import Pieces
from jupyter_codesearch.generate._synth_formats import FORMAT_OPS
from jupyter_codesearch.generate._synth_nodes import Effort, Leaf
from jupyter_codesearch.generate._synth_ops import OPS, Names

Example = tuple[tuple[object, ...], object]
DEV_TASKS = Path(__file__).parent / "data" / "synth_tasks.json"


def _compile(source: str) -> Callable[..., object]:
    ns: dict[str, object] = {}
    exec(compile(source, "<synthesized>", "exec"), ns)  # our own generated code
    fn = ns["f"]
    assert callable(fn)
    return fn


def _first(examples: Sequence[Example], params: Sequence[str], limit: float = 10.0, **opts: bool) -> str:
    programs = list(
        synthesize(examples, params, "f", time_limit=limit, max_programs=1, options=SynthOptions(**opts))
    )
    assert programs, "no program found"
    return programs[0]


def _passes(source: str, examples: Sequence[Example]) -> bool:
    fn = _compile(source)
    return all(fn(*args) == out for args, out in examples)


def _op(name: str) -> Callable[..., object]:
    return next(op.elem for op in FORMAT_OPS if op.name == name)


# ---------------------------------------------------------------------------------------------
# number formats


def test_zero_padding_to_the_width_of_the_outputs() -> None:
    train = [(("7",), "007"), (("42",), "042"), (("123",), "123")]
    src = _first(train, ["n"])
    assert "zfill(3)" in src
    assert _passes(src, [(("9",), "009"), (("50",), "050")])


def test_fixed_decimal_places() -> None:
    train = [(("2.345",), "2.3"), (("10",), "10.0"), (("0.06",), "0.1")]
    src = _first(train, ["x"])
    assert "format(float(x), '.1f')" in src
    assert _passes(src, [(("7.77",), "7.8")])


def test_thousands_separator_and_explicit_sign() -> None:
    src = _first([(("5000",), "5,000"), (("12",), "12"), (("7654321",), "7,654,321")], ["n"])
    assert _passes(src, [(("10000",), "10,000")])
    src = _first([(("4",), "+4"), (("-9",), "-9"), (("31",), "+31")], ["n"])
    assert _passes(src, [(("-2",), "-2"), (("6",), "+6")])


def test_formats_refuse_what_is_not_a_plain_number() -> None:
    for name, args in (("fixed", ("nan", 2)), ("fixed", ("1e5", 1)), ("thousands", (" 12",)), ("zfill", ("5", 0))):
        with pytest.raises(ValueError):
            _op(name)(*args)


def test_formats_only_join_tasks_with_digits() -> None:
    train = [(("abc",), "ABC"), (("Hello",), "HELLO")]
    assert _first(train, ["s"]) == "def f(s):\n    return s.upper()\n"
    assert all(op.digits for op in FORMAT_OPS)
    assert not any(op.digits for op in OPS)


# ---------------------------------------------------------------------------------------------
# dates


def test_month_number_to_name() -> None:
    train = [(("2020-02-11",), "February"), (("1990-08-30",), "August"), (("2004-12-01",), "December")]
    src = _first(train, ["d"])
    assert "calendar.month_name" in src and "import calendar" in src
    assert _passes(src, [(("2011-05-05",), "May")])


def test_month_name_to_number() -> None:
    train = [(("Feb 3",), 2), (("November 22",), 11), (("may 9",), 5)]
    src = _first(train, ["d"])
    assert _passes(src, [(("Aug 1",), 8), (("december 24",), 12)])


# ---------------------------------------------------------------------------------------------
# concatenation paths


def test_the_lightest_path_of_pieces_spells_the_output() -> None:
    concat = next(op for op in OPS if op.name == "concat")
    target = ("b-a", "yy-xx")
    pieces = Pieces(target, concat, Effort(10.0, None, None))
    first, second, dash = Leaf("first"), Leaf("second"), Leaf("'-'", value="-")
    pieces.note(("a", "xx"), first, 2)
    pieces.note(("b", "yy"), second, 2)
    pieces.note(("-", "-"), dash, 1)
    pieces.note(("zzz", "q"), Leaf("noise"), 1)  # not inside the outputs: never a piece
    found = pieces.search(20)
    assert found is not None
    weight, node = found
    assert node.render(Names())[0] == "second + '-' + first"
    assert weight == 2 + 1 + 2 + 2 * concat.weight
    assert pieces.search(20) is None  # nothing new: no second search


def test_a_date_reordered_from_its_fields() -> None:
    train = [
        (("31.12.1999",), "12/31/1999"),
        (("01.02.2003",), "02/01/2003"),
        (("15.07.2010",), "07/15/2010"),
    ]
    src = _first(train, ["d"], limit=8)
    assert _passes(src, [(("09.10.2021",), "10/09/2021"), (("28.01.1970",), "01/28/1970")])


def test_without_paths_the_same_date_task_is_out_of_reach() -> None:
    train = [
        (("31.12.1999",), "12/31/1999"),
        (("01.02.2003",), "02/01/2003"),
        (("15.07.2010",), "07/15/2010"),
    ]
    programs = list(
        synthesize(train, ["d"], "f", time_limit=3, max_programs=1, options=SynthOptions(concat_paths=False))
    )
    assert not programs or not _passes(programs[0], [(("09.10.2021",), "10/09/2021")])


def test_the_dev_task_file_is_well_formed() -> None:
    tasks = json.loads(DEV_TASKS.read_text())
    assert len(tasks) >= 20
    for t in tasks:
        assert {"name", "kind", "trainExamples", "testExamples"} <= t.keys()
        assert t["trainExamples"] and t["testExamples"]
