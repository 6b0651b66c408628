"""Plain-text forms of a run: the one wording of tables, progress lines and summaries.

Used by the command line, the terminal form of ``%%search`` and the widget (whose table rows are
these very lines, in a monospace font), so the three cannot drift apart. Nothing here imports
ipywidgets, touches a kernel or writes anywhere: callers print.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._model import Candidate, Disagreement, Progress, Verdict
from .._options import env_name

if TYPE_CHECKING:
    from .._config import SearchConfig

__all__ = [
    "COLUMNS",
    "SCORE_COLUMN",
    "VERDICT_COLUMNS",
    "Column",
    "best_text",
    "clip",
    "columns_for",
    "columns_of",
    "config_rows",
    "config_text",
    "disagreements_text",
    "fmt_runtime",
    "header_text",
    "history_cells",
    "history_text",
    "progress_parts",
    "progress_text",
    "row_cells",
    "row_text",
    "sort_candidates",
    "summary_text",
    "table_text",
    "trajectory_text",
    "verdict_row_text",
    "verdicts_text",
    "verify_progress_text",
]

T = TypeVar("T")

# Status order when sorting by status: best outcome first.
_STATUS_ORDER = {
    s: i for i, s in enumerate(
        ("passed", "failed", "error", "timeout", "memory", "crashed", "unserializable", "invalid", "pending")
    )
}
_RAN_TO_THE_END = ("passed", "failed", "error")


def clip(text: str | None, limit: int) -> str:
    """At most ``limit`` characters, the last one ``…`` when cut; ``None`` is empty."""
    if text is None:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fmt_runtime(seconds: float | None) -> str:
    """``0.12 ms``, ``35 µs``, ``1.20 s``; ``-`` when nothing was timed."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _runtime(status: str, seconds: float | None) -> float | None:
    # Only a candidate that ran its tests to the end has a runtime worth showing (a timeout's
    # is the limit, a crash's is whatever it managed before dying).
    return seconds if status in _RAN_TO_THE_END else None


@dataclass(frozen=True)
class Column(Generic[T]):
    """One table column: its title, width in characters, cell text and sort key."""

    key: str
    title: str
    width: int
    text: Callable[[int, T], str]
    sort: Callable[[int, T], Any]
    """Sort value (``None`` sorts last whatever the direction)."""
    right: bool = False
    descending_first: bool = False
    """Clicking the header first sorts descending (more tests passed, more samples)."""


def _tests(c: Candidate) -> str:
    return f"{c.tests_passed}/{c.tests_total}" if c.verified and c.tests_total else "-"


def _status_text(c: Candidate) -> str:
    """``passed``, or ``passed (cached)`` for a verdict the history had (not verified again)."""
    return f"{c.status} (cached)" if c.verdict is not None and c.verdict.cached else c.status


def _cluster_text(c: Candidate) -> str:
    """``2 (5)``: behaviour cluster 2, with 5 votes behind it."""
    if c.cluster is None:
        return "-"
    return str(c.cluster) if c.cluster_size is None else f"{c.cluster} ({c.cluster_size})"


COLUMNS: tuple[Column[Candidate], ...] = (
    Column("rank", "rank", 4, lambda r, c: str(r), lambda r, c: r, right=True),
    Column("id", "#", 5, lambda r, c: f"#{c.id}", lambda r, c: c.id, right=True),
    Column("status", "status", 16, lambda r, c: _status_text(c), lambda r, c: _STATUS_ORDER.get(c.status, 99)),
    Column("tests", "tests", 7, lambda r, c: _tests(c),
           lambda r, c: (c.tests_passed, c.tests_total) if c.verified else None, right=True,
           descending_first=True),
    Column("cluster", "cluster", 8, lambda r, c: _cluster_text(c), lambda r, c: c.cluster, right=True),
    Column("runtime", "runtime", 10, lambda r, c: fmt_runtime(_runtime(c.status, c.runtime_s)),
           lambda r, c: _runtime(c.status, c.runtime_s), right=True),
    Column("size", "size", 5, lambda r, c: str(c.size) if c.size else "-", lambda r, c: c.size or None,
           right=True),
    Column("round", "round", 5, lambda r, c: str(c.round), lambda r, c: c.round, right=True),
    Column("model", "model", 20, lambda r, c: c.model or c.origin, lambda r, c: c.model or c.origin),
    Column("samples", "samples", 7, lambda r, c: str(c.samples), lambda r, c: c.samples, right=True,
           descending_first=True),
)
"""The ranked table, for the widget, the terminal and the command line alike."""


def _score_text(c: Candidate) -> str:
    v = c.verdict
    if v is not None and v.score_error is not None:
        return "error"
    if c.score is None or v is None:
        return "-"
    low, high = v.score_interval or (c.score, c.score)
    return fmt_runtime(c.score) if high > low else f"{c.score:.6g}"  # only runtimes have a width


