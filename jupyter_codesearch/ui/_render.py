"""HTML for the notebook UI: progress, code, tests, diffs, disagreements, messages, config.

The wording is ``_text``'s (the table rows, the progress phrases), so the widget, the terminal
form of the magic and the command line say the same. Nothing here imports ipywidgets or touches
a kernel. Colours come from one palette, :data:`PALETTE`.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Sequence
from typing import Literal

from .._model import Candidate, Disagreement, Progress
from ._text import (
    COLUMNS,
    Column,
    clip,
    columns_of,
    config_rows,
    config_text,
    disagreements_text,
    fmt_runtime,
    header_text,
    progress_parts,
    progress_text,
    row_cells,
    row_text,
    sort_candidates,
    table_text,
)

__all__ = [
    "COLUMNS",
    "PALETTE",
    "Column",
    "code_html",
    "columns_of",
    "config_html",
    "config_rows",
    "config_text",
    "detail_header_html",
    "diff_html",
    "disagreement_call_html",
    "disagreement_output_html",
    "disagreements_text",
    "fmt_runtime",
    "header_text",
    "message_bundle",
    "message_html",
    "notices_html",
    "progress_html",
    "progress_text",
    "row_cells",
    "row_text",
    "sort_candidates",
    "state_colour",
    "status_colour",
    "status_html",
    "table_text",
    "tests_html",
    "trajectory_svg",
]

Tone = Literal["good", "partial", "bad", "warning", "info", "dim", "added", "removed", "hunk"]
Kind = Literal["error", "warning", "info"]

PALETTE: dict[Tone, tuple[str, str]] = {
    "good": ("#1a7f37", "#dafbe1"),
    "partial": ("#b35900", "#fff1e5"),  # ran, but not right: failed tests, a stopped run
    "bad": ("#cf222e", "#ffebe9"),
    "warning": ("#9a6700", "#fff8c5"),
    "info": ("#0969da", "#ddf4ff"),
    "dim": ("#6e7781", "#f6f8fa"),
    "added": ("#116329", "#e6ffec"),
    "removed": ("#82071e", "#ffebe9"),
    "hunk": ("#0550ae", "#ddf4ff"),
}
"""Every colour of the UI: ``(text, background)`` per tone (GitHub's light palette, readable in
dark themes too since each pairs with its own background)."""
_TEXT = "var(--jp-ui-font-color1, #333)"
_KIND_TONES: dict[str, Tone] = {"error": "bad", "warning": "warning", "info": "info"}
_STATUS_TONES: dict[str, Tone] = {"passed": "good", "failed": "partial", "pending": "dim"}
_STATE_TONES: dict[str, Tone] = {"done": "good", "failed": "bad", "stopped": "partial"}


def status_colour(status: str) -> str:
    """Text colour of a status (green passed, orange failed, red broken, grey pending)."""
    return PALETTE[_STATUS_TONES.get(status, "bad")][0]


def state_colour(state: str) -> str:
    """Text colour of a run's state (green done, red failed, orange stopped; plain while running)."""
    tone = _STATE_TONES.get(state)
    return _TEXT if tone is None else PALETTE[tone][0]


def status_html(text: str, kind: Kind = "info", raw: bool = False) -> str:
    """A one-line status (after an action): red error, amber warning, plain info; "" when empty."""
    if not text:
        return ""
    colour = _TEXT if kind == "info" else PALETTE[_KIND_TONES[kind]][0]
    body = text if raw else html.escape(text)
    return f'<span class="cs-status cs-status-{kind}" style="color:{colour}">{body}</span>'


# -------------------------------------------------------------------------------------- progress


def progress_html(name: str, source: str, p: Progress) -> str:
    """The progress line of the widget: what is searched, from where, and the counts."""
    bits = [f'<b style="color:{state_colour(p.state)}" class="cs-state">{html.escape(p.state)}</b>']
    bits += [html.escape(x) for x in progress_parts(p)[1:]]
    return (
        f'<div class="cs-progress-text"><code>{html.escape(name)}</code> '
        f'<span class="cs-dim">({html.escape(source)})</span> &middot; '
        + " &middot; ".join(bits) + "</div>"
    )


