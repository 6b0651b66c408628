"""pandas values for the codec: ``DataFrame``, ``Series``, the indexes (``Index``, ``RangeIndex``,
``MultiIndex``, ``DatetimeIndex``, ``TimedeltaIndex``, ``CategoricalIndex``), ``Categorical``,
the nullable extension arrays (``Int64`` and friends, ``boolean``, ``string``/``str``), tz-aware
datetimes, ``Timestamp``, ``Timedelta``, ``NaT`` and ``NA``.

As in ``_codec_data``: each is sent as the data it is made of and built again by the receiver
with pandas' own constructors, by exact type, keeping names, dtypes and labels, so that
``equals``, ``pandas.testing`` and ``.dtypes`` answer as they would on the original. A frame's
columns are sent by position (labels may repeat) with each column's exact dtype.

Shipped into the kernel and the sandbox as source after ``_codec_data``: standard library only
at the top; pandas is looked up in ``sys.modules`` when encoding and imported when decoding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._codec_data import (
    NOT_DATA,
    TS_UNITS,
    Dec,
    Enc,
    Unserializable,
    array,
    dec_tz,
    enc_array,
    enc_tz,
    ints,
    loaded,
    numpy_module,
)

__all__ = ["FRAME_DECODERS", "encode_frame"]

_MASKED = {f"{k}{b}" for k in ("Int", "UInt") for b in (8, 16, 32, 64)} | {"Float32", "Float64", "boolean"}


def encode_frame(v: Any, enc: Enc) -> Any:
    """``v`` as a tree when its exact type is one of pandas' data types; ``NOT_DATA`` otherwise."""
    t = type(v)
    if (getattr(t, "__module__", "") or "").split(".")[0] != "pandas":
        return NOT_DATA
    return _enc_pandas(v, t, enc)


def _enc_pandas(v: Any, t: type, enc: Enc) -> Any:
    pd = loaded("pandas")
    if pd is None:
        return NOT_DATA
    if t is pd.DataFrame:
        columns = [_enc_values(v.iloc[:, i], pd, enc) for i in range(v.shape[1])]
        return ["pdf", _enc_index(v.index, pd, enc), _enc_index(v.columns, pd, enc), *columns]
    if t is pd.Series:
        return ["pser", _enc_values(v, pd, enc), _enc_index(v.index, pd, enc), enc(v.name)]
    if t in _index_types(pd):
        return _enc_index(v, pd, enc)
    if t is pd.Timestamp:
        return ["pts", int(v.asm8.view("i8")), v.unit, enc_tz(v.tz)]
    if t is pd.Timedelta:
        return ["ptd", int(v.asm8.view("i8")), v.unit]
    if v is pd.NaT:
        return ["nat"]
    if v is pd.NA:
        return ["pna"]
    if t in _array_types(pd) or _is_string_array(v, pd):
        return _enc_ea(v, pd, enc)
    return NOT_DATA


def _index_types(pd: Any) -> tuple[type, ...]:
    return (pd.Index, pd.RangeIndex, pd.MultiIndex, pd.DatetimeIndex, pd.TimedeltaIndex, pd.CategoricalIndex)


def _array_types(pd: Any) -> tuple[type, ...]:
    a = pd.arrays
    return (pd.Categorical, a.IntegerArray, a.FloatingArray, a.BooleanArray, a.StringArray, a.DatetimeArray,
            a.TimedeltaArray)


def _is_string_array(a: Any, pd: Any) -> bool:
    """A ``string``/``str`` array of the exact type pandas makes for its dtype (``StringArray``
    with Python storage; with pyarrow installed, pandas' Arrow-backed string arrays)."""
    dtype = getattr(a, "dtype", None)
    return isinstance(dtype, pd.StringDtype) and type(a) is type(pd.array([], dtype=dtype))


def _enc_values(s: Any, pd: Any, enc: Enc) -> Any:
    """A Series' values with their exact dtype: a numpy array, or one of the extension arrays."""
    np = loaded("numpy")
    if isinstance(s.dtype, np.dtype):
        return enc_array(s.to_numpy(copy=False), enc)
    return _enc_ea(s.array, pd, enc)


def _enc_ea(a: Any, pd: Any, enc: Enc) -> Any:
    t = type(a)
    np = loaded("numpy")
    if t is pd.Categorical:
        dtype = a.dtype
        return ["pcat", enc_array(np.asarray(a.codes), enc), _enc_index(dtype.categories, pd, enc), bool(dtype.ordered)]
    if t in (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray):
        data, mask = a._data, a._mask  # the two numpy arrays a masked array is made of
        return ["pmask", a.dtype.name, enc_array(np.asarray(data), enc), enc_array(np.asarray(mask), enc)]
    if _is_string_array(a, pd):
        dtype = a.dtype
        mask = np.asarray(a.isna(), dtype=bool)
        values = a.to_numpy(dtype=object)
        return ["pstr", dtype.na_value is pd.NA, str(dtype.storage), enc_array(mask, enc), *(
            "" if m else str.__str__(x) for x, m in zip(values.tolist(), mask.tolist(), strict=True))]
    if t is pd.arrays.DatetimeArray:
        naive = a.tz_convert("UTC").tz_localize(None) if a.tz is not None else a
        return ["pdta", enc_array(np.asarray(naive.to_numpy()), enc), enc_tz(a.tz)]
    if t is pd.arrays.TimedeltaArray:
        return ["ptda", enc_array(np.asarray(a.to_numpy()), enc)]
    raise Unserializable(f"a pandas array of type {t.__qualname__}")


