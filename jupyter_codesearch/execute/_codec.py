"""Plain-data codec used on both sides of the trust boundary.

Only these types cross, matched by *exact* type (an ``int`` subclass with a custom ``__eq__`` is
not an int): None, bool, int, float, complex, str, bytes, and list, tuple, dict, set, frozenset
of those; and the data values of ``_codec_data`` (dates and times, Decimal, Fraction, UUID,
numpy arrays and scalars, pandas frames, series and indexes), rebuilt by the receiver from the
data they are made of. Each keeps the equality it has in the user's kernel: ``collections.OrderedDict`` and
``Counter`` cross as themselves (two ``OrderedDict`` compare in order; a ``Counter`` ignores zero
counts), ``defaultdict`` as a plain dict (it compares as one). :func:`decode` is what the
trusted side runs on bytes a candidate produced, so it builds every value itself and accepts
nothing else; whatever a candidate sends, the result is plain data or :class:`Unserializable`
(never another exception: a failure is the sender's). Building can still be slow (a set of
ints with equal hashes is quadratic): callers decode under their candidate's deadline.

This module is shipped as source into the kernels and the sandbox: standard library only (numpy
and pandas are imported by ``_codec_data`` only when one of their values is met).
"""

from __future__ import annotations

import collections
import hashlib
import json
import socket
from typing import Any

from ._codec_data import DECODERS, NOT_DATA, Unserializable, encode_data
from ._codec_frames import FRAME_DECODERS, encode_frame
from ._protocol import Size

__all__ = ["MAX_BYTES", "Unserializable", "canonical", "decode", "encode", "from_tree", "to_tree", "value_digest"]

MAX_BYTES = Size.MESSAGE
"""Largest encoded value or framed message accepted (see ``_protocol.Size``)."""

_MAX_DEPTH = 200
_DICT_TAGS: dict[type, str] = {
    dict: "D", collections.defaultdict: "D", collections.OrderedDict: "O", collections.Counter: "N",
}
"""The dicts that cross, by exact type. A defaultdict compares as a plain dict, so it crosses as
one; OrderedDict and Counter compare differently (order; zero counts) and keep their type."""
_SMALL = 1 << 62  # larger ints travel as hex: int(s, 16) is linear and not limited by int_max_str_digits


def to_tree(value: object) -> Any:
    """Plain data as a JSON-compatible tree; raise :class:`Unserializable` naming the offending type."""
    try:
        return _enc(value, 0)
    except Unserializable:
        raise
    except RecursionError:
        raise Unserializable("value nested too deeply") from None
    except Exception as e:  # a data value whose parts are not what its type promises
        raise Unserializable(f"a value that could not be encoded ({type(e).__name__})") from None


def encode(value: object) -> bytes:
    """Encode plain data as bytes (a JSON text of :func:`to_tree`)."""
    return _encode(to_tree(value)).encode()


