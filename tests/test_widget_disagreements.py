"""The widget's disagreements panel: inputs on which the top behaviour clusters differ, each
answer one click from becoming an assert at the end of the ``%%search`` cell.

Driven in-process against the real clustering (``rank.clusters`` / ``rank.disagreements``) with a
fake extension bridge; one slow test uses a real offline search. The browser side (the assert
really lands in the right cell and the next run ranks by it) is in test_notebook_browser.py.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pytest

from jupyter_codesearch import Candidate, SearchConfig, Spec, Verdict, search
from jupyter_codesearch._model import Behaviour, Disagreement
from jupyter_codesearch.rank import clusters, disagreements, ranked
from jupyter_codesearch.ui import _magic, _render
from jupyter_codesearch.ui._widget import DISAGREEMENT_CLUSTERS, DISAGREEMENT_ROWS, SearchView
from tests.test_magic import FakeBridge, FakeRun, wait_for

INITIALS = '''\
def initials(full_name: str) -> str:
    """Initials of a name: first letter of each word, upper-cased, each followed by a dot."""

assert initials("ada lovelace") == "A.L."
assert initials("Grace Hopper") == "G.H."
'''


class ClusteredRun(FakeRun):
    """A FakeRun whose candidates carry probe outputs, clustered and compared by the real ranker."""

    def __init__(self, probes: list[tuple[Any, ...]]) -> None:
        super().__init__(INITIALS, SearchConfig())
        self.probes = tuple(probes)

    def ranked(self) -> list[Candidate]:
        return ranked(self.candidates, clusters(self.candidates))

    def disagreements(self, top: int = 3, limit: int = 10) -> list[Disagreement]:
        return disagreements(clusters(self.candidates), self.probes, self.spec.name, top, limit)


def probed(i: int, shown: list[str], samples: int = 1) -> Candidate:
    """A passing candidate that answers the probes with ``shown`` (a ``raises ...`` is an exception)."""
    behaviours = tuple(Behaviour("raised", s, s) if s.startswith("raises ") else Behaviour("value", s, s)
                       for s in shown)
    return Candidate(id=i, code=f"def initials(full_name):\n    return {i!r}\n", origin="synth", model=None,
                     round=1, samples=samples, size=10 + i, verdict=Verdict(i, "passed", True, runtime_s=1e-5),
                     behaviours=behaviours)


def three_clusters() -> ClusteredRun:
    """Three behaviours on ('',), ('x',), ('a b',): they agree on the last, not on the others."""
    run = ClusteredRun([("",), ("x",), ("a b",)])
    run.add(probed(0, ["''", "'X.'", "'A.B.'"], samples=3))  # cluster 1 (3 votes)
    run.add(probed(1, ["'.'", "'X.'", "'A.B.'"], samples=2))  # cluster 2
    run.add(probed(2, ["raises IndexError: string index out of range", "'x.'", "'A.B.'"]))  # cluster 3
    return run


def visible(widget: Any) -> bool:
    return "cs-hidden" not in widget._dom_classes


def shown_rows(view: SearchView) -> list[Any]:
    return [r for r in view.disagreement_rows if visible(r.box)]


def button_lines(row: Any) -> list[str | None]:
    """Per cluster slot: the assert its visible button would add, ``None`` where there is no button."""
    return [add.tooltip.split(": ", 1)[1] if visible(add) else None for add in row.adds]


def text(html_value: str) -> str:
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", html_value))


# ------------------------------------------------------------------------------------ the panel


def test_the_panel_lists_each_input_with_every_top_clusters_answer_and_a_button_where_an_assert_can_say_it(
    view_of: Callable[..., SearchView],
) -> None:
    view = view_of(three_clusters())
    assert visible(view.disagreements)
    rows = shown_rows(view)
    assert len(rows) == 2  # ('a b',) is answered alike by all three
    assert [text(r.call.value) for r in rows] == ["initials('')", "initials('x')"]
    assert [text(o.value) for o in rows[0].outputs] == [
        "cluster 1 (3 votes) → ''", "cluster 2 (2 votes) → '.'",
        "cluster 3 (1 vote) → raises IndexError: string index out of range",
    ]
    # No assert can expect an exception: cluster 3 gets no button on ('',).
    assert button_lines(rows[0]) == ["assert initials('') == ''", "assert initials('') == '.'", None]
    assert button_lines(rows[1]) == ["assert initials('x') == 'X.'", "assert initials('x') == 'X.'",
                                     "assert initials('x') == 'x.'"]
    assert all(a.description == "Add assert" and not a.disabled for a in rows[0].adds[:2])
    assert "disagree on these inputs" in view.disagreements_head.value


def test_no_disagreement_no_panel(view_of: Callable[..., SearchView]) -> None:
    run = ClusteredRun([("",)])
    run.add(probed(0, ["''"]))
    run.add(probed(1, ["''"]))  # one cluster: nothing to disagree about
    view = view_of(run)
    assert not visible(view.disagreements)
    assert shown_rows(view) == []


def test_rows_and_widget_models_stay_bounded_however_many_inputs_disagree(
    view_of: Callable[..., SearchView],
) -> None:
    from ipywidgets.widgets import widget

    before = len(widget._instances)
    run = ClusteredRun([(str(k),) for k in range(40)])
    view = view_of(run)
    built = len(widget._instances) - before
    assert built == len(view.model_ids()) <= 200
    for i in range(8):  # eight behaviours, each different on every input
        run.add(probed(i, [f"'{i}-{k}'" for k in range(40)], samples=8 - i))
    view.render()
    rows = shown_rows(view)
    assert len(rows) == DISAGREEMENT_ROWS and len(view.disagreement_rows) == DISAGREEMENT_ROWS
    assert all(sum(map(visible, r.outputs)) == DISAGREEMENT_CLUSTERS for r in rows)  # the top three only
    assert [text(r.call.value) for r in rows] == [f"initials('{k}')" for k in range(DISAGREEMENT_ROWS)]
    assert "cluster 1 (8 votes) → '0-0'" in text(rows[0].outputs[0].value)
    assert len(widget._instances) - before == built, "the panel made widgets after the view was built"


def test_add_assert_sends_the_exact_line_to_the_search_cell_and_marks_the_row(
    view_of: Callable[..., SearchView],
) -> None:
    run = three_clusters()
    bridge = FakeBridge({"ok": True})
    view = view_of(run, cell_id="cell-42", bridge=bridge).start()
    wait_for(lambda: view.insert_mode == "comm")
    row = shown_rows(view)[0]
    row.adds[1].click()  # cluster 2, the one not ranked first
    wait_for(lambda: row.adds[1].description == "Added")
    assert bridge.requests == [("append_to_cell", {"cell_id": "cell-42", "text": "assert initials('') == '.'"})]
    assert row.adds[1].button_style == "success" and row.adds[1].icon == "check"
    assert all(a.disabled for a in row.adds if visible(a))  # that input is decided
    assert row.adds[0].description == "Add assert"
    assert "Added assert initials('') == '.' at the end of the %%search cell" in text(
        view.disagreements_status.value)
    row.adds[0].click()  # a second answer for the same input is not sent
    other = shown_rows(view)[1]
    assert not any(a.disabled for a in other.adds)  # the other input is still open
    assert len(bridge.requests) == 1


def test_without_the_extension_the_assert_is_shown_to_paste(view_of: Callable[..., SearchView]) -> None:
    view = view_of(three_clusters(), cell_id=None)  # not JupyterLab: no cell id, no comm
    assert view.insert_mode == "fallback"
    shown_rows(view)[0].adds[1].click()
    status = view.disagreements_status.value
    assert "paste" in status and "assert initials(&#x27;&#x27;) == &#x27;.&#x27;" in status
    assert "Traceback" not in status and "internal error" not in status
    assert "cs-copy" in status  # with a Copy button for the line
    assert shown_rows(view)[0].adds[1].description == "Add assert"  # nothing was added


def test_an_extension_that_does_not_answer_or_refuses_leaves_the_line_to_paste(
    view_of: Callable[..., SearchView],
) -> None:
    silent = FakeBridge(None, alive=True)
    view = view_of(three_clusters(), cell_id="c", bridge=silent).start()
    wait_for(lambda: view.insert_mode == "comm")
    shown_rows(view)[0].adds[0].click()
    wait_for(lambda: "did not answer" in view.disagreements_status.value)
    assert "assert initials(&#x27;&#x27;) == &#x27;&#x27;" in view.disagreements_status.value
    assert view.insert_mode == "fallback"  # and "Insert below" says so too
    assert not shown_rows(view)[0].adds[0].disabled

    refusing = FakeBridge({"ok": False, "error": "no cell with id c"}, alive=True)
    view = view_of(three_clusters(), cell_id="c", bridge=refusing).start()
    wait_for(lambda: view.insert_mode == "comm")
    shown_rows(view)[1].adds[2].click()
    wait_for(lambda: "Could not add it" in view.disagreements_status.value)
    status = text(view.disagreements_status.value)
    assert "no cell with id c" in status and "assert initials('x') == 'x.'" in status


def test_the_panel_appears_while_the_run_streams(view_of: Callable[..., SearchView]) -> None:
    run = ClusteredRun([("",)])
    view = view_of(run).start()
    run.add(probed(0, ["''"]))
    assert not visible(view.disagreements)
    run.add(probed(1, ["'.'"]))
    wait_for(lambda: len(shown_rows(view)) == 1)
    assert "still being probed" in view.disagreements_head.value
    run.finish()
    assert view.wait_idle(5)
    assert "still being probed" not in view.disagreements_head.value


def test_the_detail_says_why_the_candidate_ranks_there_and_the_table_shows_its_cluster(
    view_of: Callable[..., SearchView],
) -> None:
    run = three_clusters()
    view = view_of(run)
    top = run.ranked()[0]
    assert "why rank 1:" in text(view.detail_head.value)
    assert top.rank_reason in text(view.detail_head.value)
    assert "behaviour cluster 1 (3 votes)" in top.rank_reason
    rows = [b.description for b in view.rows if b.layout.display != "none"]
    assert "1 (3)" in rows[0] and "3 (1)" in rows[2]
    assert _render.header_text().split() == [c.title for c in _render.COLUMNS]


# ------------------------------------------------------------------------------- with a real run


@pytest.mark.slow
def test_a_real_offline_search_shows_its_disagreement_and_adds_the_chosen_assert(
    view_of: Callable[..., SearchView], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    spec = Spec.parse(INITIALS + 'assert initials("alan turing") == "A.T."\n')
    run = search(spec, SearchConfig(), wait=True)
    assert run.progress.state == "done", run.progress
    found = run.disagreements()
    assert found, [c.rank_reason for c in run.ranked()]
    bridge = FakeBridge({"ok": True})
    view = view_of(run, cell_id="cell-1", bridge=bridge).start()
    assert view.wait_idle(10)
    wait_for(lambda: view.insert_mode == "comm")
    row = shown_rows(view)[0]
    assert text(row.call.value) == found[0].call
    top_cluster = run.ranked()[0].cluster
    slot, (cluster, _) = next((j, o) for j, o in enumerate(found[0].outputs) if o[0] != top_cluster)
    row.adds[slot].click()
    wait_for(lambda: bool(bridge.requests))
    assert bridge.requests == [("append_to_cell", {"cell_id": "cell-1", "text": found[0].assert_line(cluster)})]

    # The terminal form of the magic lists the same disagreements.
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_codesearch")
    monkeypatch.setattr(_magic, "_use_widget", lambda shell: False)
    try:
        with capture_output() as cap:
            shell.run_cell_magic("search", "", INITIALS + 'assert initials("alan turing") == "A.T."\n')
    finally:
        shell.run_line_magic("unload_ext", "jupyter_codesearch")
        shell.user_ns.pop("_search", None)
    assert "the top behaviour clusters disagree on these inputs" in cap.stdout
    assert f"{found[0].call}: cluster 1 -> " in cap.stdout
