"""Pure formatting for the notebook UI: table rows, progress lines, code, tests, diffs, messages.

Nothing here imports ipywidgets or touches a kernel, so the widget, the text fallback of the
magic and the tests all share one wording.
"""

from __future__ import annotations

import difflib
import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COLUMNS",
    "Column",
    "code_html",
    "config_html",
    "config_text",
    "detail_header_html",
    "diff_html",
    "disagreement_call_html",
    "disagreement_output_html",
    "disagreements_text",
    "fmt_runtime",
    "message_bundle",
    "message_html",
    "notices_html",
    "progress_html",
    "progress_text",
    "row_cells",
    "row_text",
    "sort_candidates",
    "table_text",
    "tests_html",
]

# Status order when sorting by status: best outcome first.
_STATUS_ORDER = {
    s: i for i, s in enumerate(
        ("passed", "failed", "error", "timeout", "memory", "crashed", "unserializable", "invalid", "pending")
    )
}
STATUS_COLOURS = {
    "passed": "#1a7f37",
    "failed": "#b35900",
    "pending": "#6e7781",
}
_FAIL_COLOUR = "#cf222e"


def status_colour(status: str) -> str:
    """Text colour of a status (green passed, orange failed, red broken, grey pending)."""
    return STATUS_COLOURS.get(status, _FAIL_COLOUR)