def _enc_index(ix: Any, pd: Any, enc: Enc) -> Any:
    t = type(ix)
    if t is pd.RangeIndex:
        return ["prng", ix.start, ix.stop, ix.step, enc(ix.name)]
    if t is pd.MultiIndex:
        np = loaded("numpy")
        return ["pmix", [_enc_index(lv, pd, enc) for lv in ix.levels],
                [enc_array(np.asarray(c), enc) for c in ix.codes], [enc(n) for n in ix.names]]
    if t not in _index_types(pd):
        raise Unserializable(f"an index of type {t.__qualname__}")
    freq = getattr(ix, "freqstr", None) if t in (pd.DatetimeIndex, pd.TimedeltaIndex) else None
    return ["pidx", _enc_values(ix, pd, enc), enc(ix.name), freq]


def _pd() -> Any:
    try:
        import pandas  # type: ignore[import-untyped]
    except ImportError:
        raise Unserializable("a pandas value, and pandas is not installed here") from None
    return pandas


def _dec_pts(items: list[Any], dec: Dec) -> Any:
    np, pd = numpy_module(), _pd()
    if len(items) != 3 or type(items[0]) is not int or items[1] not in TS_UNITS:
        raise Unserializable("malformed Timestamp")
    ts = pd.Timestamp(np.datetime64(items[0], items[1]))
    tz = dec_tz(items[2])
    return ts if tz is None else ts.tz_localize("UTC").tz_convert(tz)


def _dec_ptd(items: list[Any], dec: Dec) -> Any:
    np, pd = numpy_module(), _pd()
    if len(items) != 2 or type(items[0]) is not int or items[1] not in TS_UNITS:
        raise Unserializable("malformed Timedelta")
    return pd.Timedelta(np.timedelta64(items[0], items[1]))


def _dec_nat(items: list[Any], dec: Dec) -> Any:
    if items:
        raise Unserializable("malformed NaT")
    return _pd().NaT


def _dec_pna(items: list[Any], dec: Dec) -> Any:
    if items:
        raise Unserializable("malformed NA")
    return _pd().NA


def _dec_pcat(items: list[Any], dec: Dec) -> Any:
    np, pd = numpy_module(), _pd()
    if len(items) != 3 or type(items[2]) is not bool:
        raise Unserializable("malformed Categorical")
    codes = array(items[0], dec, np)
    categories = _index(items[1], dec, pd)
    if codes.dtype.kind != "i" or codes.ndim != 1:
        raise Unserializable("malformed Categorical")
    dtype = pd.CategoricalDtype(categories, ordered=items[2])
    return pd.Categorical.from_codes(codes, dtype=dtype)  # checks every code is in range


def _dec_pmask(items: list[Any], dec: Dec) -> Any:
    np, pd = numpy_module(), _pd()
    if len(items) != 3 or items[0] not in _MASKED:
        raise Unserializable("malformed masked array")
    data, mask = array(items[1], dec, np), array(items[2], dec, np)
    if data.ndim != 1 or mask.ndim != 1 or mask.dtype != np.bool_ or len(data) != len(mask):
        raise Unserializable("malformed masked array")
    dtype = pd.api.types.pandas_dtype(items[0])
    if data.dtype != dtype.numpy_dtype:
        raise Unserializable("masked array data does not match its dtype")
    kind = {"b": pd.arrays.BooleanArray, "f": pd.arrays.FloatingArray}.get(data.dtype.kind, pd.arrays.IntegerArray)
    return kind(data, mask)


def _dec_pstr(items: list[Any], dec: Dec) -> Any:
    np, pd = numpy_module(), _pd()
    if len(items) < 3 or type(items[0]) is not bool or items[1] not in ("python", "pyarrow"):
        raise Unserializable("malformed string array")
    mask = array(items[2], dec, np)
    values = items[3:]
    if mask.dtype != np.bool_ or mask.ndim != 1 or len(mask) != len(values) or any(type(x) is not str for x in values):
        raise Unserializable("malformed string array")
    na = pd.NA if items[0] else np.nan
    dtype = pd.StringDtype(items[1], na_value=na)  # pyarrow: only where it is installed here too
    out = np.array(values, dtype=object)
    out[mask] = na
    return pd.array(out, dtype=dtype)


