"""Data values through the codec: dates, Decimal, numpy, pandas round trip with their exact types,
dtypes, names and labels; what a candidate could forge is ``Unserializable`` and nothing else."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import fractions
import json
import uuid
import zoneinfo
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_codesearch.execute._codec import Unserializable, decode, encode, from_tree, to_tree, value_digest

STDLIB = [
    dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, 3, 4, 5, 6), dt.datetime(2020, 1, 2, tzinfo=dt.timezone.utc),
    dt.datetime(2021, 11, 7, 1, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"), fold=1),
    dt.time(1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=-3), "X")), dt.timedelta(days=-1, seconds=5),
    dt.timezone(dt.timedelta(hours=5, minutes=30)), decimal.Decimal("1.10"), decimal.Decimal("-0E+3"),
    decimal.Decimal("sNaN"), fractions.Fraction(-3, 6), fractions.Fraction(10**40, 3), uuid.UUID(int=12345),
]


@pytest.mark.parametrize("value", STDLIB, ids=repr)
def test_standard_library_data_round_trips_exactly(value: Any) -> None:
    back = decode(encode(value))
    assert type(back) is type(value)
    assert str(back) == str(value) and repr(back) == repr(value)
    if isinstance(value, dt.datetime | dt.time):
        assert back.tzinfo == value.tzinfo and back.fold == value.fold  # type: ignore[union-attr]


ARRAYS = [
    np.arange(6).reshape(2, 3), np.array([1.5, np.nan, -0.0]), np.array([True, False]), np.array(["a", "bé"]),
    np.array([b"x", b""]), np.array(["2020-01-01", "NaT"], dtype="M8[D]"), np.array([1, "NaT"], dtype="m8[s]"),
    np.array([1 + 2j], dtype="c8"), np.zeros((0, 3), dtype=">i4"), np.asfortranarray(np.arange(6).reshape(2, 3)),
    np.arange(24, dtype=np.uint16).reshape(2, 3, 4)[:, ::2], np.float16([1, 2]), np.array(5),
]


@pytest.mark.parametrize("a", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_numpy_arrays_keep_dtype_shape_and_values(a: Any) -> None:
    back = decode(encode(a))
    assert type(back) is np.ndarray and back.dtype == a.dtype and back.shape == a.shape
    assert np.array_equal(back, a, equal_nan=a.dtype.kind in "fcmM")
    assert back.flags.writeable  # a fresh array, not a view of the message


def test_object_arrays_hold_plain_data_elements_as_themselves() -> None:
    a = np.array([1, [2], None, "x", (3,), dt.date(2020, 1, 1)], dtype=object)
    back = decode(encode(a))
    assert back.dtype == object and [type(x) for x in back] == [type(x) for x in a] and list(back) == list(a)
    with pytest.raises(Unserializable):
        encode(np.array([object()], dtype=object))


@pytest.mark.parametrize(
    "v", [np.int64(3), np.int8(-1), np.float32(1.5), np.float64("nan"), np.bool_(True), np.str_("x"), np.str_(""),
          np.bytes_(b"\x00y"), np.datetime64("NaT"), np.datetime64("2020-01-01T10", "h"), np.complex128(1j),
          np.uint64(2**64 - 1)],
    ids=repr)
def test_numpy_scalars_stay_numpy_scalars(v: Any) -> None:
    back = decode(encode(v))
    assert type(back) is type(v) and back.dtype == v.dtype
    assert back.tobytes() == v.tobytes()


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"a": [1, 2, 3], "b": [1.5, None, 2], "c": ["x", None, "z"], "d": pd.array([1, None, 3], dtype="Int64"),
         "e": pd.Categorical(["u", "v", "u"], categories=["v", "u", "w"], ordered=True),
         "f": pd.to_datetime(["2020-01-01", None, "2020-01-03"]),
         "g": pd.date_range("2020", periods=3, tz="Europe/Paris"), "h": pd.array([True, None, False], dtype="boolean"),
         "i": pd.array(["p", None, "q"], dtype="string"), "j": [dt.date(2020, 1, 1), None, decimal.Decimal(1)],
         "k": pd.to_timedelta([1, 2, 3], unit="s"), "l": pd.array([0.5, None, 1], dtype="Float32"),
         "m": np.array([1, 2, 3], dtype=np.uint8), "n": ["x", "y", "z"]},
        index=pd.Index([10, 20, 30], name="id"))


FRAMES = {
    "mixed_dtypes": _frame,
    "multiindex_rows": lambda: _frame().set_index(["a", "n"]),
    "transposed_object": lambda: _frame().T.iloc[:3],
    "empty": pd.DataFrame,
    "no_columns": lambda: pd.DataFrame(index=[1, 2]),
    "groupby_categorical": lambda: _frame().groupby("e", observed=False).b.sum().to_frame(),
    "daily_index_with_freq": lambda: pd.DataFrame({"x": range(5)}, index=pd.date_range("2021-01-01", periods=5)),
    "multiindex_columns": lambda: pd.DataFrame(
        [[1, 2], [3, 4]], columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2)], names=["l", None])),
    "duplicate_labels": lambda: pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"], index=["r", "r"]),
    "pivot": lambda: pd.DataFrame({"k": ["a", "b", "a"], "c": ["x", "x", "y"], "v": [1, 2, 3]}).pivot_table(
        index="k", columns="c", values="v", aggfunc="sum"),
    "range_index_step": lambda: pd.DataFrame({"x": [1.0, 2.0]}, index=pd.RangeIndex(10, 14, 2, name="r")),
    "categorical_index": lambda: pd.DataFrame({"x": [1, 2]}, index=pd.CategoricalIndex(["a", "b"])),
    "timedelta_index": lambda: pd.DataFrame({"x": [1, 2]}, index=pd.to_timedelta(["1D", "2D"])),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_frames_compare_exactly_as_the_original(name: str) -> None:
    frame = FRAMES[name]()
    back = decode(encode(frame))
    assert type(back) is pd.DataFrame and back.equals(frame)
    pd.testing.assert_frame_equal(back, frame, check_exact=True, check_freq=True, check_flags=True)
    assert back.dtypes.equals(frame.dtypes) and type(back.index) is type(frame.index)
    assert back.index.names == frame.index.names and back.columns.names == frame.columns.names
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        pd.testing.assert_series_equal(decode(encode(column)), column, check_exact=True)
    pd.testing.assert_index_equal(decode(encode(frame.index)), frame.index, exact=True)
    pd.testing.assert_index_equal(decode(encode(frame.columns)), frame.columns, exact=True)


@pytest.mark.parametrize(
    "v", [pd.Timestamp("2020-01-01 12:00", tz="UTC"), pd.Timestamp("2020-01-01"), pd.Timestamp(10**18, unit="ns"),
          pd.Timestamp("2020-03-29 03:00", tz="Europe/Berlin"), pd.Timedelta("1D"), pd.Timedelta(1, unit="ns"),
          pd.Categorical(["a", None, "b"]), pd.RangeIndex(2, 10, 3, name="r"),
          pd.date_range("2020", periods=4, freq="ME", name="month"), pd.array([1, None], dtype="UInt8"),
          pd.Series([1, 2], name=("a", 1)), pd.Index([(1, "a"), (2, "b")])],
    ids=repr)
def test_pandas_scalars_arrays_and_indexes_round_trip(v: Any) -> None:
    back = decode(encode(v))
    assert type(back) is type(v) and repr(back) == repr(v)
    if hasattr(v, "dtype"):
        assert back.dtype == v.dtype


def test_missing_markers_are_the_singletons() -> None:
    assert decode(encode(pd.NaT)) is pd.NaT and decode(encode(pd.NA)) is pd.NA
    assert decode(encode([pd.NA, None, float("nan")]))[0] is pd.NA


def test_subclasses_of_data_types_are_refused() -> None:
    class Yes(pd.DataFrame):
        def equals(self, other: object) -> bool:
            return True

        def __eq__(self, other: object) -> Any:
            return True

    class Arr(np.ndarray):
        pass

    class F(np.float64):
        pass

    class D(decimal.Decimal):
        pass

    class When(dt.date):
        pass

    values: list[Any] = [Yes({"a": [1]}), pd.Series([1]).to_frame().pipe(Yes), np.arange(3).view(Arr), F(1.0),
                         D(1), When(2020, 1, 1), np.ma.masked_array([1]), np.arange(2).view(np.recarray),
                         pd.DataFrame({"a": [D(1)]}), pd.Series([When(2020, 1, 1)]),
                         dt.datetime(2020, 1, 1, tzinfo=type("Tz", (dt.tzinfo,), {})())]
    for value in values:
        with pytest.raises(Unserializable):
            encode(value)


def test_dtypes_outside_the_allowlist_are_refused() -> None:
    for value in (np.zeros(2, dtype=[("a", "i4")]), np.zeros(2, dtype="V4"), np.longdouble(1),
                  pd.Series(pd.period_range("2020", periods=2)), pd.Series(pd.arrays.SparseArray([0, 1])),
                  pd.interval_range(0, 2)):
        with pytest.raises(Unserializable):
            encode(value)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


_ONE_INT = ["nd", "<i8", [1], _b64(b"\0" * 8)]
_R1, _R2 = ["prng", 0, 1, 1, None], ["prng", 0, 2, 1, None]


HOSTILE = {
    "buffer_too_short": ["nd", "<f8", [3], _b64(b"\0" * 16)],
    "buffer_not_itemsize_multiple": ["nd", "<f8", [1], _b64(b"\0" * 9)],
    "negative_shape": ["nd", "<i8", [-1], _b64(b"")],
    "huge_empty_shape": ["nd", "<i8", [0, 2**62], _b64(b"")],
    "huge_shape": ["nd", "|b1", [2**40, 2**40], _b64(b"\0")],
    "too_many_dims": ["nd", "|b1", [1] * 33, _b64(b"\0")],
    "bool_shape": ["nd", "|b1", [True], _b64(b"\0")],
    "object_dtype": ["nd", "|O", [1], _b64(b"\0" * 8)],
    "object_dtype_long": ["nd", "|O8", [1], _b64(b"\0" * 8)],
    "void_dtype": ["nd", "|V8", [1], _b64(b"\0" * 8)],
    "structured_dtype": ["nd", "[('a', 'O')]", [1], _b64(b"\0" * 8)],
    "longdouble": ["nd", "<f16", [1], _b64(b"\0" * 16)],
    "zero_width_text": ["nd", "<U0", [5], _b64(b"")],
    "pickle_as_dtype": ["nd", "cos\nsystem\n", [1], _b64(b"\0")],
    "not_base64": ["nd", "<i1", [1], "!!!!"],
    "bool_byte_two": ["nd", "|b1", [1], _b64(b"\x02")],
    "invalid_code_point": ["nd", "<U1", [1], _b64((0x110000).to_bytes(4, "little"))],
    "surrogate_code_point": ["nd", "<U1", [1], _b64((0xD800).to_bytes(4, "little"))],
    "object_count_mismatch": ["ndo", [3], 1, 2],
    "object_unknown_element": ["ndo", [1], ["X", 1]],
    "scalar_two_values": ["npv", "<i8", _b64(b"\0" * 16)],
    "categorical_code_out_of_range": ["pcat", ["nd", "|i1", [1], _b64(b"\x05")], ["prng", 0, 2, 1, None], False],
    "categorical_float_codes": ["pcat", ["nd", "<f8", [1], _b64(b"\0" * 8)], ["prng", 0, 2, 1, None], False],
    "masked_wrong_dtype": ["pmask", "Int64", ["nd", "<f8", [1], _b64(b"\0" * 8)], ["nd", "|b1", [1], _b64(b"\0")]],
    "masked_unknown_dtype": ["pmask", "object", ["nd", "<i8", [1], _b64(b"\0" * 8)], ["nd", "|b1", [1], _b64(b"\0")]],
    "masked_length_mismatch": ["pmask", "Int64", ["nd", "<i8", [1], _b64(b"\0" * 8)], ["nd", "|b1", [0], _b64(b"")]],
    "string_array_non_str": ["pstr", True, "python", ["nd", "|b1", [1], _b64(b"\0")], 5],
    "string_array_unknown_storage": ["pstr", True, "pickle", ["nd", "|b1", [1], _b64(b"\0")], "x"],
    "series_length_mismatch": ["pser", ["nd", "<i8", [1], _b64(b"\0" * 8)], ["prng", 0, 5, 1, None], None],
    "series_of_a_list": ["pser", ["L", 1], ["prng", 0, 1, 1, None], None],
    "frame_column_count": ["pdf", _R1, _R2, _ONE_INT],
    "frame_row_count": ["pdf", _R2, _R1, _ONE_INT],
    "frame_2d_column": ["pdf", _R1, _R1, ["nd", "<i8", [1, 1], _b64(b"\0" * 8)]],
    "frame_index_is_a_series": ["pdf", ["pser", ["nd", "<i8", [0], ""], ["prng", 0, 0, 1, None], None],
                                ["prng", 0, 0, 1, None]],
    "multiindex_code_out_of_range": ["pmix", [["prng", 0, 1, 1, None]], [["nd", "|i1", [1], _b64(b"\x07")]], [None]],
    "multiindex_names_mismatch": ["pmix", [["prng", 0, 1, 1, None]], [["nd", "|i1", [1], _b64(b"\0")]], []],
    "freq_that_does_not_fit": ["pidx", ["nd", "<M8[ns]", [2], _b64(bytes(8) + (7).to_bytes(8, "little"))], None, "D"],
    "freq_on_a_plain_index": ["pidx", ["nd", "<i8", [1], _b64(b"\0" * 8)], None, "D"],
    "freq_nonsense": ["pidx", ["nd", "<M8[ns]", [1], _b64(b"\0" * 8)], None, "not a frequency"],
    "timestamp_year_unit": ["pts", 1, "Y", None],
    "timestamp_overflow": ["pts", 2**80, "ns", None],
    "timezone_path": ["dtm", 2020, 1, 1, 0, 0, 0, 0, 0, ["tzk", "../../../etc/passwd"]],
    "timezone_unknown": ["dtm", 2020, 1, 1, 0, 0, 0, 0, 0, ["tzk", "Mars/Olympus"]],
    "timezone_offset_too_big": ["dtm", 2020, 1, 1, 0, 0, 0, 0, 0, ["tzo", 2, 0, 0, None]],
    "date_out_of_range": ["date", 0, 1, 1],
    "fold_two": ["dtm", 2020, 1, 1, 0, 0, 0, 0, 2, None],
    "fraction_zero_denominator": ["frac", 1, 0],
    "fraction_float": ["frac", 1.5, 2],
    "decimal_not_a_number_text": ["dec", "12abc"],
    "decimal_from_int": ["dec", 12],
    "uuid_short": ["uuid", "12"],
    "nat_with_items": ["nat", 1],
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_forged_data_trees_are_unserializable(name: str) -> None:
    with pytest.raises(Unserializable):
        from_tree(HOSTILE[name])
    with pytest.raises(Unserializable):  # and as bytes, as the kernel gets them
        decode(json.dumps({"v": HOSTILE[name]})[5:-1].encode())


def test_deeply_nested_object_arrays_are_refused_not_a_crash() -> None:
    tree: Any = 1
    for _ in range(5000):
        tree = ["ndo", [1], tree]
    with pytest.raises(Unserializable, match="too deeply"):
        from_tree(tree)
    nested: Any = np.array([1], dtype=object)
    for _ in range(300):
        outer = np.empty(1, dtype=object)
        outer[0] = nested
        nested = outer
    with pytest.raises(Unserializable, match="too deeply"):
        to_tree(nested)


def test_equal_data_values_have_equal_digests() -> None:
    assert value_digest(to_tree(_frame())) == value_digest(to_tree(_frame()))
    assert value_digest(to_tree(_frame())) != value_digest(to_tree(_frame().iloc[::-1]))


# -- fuzzing the decoder: whatever a candidate sends, a value or Unserializable, never else ---------

_TAGS = ["nd", "ndo", "npv", "nps", "npb", "pcat", "pmask", "pstr", "pdta", "ptda", "prng", "pmix", "pidx", "pser",
         "pdf", "pts", "ptd", "nat", "pna", "dtm", "date", "time", "tdl", "tz", "tzo", "tzk", "dec", "frac", "uuid",
         "L", "T", "D", "S", "I", "B", "C"]
_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([0, 1, 2, 3, -1, 8, 2**62]),
    st.floats(allow_nan=True), st.text(max_size=8),
    st.sampled_from(["<f8", "<i8", "|b1", "<U2", "|S3", "<M8[ns]", "<m8[s]", "|O", "Int64", "boolean", "D", "ns",
                     "UTC", "Europe/Paris"]),
    st.binary(max_size=32).map(_b64),
)
_TREES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(st.sampled_from(_TAGS), st.lists(inner, max_size=5)).map(lambda t: [t[0], *t[1]]),
    ),
    max_leaves=30,
)


def _decoded_or_refused(tree: Any) -> None:
    try:
        from_tree(tree)
    except Unserializable:
        pass


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TREES)
def test_fuzzed_trees_decode_or_are_unserializable(tree: Any) -> None:
    _decoded_or_refused(tree)


def _replace_at(tree: Any, path: list[int], new: Any) -> Any:
    if not path or type(tree) is not list or not tree:
        return new
    i = path[0] % len(tree)
    return [*tree[:i], _replace_at(tree[i], path[1:], new), *tree[i + 1:]]


_VALID = [to_tree(FRAMES[name]()) for name in sorted(FRAMES)] + [to_tree(a) for a in ARRAYS] + [
    to_tree(v) for v in STDLIB]


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_VALID), st.lists(st.integers(0, 20), max_size=6), _LEAVES)
def test_valid_trees_with_one_part_forged_decode_or_are_unserializable(tree: Any, path: list[int], new: Any) -> None:
    _decoded_or_refused(_replace_at(tree, path, new))


# -- property: any frame hypothesis makes round-trips exactly -----------------------------------

_DTYPES = ["int64", "int8", "uint32", "float64", "float32", "bool", "complex128", "datetime64[ns]",
           "timedelta64[ns]", "object"]


@st.composite
def _frames(draw: st.DrawFn) -> pd.DataFrame:
    from hypothesis.extra import pandas as hpd

    names = draw(st.lists(st.one_of(st.text(max_size=3), st.integers(-3, 3)), max_size=4, unique=True))
    plain = st.one_of(st.none(), st.integers(-5, 5), st.floats(), st.text(max_size=3))
    dtypes = [draw(st.sampled_from(_DTYPES)) for _ in names]
    columns = [hpd.column(name, dtype=d, elements=plain if d == "object" else None)
               for name, d in zip(names, dtypes, strict=True)]
    index = draw(st.sampled_from([
        hpd.range_indexes(max_size=6), hpd.indexes(dtype="int64", max_size=6),
        hpd.indexes(elements=st.text(max_size=3), max_size=6, unique=False),
        hpd.indexes(dtype="datetime64[ns]", max_size=6),
    ]))
    frame = draw(hpd.data_frames(columns=columns, index=index))
    if draw(st.booleans()) and frame.shape[1]:
        first = frame.columns[0]
        frame[first] = frame[first].astype("category") if frame[first].dtype != object else frame[first]
    return frame


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames())
def test_any_generated_frame_round_trips_exactly(frame: pd.DataFrame) -> None:
    back = decode(encode(frame))
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back.equals(frame) or frame.isna().to_numpy().any()  # equals: NaN equal to NaN only in place
    assert back.dtypes.equals(frame.dtypes) and type(back.index) is type(frame.index)


def test_numpy_and_pandas_are_imported_only_when_one_of_their_values_is_met() -> None:
    import subprocess
    import sys

    code = (
        "import sys, datetime, decimal\n"
        "from jupyter_codesearch.execute import _codec as c\n"
        "c.decode(c.encode([1, 'x', datetime.date(2020, 1, 1), decimal.Decimal(1), {2: (3,)}]))\n"
        "seen = ['numpy' in sys.modules, 'pandas' in sys.modules]\n"
        "c.decode(b'[\"nd\",\"<i8\",[0],\"\"]')\n"
        "seen += ['numpy' in sys.modules, 'pandas' in sys.modules]\n"
        "c.decode(b'[\"nat\"]')\n"
        "print(seen + ['pandas' in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[False, False, True, False, True]", out


@st.composite
def _arrays(draw: st.DrawFn) -> Any:
    from hypothesis.extra import numpy as hnp

    dtype = draw(st.one_of(hnp.boolean_dtypes(), hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(),
                           hnp.floating_dtypes(sizes=(16, 32, 64)), hnp.complex_number_dtypes(sizes=(64, 128)),
                           hnp.datetime64_dtypes(), hnp.timedelta64_dtypes(), hnp.unicode_string_dtypes(max_len=4),
                           hnp.byte_string_dtypes(max_len=4)))
    return draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))


@settings(max_examples=300, deadline=None)
@given(_arrays())
def test_any_generated_array_round_trips_bit_for_bit(a: Any) -> None:
    back = decode(encode(a))
    assert type(back) is np.ndarray and back.dtype == a.dtype and back.shape == a.shape
    assert back.tobytes() == np.ascontiguousarray(a).tobytes()
    scalar = a.reshape(-1)[0] if a.size else None
    if scalar is not None:
        again = decode(encode(scalar))
        assert type(again) is type(scalar) and again.tobytes() == scalar.tobytes()