def fmt_runtime(seconds: float | None) -> str:
    """``0.12 ms``, ``35 µs``, ``1.20 s``; ``-`` when nothing was timed."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _tests(c: Any) -> str:
    return f"{c.tests_passed}/{c.tests_total}" if c.verified and c.tests_total else "-"


@dataclass(frozen=True)
class Column:
    """One table column: its title, width in characters, cell text and sort key."""

    key: str
    title: str
    width: int
    text: Callable[[int, Any], str]
    sort: Callable[[int, Any], Any]
    """Sort value (``None`` sorts last whatever the direction)."""
    right: bool = False
    descending_first: bool = False
    """Clicking the header first sorts descending (more tests passed, more samples)."""


def _cluster(c: Any) -> int | None:
    return getattr(c, "cluster", None)


def _cluster_text(c: Any) -> str:
    """``2 (5)``: behaviour cluster 2, with 5 votes behind it (the CLI prints the same)."""
    cluster = _cluster(c)
    if cluster is None:
        return "-"
    size = getattr(c, "cluster_size", None)
    return str(cluster) if size is None else f"{cluster} ({size})"


COLUMNS: tuple[Column, ...] = (
    Column("rank", "rank", 4, lambda r, c: str(r), lambda r, c: r, right=True),
    Column("id", "#", 5, lambda r, c: f"#{c.id}", lambda r, c: c.id, right=True),
    Column("status", "status", 14, lambda r, c: c.status, lambda r, c: _STATUS_ORDER.get(c.status, 99)),
    Column("tests", "tests", 7, lambda r, c: _tests(c),
           lambda r, c: (c.tests_passed, c.tests_total) if c.verified else None, right=True,
           descending_first=True),
    Column("cluster", "cluster", 8, lambda r, c: _cluster_text(c), lambda r, c: _cluster(c), right=True),
    Column("runtime", "runtime", 10, lambda r, c: fmt_runtime(c.runtime_s), lambda r, c: c.runtime_s,
           right=True),
    Column("size", "size", 5, lambda r, c: str(c.size) if c.size else "-", lambda r, c: c.size or None,
           right=True),
    Column("round", "round", 5, lambda r, c: str(c.round), lambda r, c: c.round, right=True),
    Column("model", "model", 20, lambda r, c: c.model or c.origin, lambda r, c: c.model or c.origin),
    Column("samples", "samples", 7, lambda r, c: str(c.samples), lambda r, c: c.samples, right=True,
           descending_first=True),
)
_BY_KEY = {col.key: col for col in COLUMNS}


def _fit(text: str, col: Column) -> str:
    if len(text) > col.width:
        text = text[: col.width - 1] + "…"
    return text.rjust(col.width) if col.right else text.ljust(col.width)


def row_cells(rank: int, c: Any) -> list[str]:
    """The cells of one table row, unpadded."""
    return [col.text(rank, c) for col in COLUMNS]


def row_text(rank: int, c: Any) -> str:
    """One table row as fixed-width text (the widget shows it in a monospace font)."""
    return " ".join(_fit(col.text(rank, c), col) for col in COLUMNS)


def header_text() -> str:
    """The column titles, aligned like :func:`row_text`."""
    return " ".join(_fit(col.title, col) for col in COLUMNS)


def sort_candidates(ranked: Sequence[Any], key: str, descending: bool) -> list[tuple[int, Any]]:
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


# -------------------------------------------------------------------------------------- progress


def _money(cost: float | None) -> str:
    return "cost unknown" if cost is None else f"${cost:.4f}"


def progress_parts(p: Any) -> list[str]:
    """The progress counts as short phrases (shared by the widget and the text form)."""
    parts = [p.state, f"round {p.round}", f"generated {p.generated}",
             f"verified {p.verified}/{p.candidates}", f"passing {p.passing}"]
    if p.requests:
        parts += [f"{p.tokens:,} tokens", _money(p.cost)]
    if getattr(p, "explored", 0):
        parts.append(f"explored {p.explored:,}")
    parts.append(f"{p.elapsed:.1f} s")
    return parts


def progress_text(name: str, p: Any) -> str:
    """``slugify: done, round 1, generated 8, ...`` on one line."""
    return f"{name}: " + ", ".join(progress_parts(p))


_STATE_COLOURS = {"done": "#1a7f37", "failed": _FAIL_COLOUR, "stopped": "#b35900"}


def progress_html(name: str, source: str, p: Any) -> str:
    """The progress line of the widget: what is searched, from where, and the counts."""
    state = html.escape(p.state)
    colour = _STATE_COLOURS.get(p.state, "var(--jp-ui-font-color1, #333)")
    bits = [f'<b style="color:{colour}" class="cs-state">{state}</b>']
    bits += [html.escape(x) for x in progress_parts(p)[1:]]
    return (
        f'<div class="cs-progress-text"><code>{html.escape(name)}</code> '
        f'<span class="cs-dim">({html.escape(source)})</span> &middot; '
        + " &middot; ".join(bits) + "</div>"
    )


def notices_html(notices: Sequence[str]) -> str:
    """Things the user should know, as a short list (empty string when none)."""
    if not notices:
        return ""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notices)
    return f'<ul class="cs-notices">{items}</ul>'


# --------------------------------------------------------------------------------------- details


def code_html(code: str) -> str:
    """Syntax-highlighted Python (inline styles: needs no stylesheet, readable in any theme)."""
    from pygments import highlight  # type: ignore[import-untyped]
    from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
    from pygments.lexers import PythonLexer  # type: ignore[import-untyped]

    return str(highlight(code, PythonLexer(), HtmlFormatter(noclasses=True, style="default", cssclass="cs-code")))


def _short(value: str | None, limit: int = 300) -> str:
    if value is None:
        return ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def tests_html(c: Any) -> str:
    """Each test's outcome: source, got vs expected, error; hidden tests marked."""
    if c.invalid_reason is not None:
        return f'<div class="cs-tests"><p>No runnable code: {html.escape(c.invalid_reason)}</p></div>'
    v = c.verdict
    if v is None:
        return '<div class="cs-tests"><p class="cs-dim">Not verified yet.</p></div>'
    rows = []
    for t in v.tests:
        mark = '<span style="color:#1a7f37">✓</span>' if t.passed else f'<span style="color:{_FAIL_COLOUR}">✗</span>'
        hidden = ' <span class="cs-tag">hidden</span>' if t.hidden else ""
        detail = ""
        if not t.passed:
            if t.got is not None or t.expected is not None:
                detail = (f"got <code>{html.escape(_short(t.got))}</code>, expected "
                          f"<code>{html.escape(_short(t.expected))}</code>")
            if t.error:
                detail += (" " if detail else "") + html.escape(_short(t.error))
            if not detail and t.calls:
                last = t.calls[-1]
                outcome = last.get("got") or last.get("raised") or "?"
                detail = f"<code>{html.escape(_short(last.get('call')))}</code> → {html.escape(_short(outcome))}"
        rows.append(
            f"<tr><td>{mark}</td><td>{t.line}</td><td><code>{html.escape(_short(t.source, 200))}</code>{hidden}</td>"
            f"<td>{detail}</td></tr>"
        )
    head = f"<p><b>{v.tests_passed}/{v.tests_total}</b> tests passed &middot; status {html.escape(v.status)}"
    if v.runtime_s is not None:
        head += f" &middot; {fmt_runtime(v.runtime_s)} per test"
    head += "</p>"
    error = ""
    if v.error and not v.tests:  # nothing ran: the verdict's own error says why
        error = f'<p style="color:{_FAIL_COLOUR}">{html.escape(_short(v.error, 600))}</p>'
    table = (
        '<table class="cs-tests-table"><tr><th></th><th>line</th><th>test</th><th>what happened</th></tr>'
        + "".join(rows) + "</table>" if rows else ""
    )
    stdout = (f'<details><summary>printed output</summary><pre>{html.escape(_short(v.stdout, 2000))}</pre></details>'
              if v.stdout else "")
    return f'<div class="cs-tests">{head}{error}{table}{stdout}</div>'


