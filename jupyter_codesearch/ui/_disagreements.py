"""The disagreements panel of the live view: inputs on which the top behaviour clusters differ.

Each row is a call, then one answer and an "Add assert" button per cluster; a click appends the
assert that makes that answer the expected one to the ``%%search`` cell, through the JupyterLab
extension where it answers (the line is shown to paste elsewhere). The widgets are built once, a
fixed grid refilled on each redraw, like the table's rows.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from .._log import get_logger
from .._model import Candidate, Disagreement
from . import _render as R
from ._assets import copy_html

if TYPE_CHECKING:
    from ..run import SearchRun
    from ._frontend import LabBridge

__all__ = ["DISAGREEMENT_CLUSTERS", "DISAGREEMENT_ROWS", "DisagreementsPanel"]

DISAGREEMENT_ROWS = 5
"""Inputs shown at most: one or two decide most specs, and each row costs widget models."""
DISAGREEMENT_CLUSTERS = 3
"""Clusters compared per input (the heaviest ones; lighter ones rarely hold the right answer)."""
APPEND_TIMEOUT = 8.0
_log = get_logger(__name__)


class _Owner(Protocol):
    """What the panel needs from the view that holds it."""

    run: SearchRun
    cell_id: str | None
    insert_mode: str
    _lock: threading.RLock
    _bridge: LabBridge | None

    def _render_actions(self) -> None: ...


@dataclass(frozen=True)
class DisagreementRow:
    """The widgets of one disagreements row: the call, then one output and button per cluster."""

    box: Any
    call: Any
    outputs: tuple[Any, ...]
    adds: tuple[Any, ...]


def show(widget: Any, visible: bool) -> None:
    """Show or hide a widget by a class, not layout.display: the panel's widgets share one layout model."""
    if visible:
        widget.remove_class("cs-hidden")
    else:
        widget.add_class("cs-hidden")


