"""Data values for the codec: dates and times, Decimal, Fraction, UUID, numpy arrays and scalars,
pandas frames, series, indexes and their arrays.

Each is sent as the data it is made of (numbers, strings, a dtype name, a shape, a raw buffer)
and *built again by the receiver* from that data with the library's own constructors: nothing a
candidate made is ever unpickled or called. Types match exactly (a ``DataFrame`` subclass with
its own ``equals`` is not a ``DataFrame``); dtypes come from an allowlist (no ``object`` buffer,
no structured or void dtype); every length, shape and code is checked against the data it
describes. The libraries are looked up in ``sys.modules`` when encoding (a value of theirs means
they are imported) and imported when decoding only once such a value is met; where one is not
installed, its values are simply not accepted.

Shipped into the kernel and the sandbox as source before ``_codec``, which passes its own
encoder and decoder in for the nested values: standard library only at the top.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import fractions
import re
import sys
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any

__all__ = [
    "DECODERS", "NOT_DATA", "TS_UNITS", "Dec", "Enc", "Unserializable", "array", "dec_tz", "enc_array", "enc_tz",
    "encode_data", "ints", "loaded", "numpy_module",
]


class Unserializable(Exception):
    """The value is not plain data (or is too large / too deep to be sent)."""


NOT_DATA: Any = object()
"""What :func:`encode_data` / :func:`decode_data` return for a type or tag that is not theirs."""

Enc = Callable[[Any], Any]
Dec = Callable[[Any], Any]

_DTYPE = re.compile(r"[<>|=]?(?:b1|[iu][1248]|f[248]|c(?:8|16)|[Mm]8(?:\[\d*(?:Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\])?"
                    r"|[US]\d{1,9})")
"""numpy dtypes that cross: bool, ints, floats, complex, datetime64/timedelta64, fixed-width text."""
_MAX_NDIM = 32
_MAX_DIM = 1 << 40
TS_UNITS = ("s", "ms", "us", "ns")


def loaded(name: str) -> Any:
    return sys.modules.get(name)


# -- encoding (the sender's side: for a candidate's answer, the candidate's own process) -----------


def encode_data(v: Any, enc: Enc) -> Any:
    """``v`` as a tree when its exact type is a data type; :data:`NOT_DATA` otherwise."""
    t = type(v)
    std = _STDLIB.get(t)
    if std is not None:
        return std(v, enc)
    if (getattr(t, "__module__", "") or "").split(".")[0] == "numpy":
        return _enc_numpy(v, t, enc)
    return NOT_DATA


def enc_tz(tz: Any) -> Any:
    """A time zone as data: a fixed offset (and its name, if it has its own), or a zoneinfo key."""
    if tz is None:
        return None
    if type(tz) is datetime.timezone:
        off = tz.utcoffset(None)
        name = tz.tzname(None)
        return ["tzo", off.days, off.seconds, off.microseconds, None if name == datetime.timezone(off).tzname(None)
                else name]
    if type(tz) is zoneinfo.ZoneInfo and tz.key is not None:
        return ["tzk", tz.key]
    raise Unserializable(f"a time zone of type {type(tz).__qualname__} (only fixed offsets and zoneinfo keys cross)")


_STDLIB: dict[type, Callable[[Any, Enc], Any]] = {
    datetime.datetime: lambda v, _: [
        "dtm", v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.fold, enc_tz(v.tzinfo)],
    datetime.date: lambda v, _: ["date", v.year, v.month, v.day],
    datetime.time: lambda v, _: ["time", v.hour, v.minute, v.second, v.microsecond, v.fold, enc_tz(v.tzinfo)],
    datetime.timedelta: lambda v, _: ["tdl", v.days, v.seconds, v.microseconds],
    datetime.timezone: lambda v, _: ["tz", enc_tz(v)],
    decimal.Decimal: lambda v, _: ["dec", str(v)],  # exact: NaN, signed zeros and exponents included
    fractions.Fraction: lambda v, enc: ["frac", enc(v.numerator), enc(v.denominator)],
    uuid.UUID: lambda v, _: ["uuid", v.hex],
}
"""The standard library's data types, by exact type."""


def _b64(buf: bytes) -> str:
    return base64.b64encode(buf).decode("ascii")