def _dec_pdta(items: list[Any], dec: Dec) -> Any:
    np, pd = numpy_module(), _pd()
    if len(items) != 2:
        raise Unserializable("malformed datetime array")
    values = array(items[0], dec, np)
    if values.dtype.kind != "M" or values.ndim != 1 or np.datetime_data(values.dtype)[0] not in TS_UNITS:
        raise Unserializable("malformed datetime array")
    arr = pd.array(values)
    tz = dec_tz(items[1])
    return arr if tz is None else arr.tz_localize("UTC").tz_convert(tz)


def _dec_ptda(items: list[Any], dec: Dec) -> Any:
    np, pd = numpy_module(), _pd()
    values = array(items[0], dec, np) if len(items) == 1 else None
    if values is None or values.dtype.kind != "m" or values.ndim != 1 or \
            np.datetime_data(values.dtype)[0] not in TS_UNITS:
        raise Unserializable("malformed timedelta array")
    return pd.array(values)


def _values(tree: Any, dec: Dec, np: Any, pd: Any) -> Any:
    """One column's values: a 1-d numpy array or one of the extension arrays that cross."""
    value = dec(tree)
    if type(value) is np.ndarray:
        if value.ndim != 1:
            raise Unserializable("malformed column")
        return value
    if type(value) in _array_types(pd) or _is_string_array(value, pd):
        return value
    raise Unserializable("malformed column")


def _index(tree: Any, dec: Dec, pd: Any) -> Any:
    value = dec(tree)
    if type(value) not in _index_types(pd):
        raise Unserializable("malformed index")
    return value


def _dec_prng(items: list[Any], dec: Dec) -> Any:
    pd = _pd()
    if len(items) != 4:
        raise Unserializable("malformed RangeIndex")
    start, stop, step = ints(items, 3)
    return pd.RangeIndex(start, stop, step, name=dec(items[3]))


def _dec_pmix(items: list[Any], dec: Dec) -> Any:
    np, pd = numpy_module(), _pd()
    if len(items) != 3 or any(type(x) is not list for x in items):
        raise Unserializable("malformed MultiIndex")
    levels = [_index(x, dec, pd) for x in items[0]]
    codes = [array(x, dec, np) for x in items[1]]
    names = [dec(x) for x in items[2]]
    if not levels or len(codes) != len(levels) or len(names) != len(levels) or \
            any(c.dtype.kind != "i" or c.ndim != 1 for c in codes):
        raise Unserializable("malformed MultiIndex")
    return pd.MultiIndex(levels=levels, codes=codes, names=names, verify_integrity=True)


def _dec_pidx(items: list[Any], dec: Dec) -> Any:
    np, pd = numpy_module(), _pd()
    if len(items) != 3 or (items[2] is not None and type(items[2]) is not str):
        raise Unserializable("malformed Index")
    values = _values(items[0], dec, np, pd)
    index = pd.Index(values, dtype=values.dtype, name=dec(items[1]), copy=False)
    if items[2] is not None:
        if type(index) not in (pd.DatetimeIndex, pd.TimedeltaIndex):
            raise Unserializable("malformed Index")
        index = type(index)(index, freq=items[2])  # checked against the values
    return index


def _dec_pser(items: list[Any], dec: Dec) -> Any:
    np, pd = numpy_module(), _pd()
    if len(items) != 3:
        raise Unserializable("malformed Series")
    values = _values(items[0], dec, np, pd)
    index = _index(items[1], dec, pd)
    if len(index) != len(values):
        raise Unserializable("Series values and index differ in length")
    return pd.Series(values, index=index, name=dec(items[2]), dtype=values.dtype, copy=False)


def _dec_pdf(items: list[Any], dec: Dec) -> Any:
    np, pd = numpy_module(), _pd()
    if len(items) < 2:
        raise Unserializable("malformed DataFrame")
    index, columns = _index(items[0], dec, pd), _index(items[1], dec, pd)
    values = [_values(x, dec, np, pd) for x in items[2:]]
    if len(columns) != len(values) or any(len(v) != len(index) for v in values):
        raise Unserializable("DataFrame columns do not match its labels")
    rows = pd.RangeIndex(len(index))
    # Each column as a Series of its own dtype (a frame built from arrays would infer dtypes:
    # object strings would become ``str``), labelled by position, then the real labels.
    frame = pd.DataFrame({i: pd.Series(v, index=rows, dtype=v.dtype, copy=False) for i, v in enumerate(values)},
                         index=rows)
    frame.index = index
    frame.columns = columns
    return frame


FRAME_DECODERS: dict[str, Callable[[list[Any], Dec], Any]] = {
    "pts": _dec_pts, "ptd": _dec_ptd, "nat": _dec_nat, "pna": _dec_pna,
    "pcat": _dec_pcat, "pmask": _dec_pmask, "pstr": _dec_pstr, "pdta": _dec_pdta, "ptda": _dec_ptda,
    "prng": _dec_prng, "pmix": _dec_pmix, "pidx": _dec_pidx, "pser": _dec_pser, "pdf": _dec_pdf,
}
"""Decoders by tag, as ``_codec_data.DECODERS``."""