class DisagreementsPanel:
    """The panel's widgets and the state of the asserts added from it."""

    def __init__(self, owner: _Owner, w: Any, keep: Callable[..., Any],
                 guard: Callable[[Callable[[Any], None]], Callable[[Any], None]]) -> None:
        self._owner = owner
        self._found: list[Disagreement] = []
        self._votes: dict[int, int] = {}
        self._shown: tuple[Any, ...] | None = None
        self._added: dict[str, str] = {}
        """Assert lines appended to the cell, by the call they decide."""
        self._adding: set[str] = set()
        # About 40 widgets: with a layout and a style each they would add some 120 models, so
        # they share them (nothing here is sized or coloured one by one).
        self.head = keep(w.HTML(), "cs-dis-head")
        html_parts = {"layout": self.head.layout, "style": self.head.style}
        button_parts = {"layout": w.Layout(), "style": w.ButtonStyle()}
        row_layout = w.Layout()
        self.status_box = keep(w.HTML(**html_parts), "cs-dis-status")
        self.rows: list[DisagreementRow] = []
        for i in range(DISAGREEMENT_ROWS):
            call = keep(w.HTML(**html_parts), "cs-dis-call-box")
            outputs, adds = [], []
            for j in range(DISAGREEMENT_CLUSTERS):
                outputs.append(keep(w.HTML(**html_parts), "cs-dis-out-box"))
                add = keep(w.Button(description="Add assert", icon="plus", **button_parts), "cs-dis-add")
                add.on_click(guard(partial(self._on_add, i, j)))
                adds.append(add)
            cells = [call] + [x for pair in zip(outputs, adds, strict=True) for x in pair]
            box = keep(w.HBox(cells, layout=row_layout), "cs-dis-row", "cs-hidden")
            self.rows.append(DisagreementRow(box, call, tuple(outputs), tuple(adds)))
        # One CSS grid for the whole panel (the rows are display: contents), so the answers and
        # buttons of every input line up in columns: call | cluster's answer | Add assert.
        self.box = keep(w.VBox([self.head, *(r.box for r in self.rows), self.status_box], layout=row_layout),
                        "cs-disagreements", "cs-hidden")

    # -- adding an assert ------------------------------------------------------------------------

    def _on_add(self, row: int, slot: int, _button: Any = None) -> None:
        with self._owner._lock:
            if row >= len(self._found) or slot >= len(self._found[row].outputs):
                return
            d = self._found[row]
        self.add_assert(d, d.outputs[slot][0])

    def add_assert(self, disagreement: Disagreement, cluster: int) -> None:
        """Append the assert that makes ``cluster``'s answer the expected one to the ``%%search`` cell."""
        line = disagreement.assert_line(cluster)
        if line is None:
            return
        call = disagreement.call
        owner = self._owner
        with owner._lock:
            if call in self._added or call in self._adding:
                return
            if owner.insert_mode == "fallback" or owner._bridge is None or not owner.cell_id:
                self._paste_message("This frontend cannot edit the cell for us:", line)
                return
            self._adding.add(call)  # its row's buttons are disabled until the extension answers
            self.status("Adding the assert to the %%search cell…")
        threading.Thread(target=self._append_worker, args=(call, line), name="codesearch-append",
                         daemon=True).start()

    def _append_worker(self, call: str, line: str) -> None:
        owner = self._owner
        assert owner._bridge is not None  # add_assert() checked
        try:
            reply = owner._bridge.request("append_to_cell", APPEND_TIMEOUT, cell_id=owner.cell_id, text=line)
        except Exception as e:
            _log.debug("append_to_cell failed", exc_info=e)
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        with owner._lock:
            self._adding.discard(call)
            if reply is None:
                owner.insert_mode = "fallback"
                owner._render_actions()
                self._paste_message("The JupyterLab extension did not answer:", line)
            elif reply.get("ok"):
                self._added[call] = line
                self.status(
                    f"Added <code>{html.escape(line)}</code> at the end of the %%search cell: run the cell "
                    "again and the candidates that disagree with it fail.", raw=True)
            else:
                why = html.escape(str(reply.get("error") or "unknown error"))
                self._paste_message(f"Could not add it ({why}):", line, raw=True)

    def _paste_message(self, why: str, line: str, raw: bool = False) -> None:
        lead = why if raw else html.escape(why)
        self.status(
            f"{lead} paste <code class=\"cs-dis-line\">{html.escape(line)}</code> at the end of the %%search "
            f"cell and run it again. {copy_html(line)}", "warning", raw=True)

    def status(self, text: str, kind: R.Kind = "info", raw: bool = False) -> None:
        """Say how adding went, below the rows, and redraw them (every change of state says something)."""
        self.status_box.value = R.status_html(text, kind, raw)
        self.fill()

    # -- drawing ---------------------------------------------------------------------------------

    def render(self, ranked: list[Candidate]) -> None:
        """Read the run's current disagreements and redraw (the caller holds the view's lock)."""
        self._found = list(self._owner.run.disagreements(top=DISAGREEMENT_CLUSTERS, limit=DISAGREEMENT_ROWS))
        self._votes = {c.cluster: c.cluster_size for c in ranked
                       if c.cluster is not None and c.cluster_size is not None}
        self.fill()

    def fill(self) -> None:
        """Refill the rows from what was last read; sends nothing when nothing changed."""
        found, done = self._found, self._owner.run.done
        answers = tuple((d.call, tuple((cid, b.text) for cid, b in d.outputs)) for d in found)
        key = (answers, tuple(sorted(self._votes.items())), tuple(sorted(self._added.items())),
               tuple(sorted(self._adding)), done, self.status_box.value)
        if key == self._shown:  # most redraws change nothing here
            return
        self._shown = key
        for i, row in enumerate(self.rows):
            d = found[i] if i < len(found) else None
            show(row.box, d is not None)
            if d is not None:
                self._fill_row(row, d)
        if found:
            later = "" if done else " (so far: candidates are still being probed)"
            self.head.value = (
                f'<div class="cs-dis-title"><b>The top behaviour clusters disagree on these inputs</b>{later}. '
                "Pick the answer you mean: <i>Add assert</i> puts it at the end of the %%search cell, "
                "and the next run decides.</div>")
        show(self.box, bool(found or self.status_box.value))

    def _fill_row(self, row: DisagreementRow, d: Disagreement) -> None:
        row.call.value = R.disagreement_call_html(d)
        added, busy = self._added.get(d.call), d.call in self._adding
        for j, (out, add) in enumerate(zip(row.outputs, row.adds, strict=True)):
            if j >= len(d.outputs):
                show(out, False)
                show(add, False)
                continue
            cluster, behaviour = d.outputs[j]
            out.value = R.disagreement_output_html(cluster, behaviour.text, self._votes.get(cluster))
            show(out, True)
            line = d.assert_line(cluster)
            show(add, line is not None)  # no assert can expect an exception or a timeout
            if line is None:
                continue
            add.tooltip = f"Append to the %%search cell: {line}"
            chosen = added is not None and added == line
            add.description = "Added" if chosen else "Add assert"
            add.icon = "check" if chosen else "plus"
            add.button_style = "success" if chosen else ""
            add.disabled = added is not None or busy