def enc_array(a: Any, enc: Enc) -> Any:
    """An exact ``numpy.ndarray``: dtype, shape and raw buffer, or an object array's elements."""
    dtype = a.dtype
    shape = [int(n) for n in a.shape]
    if dtype.kind == "O":
        return ["ndo", shape, *(enc(x) for x in a.reshape(-1))]
    if not _DTYPE.fullmatch(dtype.str):
        raise Unserializable(f"a numpy array of dtype {dtype} (not one of the dtypes that cross)")
    return ["nd", dtype.str, shape, _b64(a.tobytes(order="C"))]


def _enc_numpy(v: Any, t: type, enc: Enc) -> Any:
    np = loaded("numpy")
    if np is None:
        return NOT_DATA
    if t is np.ndarray:
        return enc_array(v, enc)
    if t is np.str_:  # by value: its dtype follows its length (an empty one's buffer is not empty)
        return ["nps", str.__str__(v)]
    if t is np.bytes_:
        return ["npb", bytes.decode(v, "latin-1")]
    if isinstance(v, np.generic) and t is v.dtype.type:
        if not _DTYPE.fullmatch(v.dtype.str) or v.dtype.hasobject:
            raise Unserializable(f"a numpy scalar of dtype {v.dtype} (not one of the dtypes that cross)")
        return ["npv", v.dtype.str, _b64(v.tobytes())]
    return NOT_DATA


# -- decoding (the trusted side, on data a candidate sent) -----------------------------------------


def ints(items: list[Any], n: int) -> list[int]:
    if len(items) < n or any(type(x) is not int for x in items[:n]):
        raise Unserializable("malformed value")
    return items[:n]


def dec_tz(tree: Any) -> Any:
    if tree is None:
        return None
    if type(tree) is list and len(tree) == 5 and tree[0] == "tzo":
        days, secs, us = ints(tree[1:], 3)
        name = tree[4]
        off = datetime.timedelta(days, secs, us)
        if name is None:
            return datetime.timezone(off)
        if type(name) is not str:
            raise Unserializable("malformed time zone")
        return datetime.timezone(off, name)
    if type(tree) is list and len(tree) == 2 and tree[0] == "tzk" and type(tree[1]) is str:
        return zoneinfo.ZoneInfo(tree[1])  # a key, read from the tz database (rejects paths)
    raise Unserializable("malformed time zone")


def _dec_dtm(items: list[Any], dec: Dec) -> Any:
    if len(items) != 9:
        raise Unserializable("malformed datetime")
    y, mo, d, h, mi, s, us, fold = ints(items, 8)
    return datetime.datetime(y, mo, d, h, mi, s, us, tzinfo=dec_tz(items[8]), fold=fold)


def _dec_date(items: list[Any], dec: Dec) -> Any:
    if len(items) != 3:
        raise Unserializable("malformed date")
    return datetime.date(*ints(items, 3))


def _dec_time(items: list[Any], dec: Dec) -> Any:
    if len(items) != 6:
        raise Unserializable("malformed time")
    h, mi, s, us, fold = ints(items, 5)
    return datetime.time(h, mi, s, us, tzinfo=dec_tz(items[5]), fold=fold)


def _dec_tdl(items: list[Any], dec: Dec) -> Any:
    if len(items) != 3:
        raise Unserializable("malformed timedelta")
    return datetime.timedelta(*ints(items, 3))


def _dec_tzv(items: list[Any], dec: Dec) -> Any:
    tz = dec_tz(items[0]) if len(items) == 1 else None
    if type(tz) is not datetime.timezone:
        raise Unserializable("malformed time zone")
    return tz


def _dec_dec(items: list[Any], dec: Dec) -> Any:
    if len(items) != 1 or type(items[0]) is not str:
        raise Unserializable("malformed Decimal")
    return decimal.Decimal(items[0])  # exact, whatever the context's precision


def _dec_frac(items: list[Any], dec: Dec) -> Any:
    if len(items) != 2:
        raise Unserializable("malformed Fraction")
    n, d = dec(items[0]), dec(items[1])
    if type(n) is not int or type(d) is not int or d <= 0:
        raise Unserializable("malformed Fraction")
    return fractions.Fraction(n, d)


def _dec_uuid(items: list[Any], dec: Dec) -> Any:
    if len(items) != 1 or type(items[0]) is not str or len(items[0]) != 32:
        raise Unserializable("malformed UUID")
    return uuid.UUID(hex=items[0])


