"""The %%search widget in a real JupyterLab, driven by headless Chromium (Playwright).

1. A %%search cell (offline synthesizer) fills the table; "Insert below" on the top candidate puts
   exactly its code in a new cell right below the search cell (through the labextension comm);
   running that cell defines a working function; "Copy" puts the same code on the clipboard.
2. A 300-candidate LLM run against the loopback fake server (in this process) shows live
   progress, and page flips / re-sorts take well under a second, measured in the browser.
3. A syntax error, an unknown option, and no model with no usable examples each show one
   clear message and nothing else.
4. On a spec whose asserts leave a case open (initials of an empty name), the disagreements
   panel offers each top cluster's answer; "Add assert" for the cluster not ranked first
   appends exactly that assert to the %%search cell (not to the cells around it), and running
   the cell again ranks a program of the chosen behaviour first.

Screenshots go to artifacts/screenshots/notebook-*.png; the measured timings to
artifacts/notebook-browser-timings.json. Needs Debian's /usr/bin/chromium, the Python
``playwright`` package and the extension installed (``pip install -e .``); a missing piece is a
failure with instructions, never a skip.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser_support import (
    REPO_ROOT,
    SCREENSHOT_DIR,
    LabPage,
    LabServer,
    code_cell,
    open_with_extension,
    serve,
)
from tests.support.fake_llm import FakeLLM, Request

pytestmark = pytest.mark.slow

TIMINGS = REPO_ROOT / "artifacts" / "notebook-browser-timings.json"
CANDIDATES = 300
FLIP_LIMIT_MS = 1000.0

GREETING = '''%%search -n 8
def greeting(name: str) -> str:
    """Say hello to someone, capitalising their name."""

assert greeting("ada") == "Hello, Ada!"
assert greeting("GRACE") == "Hello, Grace!"
assert greeting("alan") == "Hello, Alan!"  # hidden
'''
ADD = '''def add(a, b):
    """Add two numbers."""

assert add(1, 2) == 3
assert add(-1, 1) == 0
assert add(20, 22) == 42  # hidden
'''
SYNTAX_ERROR = '%%search\ndef f(x):\n    """Add one."""\n    return x +\n\nassert f(1) == 2\n'
UNKNOWN_OPTION = "%%search --bogus 3\n" + ADD
NO_EXAMPLES = '''%%search
def is_even(n: int) -> bool:
    """True for even numbers."""

assert is_even(4)
assert not is_even(3)
'''
SHOW_CODES = """\
import json
print(json.dumps({"top": _search.ranked()[0].id, "codes": {c.id: c.code for c in _search.candidates}}))
"""
INITIALS = '''%%search
def initials(full_name: str) -> str:
    """Initials of a name: first letter of each word, upper-cased, each followed by a dot."""


assert initials("ada lovelace") == "A.L."
assert initials("Grace Hopper") == "G.H."
assert initials("alan turing") == "A.T."
assert initials("Edsger Dijkstra") == "E.D."  # hidden
'''
ABOVE = "above = 'this cell is above the search'"
# Records each run (the cell below the search one); from the second run on, it judges the first
# run's top candidate by the newest assert and says which of the first run's behaviour clusters
# the new top candidate belongs to (same answers on every probe input, run here in the kernel).
REPORT = """\
import json
_runs = globals().setdefault("_runs", [])
if not _runs or _runs[-1] is not _search:
    _runs.append(_search)
_search.wait(150)

def _fn(code):
    ns = {}
    exec(code, ns)
    return ns[_search.spec.name]

def _behaviour(f, probes):
    out = []
    for args in probes:
        try:
            out.append(repr(f(*args)))
        except Exception as e:
            out.append("raises " + type(e).__name__)
    return out

_first, _last = _runs[0], _runs[-1]
_ranked = _last.ranked()
_report = {
    "runs": len(_runs), "state": _last.progress.state,
    "tests": [i.source for i in _last.spec.items if i.kind == "test"],
    "ranked": [{"id": c.id, "code": c.code, "status": c.status, "cluster": c.cluster} for c in _ranked],
    "disagreements": [{"call": d.call, "outputs": [[cid, b.text] for cid, b in d.outputs],
                       "lines": {str(cid): d.assert_line(cid) for cid, _ in d.outputs}}
                      for d in _last.disagreements()],
}
if len(_runs) > 1:
    _ns = {_first.spec.name: _fn(_first.ranked()[0].code)}
    try:
        exec(_report["tests"][-1], _ns)
        _report["old_top_passes_new_test"] = True
    except AssertionError:
        _report["old_top_passes_new_test"] = False
    _code = {c.id: c.code for c in _first.candidates}
    _new = _behaviour(_fn(_ranked[0].code), _first.probes)
    _report["new_top_in_old_clusters"] = [
        cl.id for cl in _first.clusters() if _behaviour(_fn(_code[cl.members[0]]), _first.probes) == _new]
