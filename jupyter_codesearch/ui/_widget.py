"""The live ``%%search`` widget: progress, a ranked and paged table, the selected candidate.

Updated from a worker thread (``_follow``) at most a few times per second.

The number of widget models is fixed when the view is built (about 200, whatever the number of
candidates): the table is a page of row buttons whose text and colour change, never new widgets;
the disagreements panel (``_disagreements``) is a fixed grid refilled the same way.
"""

from __future__ import annotations

import html
import math
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from .._log import get_logger
from .._model import Candidate, Disagreement, Progress
from . import _render as R
from ._assets import CSS, copy_html
from ._disagreements import DISAGREEMENT_CLUSTERS, DISAGREEMENT_ROWS, DisagreementsPanel
from ._follow import REDRAW_INTERVAL, Follower

if TYPE_CHECKING:
    from ..run import SearchRun
    from ._frontend import LabBridge

__all__ = ["DISAGREEMENT_CLUSTERS", "DISAGREEMENT_ROWS", "PAGE_SIZE", "SearchView"]

PAGE_SIZE = 15
PING_TIMEOUT = 8.0
INSERT_TIMEOUT = 8.0
_log = get_logger(__name__)


class SearchView:
    """The widget for one :class:`~jupyter_codesearch.SearchRun`.

    ``namespace`` is where "Define now" defines the code (the user namespace); ``cell_id`` is
    the ``%%search`` cell's id, for "Insert below" through the JupyterLab extension (``None``:
    the frontend cannot do it, the button says to run ``%search_insert N``).
    """

    def __init__(
        self,
        run: SearchRun,
        *,
        namespace: dict[str, Any] | None = None,
        cell_id: str | None = None,
        name: str = "_search",
        notes: tuple[str, ...] = (),
        bridge: LabBridge | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.run = run
        self.name = name
        self.namespace = namespace
        self.cell_id = cell_id
        self.notes = notes
        self.page_size = page_size
        self.columns = R.columns_of(run.spec.score is not None)
        """The table's columns: with ``score`` for an optimising run."""
        self._bridge = bridge
        self._lock = threading.RLock()
        self._follower = Follower(run, self.render, lambda e: self._status(
            f"the live view stopped: {type(e).__name__}: {e}", "error"))
        self.page = 0
        self.sort_key = "rank"
        self.descending = False
        self.passing_only = False
        self.selected: int | None = None
        self._follow_top = True
        self._page_ids: list[int | None] = [None] * page_size
        self._shown_detail: tuple[Any, ...] | None = None
        self.insert_mode = "checking" if cell_id and bridge is not None else "fallback"
        self.redraws = 0
        self._build()

    # -- building --------------------------------------------------------------------------------

    def _keep(self, widget: Any, *classes: str) -> Any:
        """Record a widget (closed with the view) and give it CSS classes."""
        for cls in classes:
            widget.add_class(cls)
        self._widgets.append(widget)
        return widget

    def _button(self, description: str, *classes: str, tooltip: str = "", **kw: Any) -> Any:
        import ipywidgets as w  # type: ignore[import-untyped]

        return self._keep(w.Button(description=description, tooltip=tooltip, **kw), *classes)

    def _build(self) -> None:
        import ipywidgets as w

        self._widgets: list[Any] = []
        keep = self._keep
        self.css = keep(w.HTML(CSS))
        self.progress = keep(w.HTML(layout=w.Layout(flex="1 1 auto")), "cs-progress")
        self.bar = keep(w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="160px")), "cs-bar")
        self.stop_button = self._button("Stop", "cs-stop", button_style="warning", icon="stop",
                                        tooltip="Stop generating and verifying; keep what is verified",
                                        layout=w.Layout(width="90px"))
        self.stop_button.on_click(self._guard(lambda _: self.stop()))
        self.message = keep(w.HTML(layout=w.Layout(display="none")), "cs-message-box")
        self.notices = keep(w.HTML(layout=w.Layout(display="none")), "cs-notices-box")
        self.table = self._build_table(w)
        self.panel = panel = DisagreementsPanel(self, w, keep, self._guard)
        # The panel's widgets by the names the view has always given them.
        self.disagreements, self.disagreement_rows = panel.box, panel.rows
        self.disagreements_head, self.disagreements_status = panel.head, panel.status_box
        self.detail = self._build_detail(w)
        self.top = keep(w.HBox([self.progress, self.bar, self.stop_button],
                               layout=w.Layout(align_items="center", justify_content="space-between")))
        self.root = keep(w.VBox([self.css, self.top, self.message, self.notices, self.table, self.disagreements,
                                 self.detail]), "cs-view")
        self.render()

    def _build_table(self, w: Any) -> Any:
        keep, button = self._keep, self._button
        self.passing = keep(w.Checkbox(value=False, description="passing only", indent=False,
                                       layout=w.Layout(width="120px")), "cs-passing")
        self.passing.observe(self._guard(self._on_passing), names="value")
        # Buttons never styled one by one share their layout and style models (fewer models to
        # create and sync when the view appears).
        pager = {"layout": w.Layout(width="36px"), "style": w.ButtonStyle()}
        self.first = button("«", "cs-first", tooltip="First page", **pager)
        self.prev = button("\u2039", "cs-prev", tooltip="Previous page", **pager)
        self.next = button("\u203a", "cs-next", tooltip="Next page", **pager)
        self.last = button("»", "cs-last", tooltip="Last page", **pager)
        self.first.on_click(self._guard(lambda _: self.goto(0)))
        self.prev.on_click(self._guard(lambda _: self.goto(self.page - 1)))
        self.next.on_click(self._guard(lambda _: self.goto(self.page + 1)))
        self.last.on_click(self._guard(lambda _: self.goto(math.inf)))
        self.page_label = keep(w.HTML(), "cs-page")
        self.headers = []
        head_style = w.ButtonStyle()
        for col in self.columns:
            b = button("", "cs-head", "cs-mono", f"cs-head-{col.key}", tooltip=f"Sort by {col.title}", style=head_style,
                       layout=w.Layout(width=f"{col.width + 1}ch", min_width=f"{col.width + 1}ch"))
            b.on_click(self._guard(partial(self._on_header, col.key)))
            self.headers.append(b)
        self.rows = []
        for i in range(self.page_size):
            b = button("", "cs-row", "cs-mono", tooltip="Show this candidate", layout=w.Layout(display="none"))
            b.on_click(self._guard(partial(self._on_row, i)))
            self.rows.append(b)
        self.empty = keep(w.HTML('<p class="cs-dim">Waiting for candidates…</p>'), "cs-empty")
        controls = keep(w.HBox([self.passing, self.first, self.prev, self.page_label, self.next, self.last],
                               layout=w.Layout(align_items="center")), "cs-controls")
        header = keep(w.HBox(self.headers, layout=w.Layout(overflow="hidden")), "cs-headers")
        rows = keep(w.VBox(self.rows, layout=w.Layout(overflow="hidden")), "cs-rows")
        return keep(w.VBox([controls, header, rows, self.empty]), "cs-table")

    def _build_detail(self, w: Any) -> Any:
        keep, button = self._keep, self._button
        self.detail_head = keep(w.HTML(), "cs-detail-head-box")
        self.insert_button = button("Insert below", "cs-insert", icon="arrow-down",
                                    tooltip="Insert this code into a new cell below the %%search cell")
        self.insert_button.on_click(self._guard(lambda _: self.insert()))
        self.define_button = button("Define now", "cs-define", icon="play",
                                    tooltip="Run this code in the notebook's namespace")
        self.define_button.on_click(self._guard(lambda _: self.define()))
        self.copy = keep(w.HTML(), "cs-copy-box")
        self.action_status = keep(w.HTML(), "cs-action-status")
        self.code = keep(w.HTML(), "cs-code-view")
        self.tests = keep(w.HTML(), "cs-tests-view")
        self.diff = keep(w.HTML(), "cs-diff-view")
        self.tabs = keep(w.Tab(children=[self.code, self.tests, self.diff]), "cs-tabs")
        self.tabs.titles = ("Code", "Tests", "Diff vs top")
        actions = keep(w.HBox([self.insert_button, self.define_button, self.copy],
                              layout=w.Layout(align_items="center")), "cs-actions")
        return keep(w.VBox([self.detail_head, actions, self.action_status, self.tabs],
                           layout=w.Layout(display="none")), "cs-detail")

    def _guard(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        """Callbacks run on the kernel's main thread; an error there must reach the user."""
        def call(arg: Any) -> None:
            try:
                fn(arg)
            except Exception as e:  # shown, not raised: there is no cell to show a traceback in
                _log.debug("widget callback failed", exc_info=e)
                self._status(f"internal error: {type(e).__name__}: {e}", "error")
        return call

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> SearchView:
        """Follow the run from a worker thread; check for the JupyterLab extension."""
        self._follower.start()
        if self.insert_mode == "checking":
            threading.Thread(target=self._ping, name="codesearch-ping", daemon=True).start()
        return self

    def _ping(self) -> None:
        bridge = self._bridge
        ok = False
        try:
            ok = bool(bridge is not None and bridge.ping(PING_TIMEOUT))
        except Exception as e:  # no extension to talk to is an answer too: the fallback button
            _log.debug("pinging the JupyterLab extension failed", exc_info=e)
            ok = False
        with self._lock:
            if self.insert_mode == "checking":
                self.insert_mode = "comm" if ok else "fallback"
            self._render_actions()

    def close(self) -> None:
        """Stop following the run and close every widget model of the view."""
        self._follower.close()
        with self._lock:
            for widget in self._widgets:
                for part in (getattr(widget, "layout", None), getattr(widget, "style", None), widget):
                    if part is not None:
                        part.close()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until the view thread has drawn the finished run (for tests and scripts)."""
        return self._follower.wait(timeout)

    def model_ids(self) -> set[str]:
        """Ids of every widget model this view owns (layouts and styles included)."""
        ids: set[str] = set()
        for widget in self._widgets:
            for part in (widget, getattr(widget, "layout", None), getattr(widget, "style", None)):
                if part is not None and part.model_id:
                    ids.add(part.model_id)
        return ids

    # -- user actions ----------------------------------------------------------------------------

    def stop(self) -> None:
        """The Stop button."""
        if not self.run.done:
            self.run.stop()
            self.stop_button.description = "Stopping…"
            self.stop_button.disabled = True

    def goto(self, page: float) -> None:
        """Show page ``page`` (clamped)."""
        with self._lock:
            self.page = int(max(0, min(page, self._pages() - 1)))
            self._render_table(self.run.ranked())

    def sort_by(self, key: str) -> None:
        """Sort by a column; the same column again flips the direction."""
        col = next(c for c in self.columns if c.key == key)
        with self._lock:
            if self.sort_key == key:
                self.descending = not self.descending
            else:
                self.sort_key, self.descending = key, col.descending_first
            self.page = 0
            self._render_table(self.run.ranked())

    def _on_passing(self, change: dict[str, Any]) -> None:
        with self._lock:
            self.passing_only = bool(change["new"])
            self.page = 0
            self._render_table(self.run.ranked())

    def _on_header(self, key: str, _button: Any) -> None:
        self.sort_by(key)

    def _on_row(self, i: int, _button: Any = None) -> None:
        cid = self._page_ids[i]
        if cid is not None:
            self.select(cid)

    def select(self, candidate_id: int) -> None:
        """Show one candidate's code, tests and diff (stops following the top candidate)."""
        with self._lock:
            self.selected = candidate_id
            self._follow_top = False
            ranked = self.run.ranked()
            self._render_table(ranked)
            self._render_detail(ranked)
            self._status("")

    def _candidate(self, candidate_id: int | None) -> Candidate | None:
        if candidate_id is None:
            return None
        return next((c for c in self.run.candidates if c.id == candidate_id), None)

    def insert_command(self, candidate_id: int) -> str:
        """The fallback line that inserts a candidate from a plain cell."""
        suffix = "" if self.name == "_search" else f" --name {self.name}"
        return f"%search_insert {candidate_id}{suffix}"

    def insert(self) -> None:
        """Insert the selected candidate into a new cell below the ``%%search`` cell."""
        c = self._candidate(self.selected)
        if c is None:
            return
        if self.insert_mode == "fallback" or self._bridge is None or not self.cell_id:
            self._status(f"This frontend cannot insert cells for us: run <code>{self.insert_command(c.id)}</code> "
                         "in a cell to insert it there.", "info", raw=True)
            return
        self._status("Inserting…")
        threading.Thread(target=self._insert_worker, args=(c,), name="codesearch-insert", daemon=True).start()

    def _insert_worker(self, c: Candidate) -> None:
        assert self._bridge is not None  # insert() checked
        try:
            reply = self._bridge.request("insert_below", INSERT_TIMEOUT, cell_id=self.cell_id, code=c.code)
        except Exception as e:
            _log.debug("insert_below failed", exc_info=e)
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        with self._lock:
            if reply is None:
                self.insert_mode = "fallback"
                self._render_actions()
                self._status(f"The JupyterLab extension did not answer: run <code>{self.insert_command(c.id)}</code> "
                             "in a cell to insert it there.", "warning", raw=True)
            elif reply.get("ok"):
                self._status(f"Inserted #{c.id} in a new cell below the %%search cell.", "info")
            else:
                why = html.escape(str(reply.get("error") or "unknown error"))
                self._status(f"Could not insert: {why}. Run <code>{self.insert_command(c.id)}</code> instead.",
                             "error", raw=True)

    def add_assert(self, disagreement: Disagreement, cluster: int) -> None:
        """Append the assert that makes ``cluster``'s answer the expected one to the ``%%search`` cell.

        Through the JupyterLab extension; where it cannot help, the line is shown to paste.
        """
        self.panel.add_assert(disagreement, cluster)

    def define(self) -> None:
        """Run the cell's context and the selected candidate in the user namespace."""
        c = self._candidate(self.selected)
        if c is None:
            return
        if self.namespace is None:
            self._status("No namespace to define it in.", "error")
            return
        source = (self.run.spec.context + "\n" if self.run.spec.context.strip() else "") + c.code
        try:
            exec(compile(source, f"<codesearch #{c.id}>", "exec"), self.namespace)
        except Exception as e:
            self._status(f"Could not define #{c.id}: {type(e).__name__}: {e}", "error")
            return
        self._status(f"Defined <code>{html.escape(self.run.spec.name)}</code> (#{c.id}) in the notebook.",
                     "info", raw=True)

    def _status(self, text: str, kind: R.Kind = "info", raw: bool = False) -> None:
        self.action_status.value = R.status_html(text, kind, raw)

    # -- drawing ---------------------------------------------------------------------------------

    def _items(self, ranked: list[Candidate]) -> list[tuple[int, Candidate]]:
        items = R.sort_candidates(ranked, self.sort_key, self.descending)
        if self.passing_only:
            items = [(r, c) for r, c in items if c.passed]
        return items

    def _pages(self) -> int:
        ranked = self.run.ranked()
        return max(1, math.ceil(len(self._items(ranked)) / self.page_size))

    def render(self) -> None:
        """Redraw everything from the run's current state (thread-safe)."""
        with self._lock:
            if self._follower.closed:
                return
            self.redraws += 1
            # Progress is read before the ranking and drawn after it: when the view says "done",
            # the table it shows already holds every candidate (messages reach the page in order).
            progress = self.run.progress
            ranked = self.run.ranked()
            if not self.run.done:  # what is shown below is in the history
                self.run.recorded(REDRAW_INTERVAL)
            self._render_table(ranked)
            self.panel.render(ranked)
            self._render_detail(ranked)
            self._render_progress(progress)

    def _render_progress(self, p: Progress) -> None:
        run = self.run
        cfg = run.config
        which = cfg.effective_generator
        source = {"llm": cfg.model or "model", "synth": "offline synthesizer",
                  "both": f"{cfg.model} + offline synthesizer"}.get(which, which)
        climb = getattr(run, "trajectory", ())  # optimising runs only; stand-in runs may have none
        self.progress.value = R.progress_html(run.spec.name, source, p) + R.trajectory_svg(
            climb, p.generated, run.spec.score_mode == "runtime")
        self.bar.max = max(1, p.candidates)
        self.bar.value = p.verified
        self.bar.bar_style = {"done": "success", "failed": "danger", "stopped": "warning"}.get(p.state, "info")
        if run.done:
            self.stop_button.disabled = True
            self.stop_button.description = "Stop"
            self.stop_button.layout.visibility = "hidden"
        error = run.error
        self.message.value = R.message_html(str(error)) if error is not None else ""
        self.message.layout.display = None if error is not None else "none"
        # A run that failed before producing anything is just its message.
        self.top.layout.display = "none" if error is not None and not p.candidates else None
        notices = [*self.notes, *run.notices]
        self.notices.value = R.notices_html(notices)
        self.notices.layout.display = None if notices else "none"

    def _render_table(self, ranked: list[Candidate]) -> None:
        if self._follow_top:
            self.selected = ranked[0].id if ranked else None
        items = self._items(ranked)
        pages = max(1, math.ceil(len(items) / self.page_size))
        self.page = min(self.page, pages - 1)
        start = self.page * self.page_size
        shown = items[start : start + self.page_size]
        for i, b in enumerate(self.rows):
            if i < len(shown):
                rank, c = shown[i]
                self._page_ids[i] = c.id
                b.description = R.row_text(rank, c, self.columns)
                b.style.text_color = R.status_colour(c.status)
                b.style.button_color = R.PALETTE["info"][1] if c.id == self.selected else "transparent"
                b.style.font_weight = "bold" if c.id == self.selected else ""
                b.layout.display = None
            else:
                self._page_ids[i] = None
                b.layout.display = "none"
        for col, b in zip(self.columns, self.headers, strict=True):
            title = col.title
            if col.key == self.sort_key:
                arrow = "▼" if self.descending else "▲"
                title = arrow + title if col.right else title + arrow
            b.description = title.rjust(col.width) if col.right else title.ljust(col.width)
        total = len(ranked)
        passing = sum(c.passed for c in ranked)
        if items:
            span = f"{start + 1}-{start + len(shown)} of {len(items)}"
        else:
            span = "no passing candidates yet" if self.passing_only and total else "0"
        self.first.disabled = self.prev.disabled = self.page == 0
        self.next.disabled = self.last.disabled = self.page >= pages - 1
        # The label goes last: once it shows the new page, the rows and buttons already do.
        self.page_label.value = (f'<span class="cs-page-text">page {self.page + 1} / {pages} &middot; {span}'
                                 f' &middot; {passing} passing of {total}</span>')
        waiting = not ranked and not self.run.done
        self.empty.value = ('<p class="cs-dim">Waiting for candidates…</p>' if waiting
                            else '<p class="cs-dim">No candidates.</p>' if not ranked else "")
        self.empty.layout.display = None if not ranked else "none"
        self.table.layout.display = "none" if (not ranked and self.run.error is not None) else None

    def _render_detail(self, ranked: list[Candidate]) -> None:
        rank_of = {c.id: r for r, c in enumerate(ranked, 1)}
        c = next((x for x in ranked if x.id == self.selected), None)
        top = ranked[0] if ranked else None
        key = (c, top, rank_of.get(c.id) if c is not None else None)  # the header says its rank
        if key == self._shown_detail:
            return
        self._shown_detail = key
        if c is None:
            self.detail.layout.display = "none"
            return
        self.detail.layout.display = None
        self.detail_head.value = R.detail_header_html(rank_of.get(c.id), c)
        self.code.value = R.code_html(c.code)
        self.tests.value = R.tests_html(c)
        self.diff.value = R.diff_html(top, c)
        tests = f"Tests {c.tests_passed}/{c.tests_total}" if c.verified and c.tests_total else "Tests"
        self.tabs.titles = ("Code", tests, f"Diff vs #{top.id}" if top is not None else "Diff")
        self.copy.value = copy_html(c.code)
        self._render_actions()

    def _render_actions(self) -> None:
        c = self._candidate(self.selected)
        runnable = c is not None and c.invalid_reason is None
        self.define_button.disabled = not runnable
        self.insert_button.disabled = c is None
        if self.insert_mode == "fallback" and c is not None:
            self.insert_button.description = f"run {self.insert_command(c.id)}"
            self.insert_button.tooltip = ("No JupyterLab extension answered: run this line in a cell to "
                                          "insert the candidate below it")
            self.insert_button.icon = ""
        else:
            self.insert_button.description = "Insert below"
            self.insert_button.icon = "arrow-down"
            self.insert_button.tooltip = "Insert this code into a new cell below the %%search cell"

    # -- display ---------------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = self.root._repr_mimebundle_(**kwargs)
        # The default text is the repr of every child widget; say something useful instead.
        bundle["text/plain"] = (f"%%search {self.run.spec.name}: live view (the run is `{self.name}`; "
                                f"`{self.name}.to_frame()` for a table)")
        return bundle