def _enc(v: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise Unserializable("value nested too deeply")
    t = type(v)
    if v is None or t is bool or t is str or t is float:
        return v
    if t is int:
        return v if -_SMALL < v < _SMALL else ["I", format(v, "x")]
    d = depth + 1
    if t is list:
        return ["L", *(_enc(x, d) for x in v)]
    if t is tuple:
        return ["T", *(_enc(x, d) for x in v)]
    tag = _DICT_TAGS.get(t)
    if tag is not None:
        # Items are read with dict's own method, so a patched subclass cannot change what is sent.
        out: list[Any] = [tag]
        for k, x in dict.items(v):
            out.append(_enc(k, d))
            out.append(_enc(x, d))
        return out
    if t is set or t is frozenset:
        return ["S" if t is set else "F", *(_enc(x, d) for x in v)]
    if t is bytes:
        return ["B", v.decode("latin-1")]
    if t is complex:
        return ["C", v.real, v.imag]
    data = encode_data(v, lambda x: _enc(x, d))
    if data is NOT_DATA:
        data = encode_frame(v, lambda x: _enc(x, d))
    if data is not NOT_DATA:
        return data
    raise Unserializable(f"a value of type {_type_name(v)}, which is not plain data")


def decode(data: bytes) -> object:
    """Decode bytes from :func:`encode`. Anything malformed raises :class:`Unserializable`."""
    if len(data) > MAX_BYTES:
        raise Unserializable(f"value larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        tree = json.loads(data)
    except (ValueError, RecursionError, UnicodeError) as e:
        raise Unserializable(f"malformed value ({type(e).__name__})") from None
    return from_tree(tree)


def from_tree(tree: Any) -> object:
    """Build plain data from an (untrusted) tree made by :func:`to_tree`."""
    try:
        return _dec(tree, 0)
    except Unserializable:
        raise
    except Exception as e:  # whatever building it raised (OverflowError, MemoryError, ...): the sender's
        raise Unserializable(f"malformed value ({type(e).__name__})") from None


_DICT_TYPES: dict[str, type[dict[Any, Any]]] = {
    "D": dict, "O": collections.OrderedDict, "N": collections.Counter,
}


_DATA_DECODERS = {**DECODERS, **FRAME_DECODERS}


def _dec(v: Any, depth: int) -> object:
    if depth > _MAX_DEPTH + 1:
        raise Unserializable("value nested too deeply")
    t = type(v)
    if v is None or t is bool or t is str or t is float or t is int:
        return v
    if t is not list or not v or type(v[0]) is not str:
        raise Unserializable("malformed value")
    tag, items, d = v[0], v[1:], depth + 1
    if tag == "L":
        return [_dec(x, d) for x in items]
    if tag == "T":
        return tuple(_dec(x, d) for x in items)
    if tag == "S":
        return {_dec(x, d) for x in items}
    if tag == "F":
        return frozenset(_dec(x, d) for x in items)
    if tag in _DICT_TYPES:
        if len(items) % 2:
            raise Unserializable("malformed dict")
        out = _DICT_TYPES[tag]()
        for i in range(0, len(items), 2):
            out[_dec(items[i], d)] = _dec(items[i + 1], d)  # (Counter's update would add counts)
        return out
    if tag == "I" and len(items) == 1 and type(items[0]) is str:
        return int(items[0], 16)
    if tag == "B" and len(items) == 1 and type(items[0]) is str:
        return items[0].encode("latin-1")
    if tag == "C" and len(items) == 2 and all(type(x) in (int, float) for x in items):
        return complex(items[0], items[1])
    build = _DATA_DECODERS.get(tag)
    if build is not None:
        return build(items, lambda x: _dec(x, d))
    raise Unserializable("malformed value")


def canonical(tree: Any) -> str:
    """A string equal for equal values: sets and dicts in sorted order (not iteration order)."""

    def canon(t: Any) -> Any:
        if type(t) is list and t and type(t[0]) is str:
            tag, items = t[0], [canon(x) for x in t[1:]]
            if tag in ("S", "F"):
                items.sort(key=lambda x: json.dumps(x, sort_keys=True))
            elif tag in ("D", "N", "O"):
                # As one kind of dict: they compare equal to plain dicts with the same items
                # (OrderedDict's order and Counter's zeros make == intransitive; no digest can
                # follow that, and ranking only needs "same answer", verdicts compare for real).
                tag = "D"
                pairs = sorted(
                    zip(items[::2], items[1::2], strict=True), key=lambda kv: json.dumps(kv[0], sort_keys=True)
                )
                items = [x for kv in pairs for x in kv]
            return [tag, *items]
        return t

    return json.dumps(canon(tree), separators=(",", ":"), allow_nan=True)


def value_digest(tree: Any) -> str:
    """A short digest equal for equal values (of :func:`canonical`): how behaviours on probes are
    compared, on both sides (answers can be huge; digests are not)."""
    return hashlib.sha256(canonical(tree).encode()).hexdigest()[:24]


def _type_name(v: object) -> str:
    t = type(v)
    mod = getattr(t, "__module__", "")
    name = getattr(t, "__qualname__", "?")
    return name if not mod or mod == "builtins" or mod.startswith("__") else f"{mod}.{name}"


# -- framing: length-prefixed JSON messages over a stream socket, optionally carrying fds --------

_LEN = 4


# One encoder made once: json.dumps() with options builds a new one per call, which in a freshly
# forked candidate means touching (and copying) more of the zygote's memory for every message.
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=True).encode


def send_msg(sock: Any, obj: object, fds: tuple[int, ...] = ()) -> None:
    """Send one JSON message (with file descriptors attached, if any)."""
    data = _encode(obj).encode()
    frame = len(data).to_bytes(_LEN, "big") + data
    if fds:
        sent = socket.send_fds(sock, [frame], list(fds))
        frame = frame[sent:]
    if frame:
        sock.sendall(frame)


def recv_msg(sock: Any, limit: int = MAX_BYTES, fds: bool = True) -> tuple[Any, list[int]] | None:
    """Receive one message and the fds sent with it; ``None`` on end of stream (blocking)."""
    if fds:
        head, passed, _flags, _addr = socket.recv_fds(sock, _LEN, 8)
    else:
        head, passed = sock.recv(_LEN), []
    if not head:
        return None
    while len(head) < _LEN:
        more = sock.recv(_LEN - len(head))
        if not more:
            return None
        head += more
    size = int.from_bytes(head, "big")
    if size > limit:
        raise Unserializable(f"message of {size} bytes is over the limit")
    chunks, need = [], size
    while need:
        chunk = sock.recv(min(need, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        need -= len(chunk)
    return json.loads(b"".join(chunks)), passed