print(json.dumps(_report))
"""
COUNT_MODELS = """\
import json
from ipywidgets.widgets import widget
from jupyter_codesearch.ui._magic import magics_for
view = magics_for(get_ipython()).views["_search"]
print(json.dumps({"view": len(view.model_ids()), "kernel": len(widget._instances)}))
"""


def llm_reply(k: int) -> str:
    """Reply number ``k``: a distinct program (no two merge), a quarter of them wrong or broken."""
    body = [
        f"return a + b + {k} * 0",
        f"return a - b + {k}",
        f"raise ValueError({k})",
        f"return (a + b) * {k + 1} // {k + 1}",
    ][k % 4]
    return f"```python\ndef add(a, b):\n    {body}\n```"


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLM]:
    # Latency makes the run last several seconds, so progress is visible while it streams. Every
    # reply is new (a retried request or the request for edge-case inputs must not make two
    # samples the same program); the edge-case request gets inputs, not code.
    counter = itertools.count()

    def reply(request: Request) -> str:
        return "[]" if "edge-case inputs" in request.user_text else llm_reply(next(counter))

    with FakeLLM(reply, latency=0.15) as fake:
        yield fake


@pytest.fixture(scope="module")
def server(fake_llm: FakeLLM) -> Iterator[LabServer]:
    many = (f"%%search -n {CANDIDATES} --model openai/gpt-4o-mini --api-base {fake_llm.url} --no-cache "
            # --all-samples: this test is about 300 rows streaming in, which adaptive sampling would
            # (rightly) cut short once the leader is clear.
            "--concurrency 8 --all-samples\n" + ADD)
    notebooks = {
        "insert.ipynb": [
            code_cell("%load_ext jupyter_codesearch", "load"),
            code_cell(GREETING, "search"),
            code_cell(SHOW_CODES, "codes"),
            code_cell('print(greeting("ada"), greeting("bOB"))', "call"),
        ],
        "many.ipynb": [
            code_cell("%load_ext jupyter_codesearch", "load"),
            code_cell(many, "search"),
            code_cell(COUNT_MODELS, "count"),
        ],
        "errors.ipynb": [
            code_cell("%load_ext jupyter_codesearch", "load"),
            code_cell(SYNTAX_ERROR, "syntax"),
            code_cell(UNKNOWN_OPTION, "option"),
            code_cell(NO_EXAMPLES, "examples"),
        ],
        "disagree.ipynb": [
            code_cell("%load_ext jupyter_codesearch", "load"),
            code_cell(ABOVE, "above"),
            code_cell(INITIALS, "search"),
            code_cell(REPORT, "below"),
        ],
    }
    yield from serve(notebooks)


@pytest.fixture(scope="module")
def timings() -> Iterator[dict[str, Any]]:
    found: dict[str, Any] = {}
    yield found
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps(found, indent=1), encoding="utf-8")


# ------------------------------------------------------------------------------------- helpers


def open_notebook(lab: LabPage, name: str) -> None:
    open_with_extension(lab, name)
    out = LabPage.output_text(lab.run_cell("load"))
    assert out == "", out


def wait_for_state(lab: LabPage, states: tuple[str, ...] = ("done",), timeout: float = 180) -> str:
    handle = lab.page.wait_for_function(
        """(states) => { const e = document.querySelector('.cs-view .cs-state');
                         return e && states.includes(e.textContent) ? e.textContent : null; }""",
        arg=list(states), timeout=timeout * 1000, polling=100,
    )
    return str(handle.json_value())


def progress_text(lab: LabPage) -> str:
    return str(lab.page.evaluate(
        "() => { const e = document.querySelector('.cs-view .cs-progress-text'); return e ? e.textContent : ''; }"
    ))


def page_label(lab: LabPage) -> str:
    return str(lab.page.evaluate(
        "() => { const e = document.querySelector('.cs-view .cs-page-text'); return e ? e.textContent : ''; }"
    ))


# Clicks a control and waits, polling every animation frame, until the element ``watch`` shows
# new text and ``done`` holds; returns the milliseconds in between as the browser measures them.
_MEASURE = """
async ([button, done, watch]) => {
  const check = new Function('label', 'first', 'return ' + done);
  const text = (sel) => document.querySelector('.cs-view ' + sel).textContent;
  const label = () => text('.cs-page-text');
  const first = () => text('.cs-row');
  const el = document.querySelector('.cs-view ' + button);
  if (!el) { return null; }
  const ready = performance.now();
  while (el.disabled) {  // the previous flip may still be arriving
    if (performance.now() - ready > 5000) { return null; }
    await new Promise(r => requestAnimationFrame(r));
  }
  const before = text(watch);
  const t0 = performance.now();
  el.click();
  while (text(watch) === before || !check(label(), first())) {
    if (performance.now() - t0 > 10000) { return -1; }
    await new Promise(r => requestAnimationFrame(r));
  }
  return performance.now() - t0;
}
"""


def measure(lab: LabPage, button: str, done: str, watch: str = ".cs-page-text") -> float | None:
    ms = lab.page.evaluate(_MEASURE, [button, done, watch])
    return None if ms is None else float(ms)


def widget_screenshot(lab: LabPage, name: str) -> None:
    """A PNG of the widget alone (the page screenshots show it in context)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    lab.page.locator(".cs-view").first.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"))