def diff_html(top: Any, c: Any) -> str:
    """A unified diff of ``c`` against the top candidate, coloured line by line."""
    if top is None:
        return '<p class="cs-dim">No candidates yet.</p>'
    if top.id == c.id:
        return '<p class="cs-dim">This is the top-ranked candidate.</p>'
    lines = list(difflib.unified_diff(
        top.code.splitlines(), c.code.splitlines(), f"#{top.id} (rank 1)", f"#{c.id}", lineterm="", n=3,
    ))
    if not lines:
        return f'<p class="cs-dim">Same code as the top candidate #{top.id}.</p>'
    out = []
    for line in lines:
        colour = ""
        if line.startswith("+") and not line.startswith("+++"):
            colour = "background:#e6ffec;color:#116329"
        elif line.startswith("-") and not line.startswith("---"):
            colour = "background:#ffebe9;color:#82071e"
        elif line.startswith("@@"):
            colour = "color:#0550ae"
        out.append(f'<span style="{colour}">{html.escape(line)}</span>')
    return '<pre class="cs-diff">' + "\n".join(out) + "</pre>"


def detail_header_html(rank: int | None, c: Any) -> str:
    """One line about the selected candidate: where it came from and why it ranks there."""
    where = f"rank {rank}" if rank is not None else "not shown"
    bits = [f"<b>#{c.id}</b>", where, html.escape(c.status)]
    origin = c.model or c.origin
    repair = f", repair of #{c.parent}" if c.parent is not None else ""
    bits.append(html.escape(f"{origin}, round {c.round}{repair}"))
    if c.samples > 1:
        bits.append(f"{c.samples} samples")
    if c.tokens:
        bits.append(f"{c.tokens:,} tokens")
    if c.error:
        bits.append(html.escape(_short(c.error, 200)))
    head = '<div class="cs-detail-head">' + " &middot; ".join(bits) + "</div>"
    reason = getattr(c, "rank_reason", None)
    if isinstance(reason, str) and reason:
        why = f"why rank {rank}" if rank is not None else "ranking"
        head += f'<div class="cs-rank-reason"><span class="cs-dim">{why}:</span> {html.escape(reason)}</div>'
    return head