SCORE_COLUMN: Column[Candidate] = Column(
    "score", "score", 10, lambda r, c: _score_text(c), lambda r, c: c.score, right=True)
"""Shown after ``tests`` when a run has scores (its cell has a ``@score`` function)."""
_BY_KEY = {col.key: col for col in (*COLUMNS, SCORE_COLUMN)}


def columns_of(scored: bool) -> tuple[Column[Candidate], ...]:
    """:data:`COLUMNS`, with the score column after ``tests`` when ``scored`` (a live view knows
    from the cell whether its run has scores, before any arrives)."""
    return (*COLUMNS[:4], SCORE_COLUMN, *COLUMNS[4:]) if scored else COLUMNS


def columns_for(ranked: Sequence[Candidate]) -> tuple[Column[Candidate], ...]:
    """:data:`COLUMNS`, with the score column when any candidate was scored."""
    if not any(c.score is not None or (c.verdict is not None and c.verdict.score_error) for c in ranked):
        return COLUMNS
    return columns_of(True)

VERDICT_COLUMNS: tuple[Column[Verdict], ...] = (
    Column("index", "#", 4, lambda r, v: str(v.index), lambda r, v: v.index, right=True),
    Column("status", "status", 14, lambda r, v: v.status, lambda r, v: _STATUS_ORDER.get(v.status, 99)),
    Column("tests", "tests", 7, lambda r, v: f"{v.tests_passed}/{v.tests_total}",
           lambda r, v: (v.tests_passed, v.tests_total), right=True),
    Column("runtime", "runtime", 10, lambda r, v: fmt_runtime(_runtime(v.status, v.runtime_s)),
           lambda r, v: _runtime(v.status, v.runtime_s), right=True),
    Column("detail", "detail", 80, lambda r, v: v.error or "", lambda r, v: v.error),
)
"""``jupyter-codesearch verify``: one row per candidate, in input order (no rank yet)."""


def _fit(text: str, col: Column[Any]) -> str:
    text = clip(text, col.width)
    return text.rjust(col.width) if col.right else text.ljust(col.width)


def _line(columns: Sequence[Column[T]], cells: Sequence[str]) -> str:
    return " ".join(_fit(text, col) for col, text in zip(columns, cells, strict=True)).rstrip()


def row_cells(rank: int, c: Candidate) -> list[str]:
    """The cells of one table row, unpadded."""
    return [col.text(rank, c) for col in COLUMNS]


def row_text(rank: int, c: Candidate, columns: Sequence[Column[Candidate]] = COLUMNS) -> str:
    """One table row as fixed-width text (the widget shows it in a monospace font)."""
    return " ".join(_fit(col.text(rank, c), col) for col in columns)


def header_text(columns: Sequence[Column[Candidate]] = COLUMNS) -> str:
    """The column titles, aligned like :func:`row_text`."""
    return " ".join(_fit(col.title, col) for col in columns)


def sort_candidates(ranked: Sequence[Candidate], key: str, descending: bool) -> list[tuple[int, Candidate]]:
    """``(rank, candidate)`` pairs sorted by a column; ties and missing values keep rank order."""
    pairs = [(rank, c) for rank, c in enumerate(ranked, 1)]
    if key == "rank":
        return pairs[::-1] if descending else pairs
    col = _BY_KEY[key]
    present = [(col.sort(r, c), r, c) for r, c in pairs if col.sort(r, c) is not None]
    missing = [(r, c) for r, c in pairs if col.sort(r, c) is None]
    # Two stable sorts: rank order within equal values, whatever the direction.
    present.sort(key=lambda t: t[1])
    present.sort(key=lambda t: t[0], reverse=descending)
    return [(r, c) for _, r, c in present] + missing


def table_text(ranked: Sequence[Candidate], limit: int | None = None, more: str = "") -> str:
    """The ranked table as text, the first ``limit`` rows (all by default).

    ``more`` follows the count of rows left out: where to see them (``see _search.to_frame()``).
    """
    shown = ranked if limit is None else ranked[:limit]
    columns = columns_for(ranked)
    lines = [header_text(columns).rstrip()]
    lines += [row_text(rank, c, columns).rstrip() for rank, c in enumerate(shown, 1)]
    if len(ranked) > len(shown):
        lines.append(f"... {len(ranked) - len(shown)} more" + (f" ({more})" if more else ""))
    return "\n".join(lines)


def trajectory_text(points: Sequence[tuple[int, float]], runtime: bool = False) -> str:
    """An optimising run's climb: the best score each time it improved, by samples drawn."""
    if not points:
        return ""
    lines = ["best score by samples drawn:", f"{'samples':>9}  best"]
    lines += [f"{n:>9}  {fmt_runtime(v) if runtime else f'{v:.6g}'}" for n, v in points]
    return "\n".join(lines)