def numpy_module() -> Any:
    try:
        import numpy
    except ImportError:
        raise Unserializable("a numpy value, and numpy is not installed here") from None
    return numpy


def _dtype(np: Any, name: Any) -> Any:
    if type(name) is not str or not _DTYPE.fullmatch(name):
        raise Unserializable("a numpy dtype that does not cross")
    dtype = np.dtype(name)
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise Unserializable("a numpy dtype that does not cross")
    return dtype


def _shape(shape: Any) -> tuple[int, ...]:
    if type(shape) is not list or len(shape) > _MAX_NDIM or any(
            type(n) is not int or not 0 <= n <= _MAX_DIM for n in shape):
        raise Unserializable("malformed array shape")
    return tuple(shape)


def _buffer(np: Any, dtype: Any, text: Any) -> Any:
    """A fresh, writable array of ``dtype`` over the bytes ``text`` (base64) holds, its values valid."""
    if type(text) is not str:
        raise Unserializable("malformed array buffer")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Unserializable("malformed array buffer") from None
    if dtype.itemsize == 0 or len(raw) % dtype.itemsize:
        raise Unserializable("array buffer length does not fit its dtype")
    flat = np.frombuffer(raw, dtype=dtype).copy()
    # Values no computation in the user's kernel can make, which compare in undefined ways.
    if dtype.kind == "b" and raw and max(raw) > 1:
        raise Unserializable("a bool array holding bytes other than 0 and 1")
    if dtype.kind == "U" and raw:
        points = np.frombuffer(raw, dtype=dtype.byteorder.replace("|", "=") + "u4")
        if int(points.max()) > 0x10FFFF or bool(((points >= 0xD800) & (points <= 0xDFFF)).any()):
            raise Unserializable("a text array holding invalid code points")
    return flat


def _dec_nd(items: list[Any], dec: Dec) -> Any:
    np = numpy_module()
    if len(items) != 3:
        raise Unserializable("malformed array")
    dtype = _dtype(np, items[0])
    shape = _shape(items[1])
    flat = _buffer(np, dtype, items[2])
    size = 1
    for n in shape:
        size *= n
    if size != flat.size:
        raise Unserializable("array buffer length does not match its shape")
    return flat.reshape(shape)


def _dec_ndo(items: list[Any], dec: Dec) -> Any:
    np = numpy_module()
    if not items:
        raise Unserializable("malformed array")
    shape = _shape(items[0])
    size = 1
    for n in shape:
        size *= n
    if size != len(items) - 1:
        raise Unserializable("object array element count does not match its shape")
    out = np.empty(size, dtype=object)
    for i, x in enumerate(items[1:]):
        out[i] = dec(x)  # one element each: a list element stays a list
    return out.reshape(shape)


def _dec_npv(items: list[Any], dec: Dec) -> Any:
    np = numpy_module()
    if len(items) != 2:
        raise Unserializable("malformed numpy scalar")
    dtype = _dtype(np, items[0])
    flat = _buffer(np, dtype, items[1])
    if flat.size != 1:
        raise Unserializable("malformed numpy scalar")
    return flat[0]


def _dec_nps(items: list[Any], dec: Dec) -> Any:
    if len(items) != 1 or type(items[0]) is not str:
        raise Unserializable("malformed numpy string")
    return numpy_module().str_(items[0])


def _dec_npb(items: list[Any], dec: Dec) -> Any:
    if len(items) != 1 or type(items[0]) is not str:
        raise Unserializable("malformed numpy bytes")
    return numpy_module().bytes_(items[0].encode("latin-1"))


def array(tree: Any, dec: Dec, np: Any) -> Any:
    """An exact numpy array from a nested tree (a list tagged ``nd`` or ``ndo``)."""
    value = dec(tree)
    if type(value) is not np.ndarray:
        raise Unserializable("malformed array")
    return value



DECODERS: dict[str, Callable[[list[Any], Dec], Any]] = {
    "dtm": _dec_dtm, "date": _dec_date, "time": _dec_time, "tdl": _dec_tdl, "tz": _dec_tzv,
    "dec": _dec_dec, "frac": _dec_frac, "uuid": _dec_uuid,
    "nd": _dec_nd, "ndo": _dec_ndo, "npv": _dec_npv, "nps": _dec_nps, "npb": _dec_npb,
}
"""Decoders by tag: each takes the tree's items and the decoder for nested values. Anything
malformed raises (the codec turns every exception into ``Unserializable``)."""