def cell_messages(lab: LabPage, index: int) -> dict[str, Any]:
    """What the output area of cell ``index`` shows: message boxes, stderr, tracebacks."""
    return dict(lab.eval_in_panel(
        """
        const node = panel.content.widgets[arg].node;
        const out = node.querySelector('.jp-OutputArea');
        return {
          messages: Array.from(node.querySelectorAll('.cs-message')).map(e => e.textContent.trim()),
          stderr: node.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]').length,
          errors: node.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]').length,
          text: out ? out.textContent : '',
          tables: Array.from(node.querySelectorAll('.cs-table')).filter(e => e.offsetParent !== null).length,
        };
        """,
        index,
    ))


# ---------------------------------------------------------------------------------------- tests


def test_insert_below_puts_the_top_candidates_code_in_a_new_cell_that_works(lab: LabPage) -> None:
    open_notebook(lab, "insert.ipynb")
    lab.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.server.url)
    lab.run_cell("search")
    assert wait_for_state(lab) == "done"
    lab.page.wait_for_selector(".cs-view .cs-row >> nth=0")
    rows = lab.page.locator(".cs-view .cs-row:visible")
    assert rows.count() >= 1
    top_row = rows.nth(0).inner_text()
    assert top_row.split()[0] == "1" and " passed " in top_row, top_row
    top_id = int(top_row.split()[1].lstrip("#"))
    lab.screenshot("notebook-search-done")
    widget_screenshot(lab, "notebook-widget")

    rows.nth(0).click()
    lab.page.locator(".cs-view .cs-insert").click()
    deadline = time.monotonic() + 20
    while len(lab.cells()) < 5:
        assert time.monotonic() < deadline, "no cell was inserted"
        time.sleep(0.1)
    cells = lab.cells()
    assert [c["id"] for c in cells[:2]] == ["load", "search"]
    new = cells[2]
    assert [c["id"] for c in cells[3:]] == ["codes", "call"]
    assert new["cell_type"] == "code" and new["outputs"] == [] and new["execution_count"] is None
    lab.page.wait_for_function(
        "() => (document.querySelector('.cs-view .cs-action-status') || {}).textContent.includes('Inserted')"
    )

    shown = json.loads(LabPage.output_text(lab.run_cell("codes")).strip().splitlines()[-1])
    assert shown["top"] == top_id
    assert new["source"] == shown["codes"][str(top_id)]  # exactly the candidate's code

    assert LabPage.output_text(lab.run_cell(new["id"])) == ""
    assert LabPage.output_text(lab.run_cell("call")).strip() == "Hello, Ada! Hello, Bob!"

    lab.page.locator(".cs-view .cs-copy").click()
    lab.page.wait_for_function("() => document.querySelector('.cs-view .cs-copy').textContent === 'Copied'")
    assert lab.page.evaluate("() => navigator.clipboard.readText()") == new["source"]
    lab.screenshot("notebook-inserted-below")
    assert not lab.session.page_errors, lab.session.page_errors