def verdict_row_text(v: Verdict) -> str:
    """One verdict as a row of :data:`VERDICT_COLUMNS`."""
    return _line(VERDICT_COLUMNS, [col.text(0, v) for col in VERDICT_COLUMNS])


def verdicts_text(verdicts: Sequence[Verdict]) -> str:
    """``jupyter-codesearch verify``'s table and how many pass."""
    lines = [_line(VERDICT_COLUMNS, [col.title for col in VERDICT_COLUMNS])]
    lines += [verdict_row_text(v) for v in verdicts]
    passing = sum(v.passed for v in verdicts)
    lines.append(f"{passing} of {len(verdicts)} candidates pass every test.")
    return "\n".join(lines)


def verify_progress_text(done: int, total: int, passing: int) -> str:
    """``verified 3/10, 2 passing`` (the live line of ``verify``)."""
    return f"verified {done}/{total}, {passing} passing"


# -------------------------------------------------------------------------------------- progress


def _money(cost: float | None) -> str:
    return "cost unknown" if cost is None else f"${cost:.4f}"


def progress_parts(p: Progress) -> list[str]:
    """The progress counts as short phrases (the widget joins them with dots, text with commas)."""
    parts = [p.state, f"round {p.round}", f"generated {p.generated}",
             f"verified {p.verified}/{p.candidates}", f"passing {p.passing}"]
    if p.requests:
        parts += [f"{p.tokens:,} tokens", _money(p.cost)]
    if p.explored:
        parts.append(f"explored {p.explored:,} expressions")
    parts.append(f"{p.elapsed:.1f} s")
    return parts


def progress_text(p: Progress, name: str | None = None) -> str:
    """``done, round 1, generated 8, ...`` on one line; ``slugify: done, ...`` with a name."""
    line = ", ".join(progress_parts(p))
    return f"{name}: {line}" if name else line


# ------------------------------------------------------------------------------------ summaries


def best_text(best: Candidate | None, insert_hint: bool = False) -> str:
    """The best candidate's code under one line saying which it is (or that none passes)."""
    if best is None:
        return "no candidate passes every test."
    hint = f", insert it with %search_insert {best.id}" if insert_hint else ""
    return f"best (#{best.id}){hint}:\n{best.code}"


def disagreements_text(found: Sequence[Disagreement]) -> str:
    """The inputs the top behaviour clusters answer differently, one per line ("" when none)."""
    if not found:
        return ""
    lines = ["the top behaviour clusters disagree on these inputs (add an assert to decide):"]
    for d in found:
        lines.append(f"  {d.call}: " + "; ".join(f"cluster {cid} -> {b.text}" for cid, b in d.outputs))
    return "\n".join(lines)


def summary_text(ranked: Sequence[Candidate], best: Candidate | None, found: Sequence[Disagreement], *,
                 limit: int | None = None, more: str = "", insert_hint: bool = False) -> str:
    """What a finished run prints: the ranked table, the best candidate, the disagreements."""
    parts = [table_text(ranked, limit, more)] if ranked else []
    parts.append(best_text(best, insert_hint))
    found_text = disagreements_text(found)
    if found_text:
        parts.append(found_text)
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------------------- config


def config_rows(config: SearchConfig, origin: Mapping[str, str]) -> list[tuple[str, str, str, str]]:
    """``(setting, value, where from, environment variable)`` for every setting."""
    rows = []
    for f in fields(config):
        value = getattr(config, f.name)
        shown = "-" if value is None else (" ".join(map(str, value)) if isinstance(value, tuple) else str(value))
        rows.append((f.name, shown, origin.get(f.name, "default"), env_name(f.name)))
    return rows


def config_text(rows: Sequence[tuple[str, str, str, str]]) -> str:
    """The config table as aligned text."""
    head = ("setting", "value", "from", "environment variable")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(out)


# --------------------------------------------------------------------------------------- history


def history_cells(s: Mapping[str, Any]) -> dict[str, str]:
    """One past run as the words of a history listing (CLI, terminal and DataFrame alike)."""
    cost = s.get("cost")
    return {
        "id": str(s["id"]), "when": time.strftime("%Y-%m-%d %H:%M", time.localtime(s["started"])),
        "function": str(s["function"]), "model": str(s.get("model") or "synthesizer"), "status": str(s["status"]),
        "best": str(s.get("best_status") or "-"), "candidates": str(s["candidates"]),
        "cost": "-" if cost is None else f"${cost:.4f}",
    }


def history_text(summaries: Sequence[Mapping[str, Any]]) -> str:
    """Past runs, newest first, one line each (``jupyter-codesearch history``)."""
    if not summaries:
        return "no runs in the search history yet."
    rows = [history_cells(s) for s in summaries]
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    line = "  ".join(k.ljust(widths[k]) for k in keys).rstrip()
    return "\n".join([line, *("  ".join(r[k].ljust(widths[k]) for k in keys).rstrip() for r in rows)])
