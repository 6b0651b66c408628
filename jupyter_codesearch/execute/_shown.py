"""Text for people: values and calls as verdicts show them, bounded and valid UTF-8.

Used on the trusted side in the kernel and by the caller (labels of planned calls). Shipped
into the kernel as source: standard library only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["REPR_KEEP", "label", "short", "text"]

REPR_KEEP = 300
"""Characters of a value's repr kept in a verdict: enough to see what differs."""
_LABEL_KEEP = 200


def text(value: object, keep: int) -> str:
    """Text that came from a candidate, made safe to send: bounded, and valid UTF-8 (a lone
    surrogate would make the kernel fail to encode the whole message)."""
    try:
        shown = str(value)
    except Exception:
        shown = "<unprintable>"
    return shown[:keep].encode("utf-8", "replace").decode("utf-8")


def short(value: object, keep: int = REPR_KEEP) -> str:
    """``repr(value)``, cut to ``keep`` characters with an ellipsis, valid UTF-8."""
    try:
        shown = repr(value)
    except Exception as e:  # a user's expected value with a broken __repr__
        shown = f"<repr failed: {type(e).__name__}>"
    shown = shown if len(shown) <= keep else shown[: keep - 1] + "…"
    return shown if shown.isascii() else shown.encode("utf-8", "replace").decode("utf-8")


def _argument(value: object) -> str:
    """An argument as a call shows it: its repr, or for a frame, series or array (whose repr
    spans lines) its kind and shape: ``<DataFrame 6x2>``."""
    t = type(value)
    if (getattr(t, "__module__", "") or "").split(".")[0] in ("pandas", "numpy"):
        shape = getattr(value, "shape", None)
        if type(shape) is tuple and len(shape) != 0 and all(type(n) is int for n in shape):
            return f"<{t.__name__} {'x'.join(map(str, shape))}>"
    return short(value)


def label(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The call as the user would write it: ``f(1, 'a', key=2)``."""
    shown = [*map(_argument, args), *(f"{k}={_argument(v)}" for k, v in kwargs.items())]
    call = f"{name}({', '.join(shown)})"
    return call if len(call) <= _LABEL_KEEP else call[: _LABEL_KEEP - 1] + "…"