# --------------------------------------------------------------------------------- disagreements


def disagreement_call_html(d: Any) -> str:
    """The call the top clusters answer differently, as code."""
    return f'<code class="cs-dis-call" title="{html.escape(d.call)}">{html.escape(_short(d.call, 80))}</code>'


def disagreement_output_html(cluster: int, shown: str, votes: int | None = None) -> str:
    """What one cluster answers: ``cluster 2 (1 vote) → '.'``."""
    label = f"cluster {cluster}"
    if votes is not None:
        label += f" ({votes} vote{'' if votes == 1 else 's'})"
    return (f'<span class="cs-dis-out" data-cluster="{cluster}"><span class="cs-dim">{label} →</span> '
            f'<code title="{html.escape(shown)}">{html.escape(_short(shown, 60))}</code></span>')


def disagreements_text(found: Sequence[Any]) -> str:
    """The disagreements as text lines (the magic's terminal form; the CLI words it the same)."""
    if not found:
        return ""
    lines = ["the top behaviour clusters disagree on these inputs (add an assert to decide):"]
    for d in found:
        lines.append(f"  {d.call}: " + "; ".join(f"cluster {cid} -> {b.text}" for cid, b in d.outputs))
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- messages


def message_html(text: str, kind: str = "error", source: str = "%%search") -> str:
    """One boxed message (``error``, ``warning`` or ``info``) from ``source`` (the magic's name)."""
    colours = {"error": ("#cf222e", "#ffebe9"), "warning": ("#9a6700", "#fff8c5"), "info": ("#0969da", "#ddf4ff")}
    fg, bg = colours.get(kind, colours["info"])
    return (
        f'<div class="cs-message cs-{kind}" style="border-left:4px solid {fg};background:{bg};color:#1f2328;'
        f'padding:6px 10px;margin:2px 0;font-family:var(--jp-ui-font-family, sans-serif)">'
        f'<b style="color:{fg}">{html.escape(source)}:</b> {html.escape(text)}</div>'
    )


def message_bundle(text: str, kind: str = "error", source: str = "%%search") -> dict[str, str]:
    """A display bundle for one message: HTML for notebooks, one plain line elsewhere."""
    return {"text/html": message_html(text, kind, source), "text/plain": f"{source}: {text}"}


# ------------------------------------------------------------------------------------ text forms


def table_text(ranked: Sequence[Any], limit: int = 10) -> str:
    """The top of the ranked table as text (for terminals and logs)."""
    lines = [header_text()]
    lines += [row_text(rank, c) for rank, c in enumerate(ranked[:limit], 1)]
    if len(ranked) > limit:
        lines.append(f"... {len(ranked) - limit} more (see _search.to_frame())")
    return "\n".join(lines)


def config_rows(
    config: Any, origin: Mapping[str, str], env_name: Callable[[str], str]
) -> list[tuple[str, str, str, str]]:
    """``(setting, value, where from, environment variable)`` for every setting."""
    from dataclasses import fields

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


def config_html(rows: Sequence[tuple[str, str, str, str]]) -> str:
    """The config table as HTML; values not at their default stand out."""
    body = []
    for name, value, where, env in rows:
        weight = "" if where == "default" else ' style="font-weight:bold"'
        body.append(
            f"<tr><td><code>{html.escape(name)}</code></td><td{weight}>{html.escape(value)}</td>"
            f"<td>{html.escape(where)}</td><td><code>{html.escape(env)}</code></td></tr>"
        )
    return (
        '<table class="cs-config"><tr><th>setting</th><th>value</th><th>from</th><th>environment variable</th></tr>'
        + "".join(body) + "</table>"
        '<p style="font-size:90%">Set for this session with <code>%search_config key=value</code> '
        "(<code>key=</code> unsets, <code>--reset</code> clears all); "
        "<code>%%search</code> options override both.</p>"
    )
