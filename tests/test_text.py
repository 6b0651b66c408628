"""The one text renderer: what the CLI, the terminal magic and the widget's rows say."""

from __future__ import annotations

import html
import re

from jupyter_codesearch import Candidate, Progress, Verdict
from jupyter_codesearch.ui import _render, _text


def _candidate(i: int, status: str = "passed", runtime: float | None = 1e-4, error: str | None = None) -> Candidate:
    verdict = Verdict(index=i, status=status, passed=status == "passed", runtime_s=runtime,  # type: ignore[arg-type]
                      error=error)
    return Candidate(id=i, code=f"def f(x):\n    return {i}\n", origin="synth", model=None, round=1, size=7,
                     verdict=verdict)


def _progress(explored: int = 0) -> Progress:
    return Progress(state="done", round=1, generated=8, candidates=8, verified=8, passing=3, tokens=12345,
                    cost=0.01, requests=2, elapsed=1.25, explored=explored)


def test_a_candidate_that_did_not_finish_shows_no_runtime_in_any_table() -> None:
    for status in ("timeout", "crashed", "memory"):
        cells = dict(zip([c.key for c in _text.COLUMNS], _text.row_cells(1, _candidate(0, status, 2.0)), strict=True))
        assert cells["runtime"] == "-", status
        row = _text.verdict_row_text(Verdict(index=0, status=status, passed=False, runtime_s=2.0))  # type: ignore[arg-type]
        assert row.split()[3] == "-"
    assert _text.row_cells(1, _candidate(0, "failed", 2e-3))[5] == "2.00 ms"


def test_the_widget_rows_are_the_text_tables_rows() -> None:
    ranked = [_candidate(i) for i in range(3)]
    lines = _text.table_text(ranked).splitlines()
    assert lines[0] == _text.header_text().rstrip()
    assert lines[1:] == [_render.row_text(r, c).rstrip() for r, c in enumerate(ranked, 1)]


def test_a_long_table_says_how_many_rows_are_left_and_where_to_see_them() -> None:
    ranked = [_candidate(i) for i in range(12)]
    lines = _text.table_text(ranked, limit=10, more="see res.to_frame()").splitlines()
    assert len(lines) == 12 and lines[-1] == "... 2 more (see res.to_frame())"


def test_progress_reads_the_same_in_text_and_in_the_widget() -> None:
    p = _progress(explored=2_948_672)
    line = _text.progress_text(p)
    assert line == ("done, round 1, generated 8, verified 8/8, passing 3, 12,345 tokens, $0.0100, "
                    "explored 2,948,672 expressions, 1.2 s")
    assert _text.progress_text(p, "slugify") == "slugify: " + line
    shown = html.unescape(re.sub(r"<[^>]+>", "", _render.progress_html("slugify", "synth", p)))
    assert shown.endswith(" · ".join(_text.progress_parts(p)))


def test_long_text_is_clipped_with_one_mark_wherever_it_is_shown() -> None:
    assert _text.clip("abcdef", 4) == "abc…" and _text.clip("abc", 4) == "abc" and _text.clip(None, 4) == ""
    row = _text.verdict_row_text(Verdict(index=0, status="error", passed=False, error="E" * 200))
    assert row.endswith("E" * 79 + "…")
    assert "…" in _render.disagreement_output_html(1, "x" * 100)


def test_the_summary_is_table_best_then_disagreements() -> None:
    ranked = [_candidate(0), _candidate(1, "failed")]
    text = _text.summary_text(ranked, ranked[0], [], insert_hint=True)
    table, best = text.split("\n\n")
    assert table.splitlines()[0].split() == [c.title for c in _text.COLUMNS]
    assert best == "best (#0), insert it with %search_insert 0:\ndef f(x):\n    return 0\n"
    assert _text.summary_text([], None, []) == "no candidate passes every test."


def test_one_palette_colours_statuses_states_and_messages() -> None:
    good, bad = _render.PALETTE["good"][0], _render.PALETTE["bad"][0]
    assert _render.status_colour("passed") == _render.state_colour("done") == good
    assert _render.status_colour("crashed") == _render.state_colour("failed") == bad
    assert f"solid {bad}" in _render.message_html("x") and f"color:{bad}" in _render.status_html("x", "error")
    assert _render.status_html("") == ""