def trajectory_svg(points: Sequence[tuple[int, float]], drawn: int, runtime: bool = False) -> str:
    """The live chart of an optimising run: best score (a step line) against samples drawn, the
    latest best in words; empty before anything is scored."""
    if not points:
        return ""
    width, height, pad = 260, 56, 4
    scores = [v for _, v in points]
    low, high = min(scores), max(scores)
    span_x, span_y = max(drawn, points[-1][0], 1), (high - low) or 1.0

    def xy(n: int, v: float) -> str:
        x = pad + (width - 2 * pad) * n / span_x
        y = pad + (height - 2 * pad) * (1 - (v - low) / span_y) if high > low else height / 2
        return f"{x:.1f},{y:.1f}"

    steps: list[str] = []
    for k, (n, v) in enumerate(points):
        if k:
            steps.append(xy(n, points[k - 1][1]))
        steps.append(xy(n, v))
    steps.append(xy(span_x, points[-1][1]))
    best = fmt_runtime(points[-1][1]) if runtime else f"{points[-1][1]:.6g}"
    colour = PALETTE["info"][0]
    return (
        f'<div class="cs-trajectory"><svg width="{width}" height="{height}" role="img" '
        f'aria-label="best score by samples drawn"><polyline fill="none" stroke="{colour}" stroke-width="2" '
        f'points="{" ".join(steps)}"/></svg> <span class="cs-dim">best score {html.escape(best)} after '
        f"{points[-1][0]} of {span_x} samples ({len(points)} improvements)</span></div>"
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


def _esc(value: str | None, limit: int = 300) -> str:
    return html.escape(clip(value, limit))


def _mark(passed: bool) -> str:
    tone: Tone = "good" if passed else "bad"
    return f'<span style="color:{PALETTE[tone][0]}">{"✓" if passed else "✗"}</span>'


def tests_html(c: Candidate) -> str:
    """Each test's outcome: source, got vs expected, error; hidden tests marked."""
    if c.invalid_reason is not None:
        return f'<div class="cs-tests"><p>No runnable code: {html.escape(c.invalid_reason)}</p></div>'
    v = c.verdict
    if v is None:
        return '<div class="cs-tests"><p class="cs-dim">Not verified yet.</p></div>'
    rows = []
    for t in v.tests:
        hidden = ' <span class="cs-tag">hidden</span>' if t.hidden else ""
        detail = ""
        if not t.passed:
            if t.got is not None or t.expected is not None:
                detail = f"got <code>{_esc(t.got)}</code>, expected <code>{_esc(t.expected)}</code>"
            if t.error:
                detail += (" " if detail else "") + _esc(t.error)
            if not detail and t.calls:
                last = t.calls[-1]
                outcome = last.get("got") or last.get("raised") or "?"
                detail = f"<code>{_esc(last.get('call'))}</code> → {_esc(outcome)}"
        rows.append(
            f"<tr><td>{_mark(t.passed)}</td><td>{t.line}</td><td><code>{_esc(t.source, 200)}</code>{hidden}</td>"
            f"<td>{detail}</td></tr>"
        )
    head = f"<p><b>{v.tests_passed}/{v.tests_total}</b> tests passed &middot; status {html.escape(v.status)}"
    if v.runtime_s is not None:
        head += f" &middot; {fmt_runtime(v.runtime_s)} per test"
    head += "</p>"
    error = ""
    if v.error and not v.tests:  # nothing ran: the verdict's own error says why
        error = f'<p style="color:{PALETTE["bad"][0]}">{_esc(v.error, 600)}</p>'
    table = (
        '<table class="cs-tests-table"><tr><th></th><th>line</th><th>test</th><th>what happened</th></tr>'
        + "".join(rows) + "</table>" if rows else ""
    )
    stdout = (f'<details><summary>printed output</summary><pre>{_esc(v.stdout, 2000)}</pre></details>'
              if v.stdout else "")
    return f'<div class="cs-tests">{head}{error}{table}{stdout}</div>'


def _diff_style(line: str) -> str:
    if line.startswith("+") and not line.startswith("+++"):
        fg, bg = PALETTE["added"]
        return f"background:{bg};color:{fg}"
    if line.startswith("-") and not line.startswith("---"):
        fg, bg = PALETTE["removed"]
        return f"background:{bg};color:{fg}"
    if line.startswith("@@"):
        return f"color:{PALETTE['hunk'][0]}"
    return ""


def diff_html(top: Candidate | None, c: Candidate) -> str:
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
    out = [f'<span style="{_diff_style(line)}">{html.escape(line)}</span>' for line in lines]
    return '<pre class="cs-diff">' + "\n".join(out) + "</pre>"


def detail_header_html(rank: int | None, c: Candidate) -> str:
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
        bits.append(_esc(c.error, 200))
    head = '<div class="cs-detail-head">' + " &middot; ".join(bits) + "</div>"
    if c.rank_reason:
        why = f"why rank {rank}" if rank is not None else "ranking"
        head += f'<div class="cs-rank-reason"><span class="cs-dim">{why}:</span> {html.escape(c.rank_reason)}</div>'
    return head


# --------------------------------------------------------------------------------- disagreements


def disagreement_call_html(d: Disagreement) -> str:
    """The call the top clusters answer differently, as code."""
    return f'<code class="cs-dis-call" title="{html.escape(d.call)}">{_esc(d.call, 80)}</code>'


def disagreement_output_html(cluster: int, shown: str, votes: int | None = None) -> str:
    """What one cluster answers: ``cluster 2 (1 vote) → '.'``."""
    label = f"cluster {cluster}"
    if votes is not None:
        label += f" ({votes} vote{'' if votes == 1 else 's'})"
    return (f'<span class="cs-dis-out" data-cluster="{cluster}"><span class="cs-dim">{label} →</span> '
            f'<code title="{html.escape(shown)}">{_esc(shown, 60)}</code></span>')


# -------------------------------------------------------------------------------------- messages


def message_html(text: str, kind: Kind = "error", source: str = "%%search") -> str:
    """One boxed message (``error``, ``warning`` or ``info``) from ``source`` (the magic's name)."""
    fg, bg = PALETTE[_KIND_TONES.get(kind, "info")]
    return (
        f'<div class="cs-message cs-{kind}" style="border-left:4px solid {fg};background:{bg};color:#1f2328;'
        f'padding:6px 10px;margin:2px 0;font-family:var(--jp-ui-font-family, sans-serif)">'
        f'<b style="color:{fg}">{html.escape(source)}:</b> {html.escape(text)}</div>'
    )


def message_bundle(text: str, kind: Kind = "error", source: str = "%%search") -> dict[str, str]:
    """A display bundle for one message: HTML for notebooks, one plain line elsewhere."""
    return {"text/html": message_html(text, kind, source), "text/plain": f"{source}: {text}"}


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