def test_a_300_candidate_llm_run_shows_live_progress_and_flips_pages_in_under_a_second(
    lab: LabPage, timings: dict[str, Any]
) -> None:
    open_notebook(lab, "many.ipynb")
    started = time.monotonic()
    lab.run_cell("search")  # returns at once: the run and the view live on threads
    cell_time = time.monotonic() - started
    lab.page.wait_for_selector(".cs-view .cs-state", timeout=60_000)

    generated: list[int] = []
    flips: list[float] = []
    screenshot_taken = False
    while True:
        text = progress_text(lab)
        m = re.search(r"generated (\d+)", text)
        if m:
            generated.append(int(m.group(1)))
        if re.search(r"\b(done|failed|stopped)\b", text):
            break
        assert time.monotonic() - started < 240, f"the run did not finish: {text}"
        if "page 1 / 1 " not in page_label(lab) and len(flips) < 5:
            ms = measure(lab, ".cs-next", "label.startsWith('page 2 /')")
            if ms is not None:
                flips.append(ms)
                measure(lab, ".cs-first", "label.startsWith('page 1 /')")
            if not screenshot_taken and 50 < (generated[-1] if generated else 0) < 250:
                lab.screenshot("notebook-300-live")
                screenshot_taken = True
        time.sleep(0.25)
    assert "done" in progress_text(lab), progress_text(lab)
    live = sorted({g for g in generated if 0 < g < CANDIDATES})
    assert len(live) >= 3, f"progress did not move while the run streamed: {generated}"
    assert generated == sorted(generated)
    assert f"generated {CANDIDATES}" in progress_text(lab)
    assert f"of {CANDIDATES} " in page_label(lab), page_label(lab)
    assert flips, "no page flip could be measured while the run streamed"

    after = [measure(lab, ".cs-next", "label.startsWith('page 2 /') && first.trim().startsWith('16 ')")]
    after.append(measure(lab, ".cs-last", "label.startsWith('page 20 /')"))
    after.append(measure(lab, ".cs-first", "label.startsWith('page 1 /') && first.trim().startsWith('1 ')"))
    sort_ms = measure(lab, ".cs-head-size", "label.startsWith('page 1 /')", watch=".cs-head-size")
    after_ms = [ms for ms in after if ms is not None]
    assert len(after_ms) == 3 and sort_ms is not None
    lab.screenshot("notebook-300-done")

    # The least successful candidates first (tests column, clicked twice), then a wrong one.
    page = lab.page
    for _ in range(2):
        measure(lab, ".cs-head-tests", "true", watch=".cs-head-tests")
    wrong = page.locator(".cs-view .cs-row", has_text=" failed ")
    for n in range(2, 21):  # wrong answers (got vs expected) follow the ones that raise
        if wrong.count():
            break
        measure(lab, ".cs-next", f"label.startsWith('page {n} /')")
    wrong.first.click()
    page.locator(".cs-view .cs-tabs .lm-TabBar-tab").nth(1).click()
    tests_view = page.locator(".cs-view .cs-tests-view")
    tests_view.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('.cs-view .cs-tests-view').textContent.includes('got')")
    shown = tests_view.inner_text()
    assert "expected" in shown and "hidden" in shown, shown
    widget_screenshot(lab, "notebook-widget-failing-tests")
    page.locator(".cs-view .cs-tabs .lm-TabBar-tab").nth(2).click()
    page.locator(".cs-view .cs-diff").wait_for(state="visible")
    widget_screenshot(lab, "notebook-widget-diff")

    counts = json.loads(LabPage.output_text(lab.run_cell("count")).strip().splitlines()[-1])
    assert counts["view"] <= 200 and counts["kernel"] <= 200, counts

    timings.update({
        "cell_returned_s": round(cell_time, 2),
        "run_s": round(time.monotonic() - started, 1),
        "generated_seen_while_running": live,
        "page_flip_ms_while_running": [round(x, 1) for x in flips],
        "page_flip_ms_after": [round(x, 1) for x in after_ms],
        "sort_ms": round(sort_ms, 1),
        "widget_models": counts,
    })
    for ms in [*flips, *after_ms, sort_ms]:
        assert 0 <= ms < FLIP_LIMIT_MS, timings
    assert not lab.session.page_errors, lab.session.page_errors


