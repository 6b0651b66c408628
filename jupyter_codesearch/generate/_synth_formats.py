"""Formats as operations: numbers parsed and printed again, padding, rounding, month names.

Each one prints as the Python a person would write (``format(float(s), '.2f')``,
``s.zfill(5)``, ``calendar.month_name[int(m)]``), and each refuses values it does not apply to
(a string that is not a plain number, a month outside 1-12), so it only ever produces values
where its meaning is clear. They are offered only where the examples hold digits (``digits``):
a task without numbers has no use for them and should not pay for trying them.
"""

from __future__ import annotations

import calendar
import re

from jupyter_codesearch.generate._synth_ops import INT, PREC_ATOM, STR, Op

__all__ = ["FORMAT_OPS"]

_DECIMAL = re.compile(r"-?\d{1,15}(\.\d{1,15})?")
_INTEGER = re.compile(r"-?\d{1,15}")
_ABBR = [a.lower() for a in calendar.month_abbr]


def _decimal(s: str) -> float:
    # only plain written numbers: float() would also take 'nan', '1e5' and ' 7 '
    if not _DECIMAL.fullmatch(s):
        raise ValueError("not a plain decimal number")
    return float(s)


def _integer(s: str) -> int:
    if not _INTEGER.fullmatch(s):
        raise ValueError("not a plain integer")
    return int(s)


def _fixed(s: str, places: int) -> str:
    if not 0 <= places <= 6:
        raise ValueError("unusual number of places")
    return format(_decimal(s), f".{places}f")


def _rounded(s: str) -> str:
    return str(round(_decimal(s)))


def _thousands(s: str) -> str:
    return format(_integer(s), ",")


def _signed(s: str) -> str:
    return format(_integer(s), "+d")


def _zfill(s: str, width: int) -> str:
    if not 0 < width <= 20:
        raise ValueError("unusual width")
    return s.zfill(width)


def _two_digits(n: int) -> str:
    if not 0 <= n < 100:
        raise ValueError("not a two-digit field")
    return format(n, "02d")


def _month(n: int) -> int:
    if not 1 <= n <= 12:
        raise ValueError("not a month")
    return n


def _month_name(n: int) -> str:
    return calendar.month_name[_month(n)]


def _month_abbr(n: int) -> str:
    return calendar.month_abbr[_month(n)]


def _month_number(s: str) -> int:
    key = s[:3].lower()
    if len(key) < 3 or key not in _ABBR:
        raise ValueError("not a month name")
    return _ABBR.index(key)


def _ops() -> list[Op]:
    A = PREC_ATOM
    S, I = STR, INT  # noqa: E741 -- short type names keep the table readable
    cal = ("calendar",)
    return [
        Op("zfill", (S, I), S, _zfill, "{0}.zfill({1})", need=(A,), const_arg=True, digits=True),
        Op("fixed", (S, I), S, _fixed, "format(float({0}), '.{1}f')", const_arg=True, digits=True),
        Op("rounded", (S,), S, _rounded, "str(round(float({0})))", digits=True),
        Op("thousands", (S,), S, _thousands, "format(int({0}), ',')", digits=True),
        Op("signed", (S,), S, _signed, "format(int({0}), '+d')", digits=True),
        Op("two_digits", (I,), S, _two_digits, "format({0}, '02d')", digits=True),
        Op("month_name", (I,), S, _month_name, "calendar.month_name[{0}]", imports=cal, digits=True),
        Op("month_abbr", (I,), S, _month_abbr, "calendar.month_abbr[{0}]", imports=cal, digits=True),
        Op(
            "month_number",
            (S,),
            I,
            _month_number,
            "list(calendar.month_abbr).index({0}[:3].title())",
            need=(A,),
            imports=cal,
            digits=True,
        ),
    ]


FORMAT_OPS: tuple[Op, ...] = tuple(_ops())
