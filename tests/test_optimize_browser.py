"""An optimising %%search in a real JupyterLab, driven by headless Chromium (Playwright).

The bin-packing cell (score: bins used, lower is better) against the loopback fake model that
mutates the best program its prompt shows: while the run goes, the widget's live chart (an
SVG step line of the best score by samples drawn) appears and gains points as the best score
improves, and the table has a score column with each scored candidate's score. Needs Debian's
/usr/bin/chromium and the Python ``playwright`` package (a missing piece is a failure with
instructions, never a skip). A screenshot goes to artifacts/screenshots/notebook-optimise.png.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.browser_support import LabPage, LabServer, code_cell, serve
from tests.support.fake_llm import EvolveResponder, FakeLLM
from tests.support.optimize import BIN_PACKING, HALF_FIT
from tests.test_notebook_browser import open_notebook, progress_text, widget_screenshot

pytestmark = pytest.mark.slow

RUN_LIMIT_S = 60.0


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLM]:
    # A little latency per request: the climb is spread over a few seconds the page can watch.
    with FakeLLM(EvolveResponder(HALF_FIT), latency=0.3) as fake:
        yield fake


@pytest.fixture(scope="module")
def server(fake_llm: FakeLLM) -> Iterator[LabServer]:
    search = (f"%%search -n 6 --model openai/gpt-4o-mini --api-base {fake_llm.url} --no-cache --minimize "
              "--max-tokens 15000 --timeout 5\n" + BIN_PACKING)
    yield from serve({"optimise.ipynb": [
        code_cell("%load_ext jupyter_codesearch", "load"),
        code_cell("%search_config history=off cluster=false", "quiet"),  # as the bin-packing test runs
        code_cell(search, "search"),
    ]})


_CHART = """() => {
  const line = document.querySelector('.cs-view .cs-trajectory svg polyline');
  const words = document.querySelector('.cs-view .cs-trajectory .cs-dim');
  return line ? {points: line.getAttribute('points').trim().split(/\\s+/).length,
                 words: words ? words.textContent : ''} : null;
}"""


def test_the_live_chart_gains_points_as_the_best_score_improves_and_the_table_shows_scores(lab: LabPage) -> None:
    open_notebook(lab, "optimise.ipynb")
    lab.run_cell("quiet")
    started = time.monotonic()
    lab.run_cell("search")  # returns at once: the run and the view live on threads
    lab.page.wait_for_selector(".cs-view .cs-state", timeout=30_000)
    seen: list[int] = []  # the chart's point count at each look while the run goes
    words = ""
    while not re.search(r"\b(done|failed|stopped)\b", progress_text(lab)):
        assert time.monotonic() - started < RUN_LIMIT_S, f"the run did not finish: {progress_text(lab)}"
        chart = lab.page.evaluate(_CHART)
        if chart is not None:
            seen.append(int(chart["points"]))
            words = str(chart["words"])
        time.sleep(0.1)
    final = lab.page.evaluate(_CHART)
    assert "done" in progress_text(lab), progress_text(lab)
    assert final is not None, "no chart of the best score"
    seen.append(int(final["points"]))
    assert seen == sorted(seen), seen  # a step line only ever gains points
    assert len(set(seen)) >= 2, f"the chart did not gain points while the run went: {seen}"
    improvements = int(re.search(r"\((\d+) improvements?\)", str(final["words"])).group(1))  # type: ignore[union-attr]
    assert improvements >= 2 and "best score" in words, final
    # the table: a score column, and the top row's score is the best the chart says
    best = re.search(r"best score (\S+) after", str(final["words"])).group(1)  # type: ignore[union-attr]
    header = lab.page.locator(".cs-view .cs-head-score")
    assert header.count() == 1 and "score" in header.inner_text()
    top = lab.page.locator(".cs-view .cs-row:visible").nth(0).inner_text()
    assert top.split()[:3] == ["1", top.split()[1], "passed"] and best in top.split(), top
    lab.screenshot("notebook-optimise")
    widget_screenshot(lab, "notebook-widget-optimise")
    assert time.monotonic() - started < RUN_LIMIT_S
    assert not lab.session.page_errors, lab.session.page_errors