def test_a_broken_cell_an_unknown_option_and_no_usable_examples_each_show_one_message(lab: LabPage) -> None:
    open_notebook(lab, "errors.ipynb")
    expected = {
        "syntax": (1, "line 4: syntax error"),
        "option": (2, "unknown option --bogus"),
        "examples": (3, "no model is configured and the offline synthesizer cannot use these tests"),
    }
    for cell_id, (index, words) in expected.items():
        cell = lab.run_cell(cell_id)
        assert len(cell["outputs"]) == 1, cell["outputs"]
        assert cell["outputs"][0]["output_type"] == "display_data", cell["outputs"]
        deadline = time.monotonic() + 60
        while True:
            shown = cell_messages(lab, index)
            if shown["messages"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(shown["messages"]) == 1, shown
        message = shown["messages"][0]
        assert message.startswith("%%search:") and words in message, message
        assert shown["stderr"] == 0 and shown["errors"] == 0, shown
        assert "Traceback" not in shown["text"]
        assert shown["tables"] == 0, shown  # a failed run shows its message, not an empty table
    lab.screenshot("notebook-error-messages")
    assert not lab.session.page_errors, lab.session.page_errors


def report(lab: LabPage) -> dict[str, Any]:
    out = LabPage.output_text(lab.run_cell("below", timeout=200)).strip()
    assert out, "the report cell printed nothing"
    return dict(json.loads(out.splitlines()[-1]))


def test_add_assert_appends_the_chosen_answer_to_the_search_cell_and_the_next_run_ranks_by_it(
    lab: LabPage,
) -> None:
    open_notebook(lab, "disagree.ipynb")
    before = {c["id"]: c["source"] for c in lab.cells()}
    lab.run_cell("search")
    assert wait_for_state(lab) == "done"
    page = lab.page
    page.wait_for_selector(".cs-view .cs-dis-row:not(.cs-hidden)", timeout=30_000)
    first = report(lab)
    assert first["runs"] == 1 and first["state"] == "done", first
    top = first["ranked"][0]
    assert top["status"] == "passed" and top["cluster"] == 1, first["ranked"]
    # The first input on which the clusters differ, and an answer other than the top cluster's.
    decided = first["disagreements"][0]
    cluster, line = next((int(cid), ln) for cid, ln in decided["lines"].items()
                         if int(cid) != top["cluster"] and ln is not None)
    assert line.startswith(f"assert {decided['call']} == "), line

    panel = page.locator(".cs-view .cs-disagreements")
    rows = panel.locator(".cs-dis-row:not(.cs-hidden)")
    assert rows.count() == min(len(first["disagreements"]), 5)
    assert rows.nth(0).locator(".cs-dis-call").inner_text() == decided["call"]
    shown = rows.nth(0).locator(".cs-dis-out").all_inner_texts()
    assert [t.split(" ")[1] for t in shown] == [str(cid) for cid, _ in decided["outputs"]], shown
    lab.screenshot("notebook-disagreements")
    widget_screenshot(lab, "notebook-widget-disagreements")

    # One button per cluster answer; clusters that differ elsewhere may answer alike here, and
    # then their buttons add the same line.
    buttons = panel.get_by_title(f"Append to the %%search cell: {line}", exact=True)
    assert buttons.count() >= 1
    button = buttons.first
    button.click()
    page.wait_for_function(
        "() => (document.querySelector('.cs-view .cs-dis-status') || {}).textContent.includes('Added')",
        timeout=20_000,
    )
    assert button.inner_text().strip() == "Added" and button.is_disabled()
    after = {c["id"]: c["source"] for c in lab.cells()}
    assert list(after) == list(before), "cells were added or removed"
    assert after["above"] == before["above"] and after["below"] == before["below"]
    assert after["load"] == before["load"]
    assert after["search"] == before["search"].rstrip("\n") + "\n" + line
    assert after["search"].splitlines()[-1] == line
    widget_screenshot(lab, "notebook-widget-assert-added")
    lab.screenshot("notebook-assert-added")

    lab.run_cell("search")
    second = report(lab)
    assert second["runs"] == 2 and second["state"] == "done", second
    assert second["tests"][-1] == line and second["tests"][:-1] == first["tests"]
    assert second["old_top_passes_new_test"] is False  # the previous winner fails the new assert
    new_top = second["ranked"][0]
    assert new_top["status"] == "passed", second["ranked"]
    assert new_top["code"] != top["code"]
    # If the old winner was generated again, it now fails and ranks lower.
    for rank, c in enumerate(second["ranked"]):
        if c["code"] == top["code"]:
            assert rank > 0 and c["status"] != "passed", second["ranked"]
    # The chosen behaviour won: the new top behaves like a cluster that gave the chosen answer.
    chosen = {int(cid) for cid, ln in decided["lines"].items() if ln == line}
    assert cluster in chosen
    assert len(second["new_top_in_old_clusters"]) == 1, second
    assert set(second["new_top_in_old_clusters"]) <= chosen, second
    assert wait_for_state(lab) == "done"
    first_row = page.locator(".cs-view .cs-row:visible").nth(0).inner_text()
    assert first_row.split()[:3] == ["1", f"#{new_top['id']}", "passed"], first_row
    lab.screenshot("notebook-rerun-after-assert")
    widget_screenshot(lab, "notebook-widget-rerun-after-assert")
    assert not lab.session.page_errors, lab.session.page_errors
