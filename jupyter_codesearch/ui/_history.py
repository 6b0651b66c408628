"""``%search_history``, ``%search_open ID`` and ``%%search --resume ID``: the history in a notebook.

A mixin of :class:`~jupyter_codesearch.ui._magic.CodeSearchMagics` (which holds the session
defaults and shows views): past runs are listed as a DataFrame, and a past run opens as a
finished :class:`SearchRun` in the same live view as a new one (Insert below works).
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from .._config import resolve_config
from .._exceptions import CodeSearchError, ConfigError

if TYPE_CHECKING:
    from ..run import SearchRun
    from ..store import PastRun, Store

__all__ = ["HistoryMagics", "has_code", "history_frame"]


def has_code(cell: str) -> bool:
    """Anything but blank lines and comments (``%%search --resume ID`` with such a cell, which
    IPython needs non-empty, continues with the past run's spec)."""
    return any(ln.strip() and not ln.strip().startswith("#") for ln in cell.splitlines())


def history_frame(summaries: list[dict[str, Any]]) -> Any:
    """Past runs as a DataFrame indexed by id (the columns of ``history`` in words)."""
    import pandas as pd  # type: ignore[import-untyped]

    from ._text import history_cells

    rows = []
    for s in summaries:
        cells = history_cells(s)
        rows.append({**cells, "candidates": s["candidates"], "passing": s["passing"], "cost": s["cost"]})
    columns = ["id", "when", "function", "model", "status", "best", "candidates", "passing", "cost"]
    return pd.DataFrame(rows, columns=columns).set_index("id")


class HistoryMagics:
    """The history magics; ``shell``, ``session`` and the view helpers come from the magics class."""

    shell: Any
    session: dict[str, Any]
    last_name: str | None

    def _store(self) -> Store:
        from ..store import history_path, store_for

        config, _ = resolve_config({}, self.session)
        store = store_for(config) if history_path(config) is not None else None
        if store is None:
            raise ConfigError("the search history is off (history=off): runs are not recorded")
        return store

    def past_run(self, wanted: str) -> PastRun:
        """The past run ``wanted`` names (an id or a unique prefix)."""
        from ..store._read import load_run

        return load_run(self._store(), wanted)

    def search_history_magic(self, line: str) -> None:
        """List past runs, newest first (``%search_history 20``: the 20 newest)."""
        from ..store._read import list_runs
        from ._magic import _display, _show_error

        try:
            words = line.split()
            if len(words) > 1 or (words and not words[0].isdigit()):
                raise ConfigError("%search_history takes how many runs to list, e.g. %search_history 20")
            runs = list_runs(self._store(), int(words[0]) if words else None)
        except CodeSearchError as e:
            _show_error(e, "%search_history")
            return
        if not runs:
            _display({"text/plain": "no runs in the search history yet."}, raw=True)
            return
        _display(history_frame(runs))

    def search_open_magic(self, line: str) -> None:
        """Show a past run's view (``%search_open ID [--name VAR]``); binds it like ``%%search``."""
        from ..run._past import restored
        from ._magic import _show_error

        try:
            words = shlex.split(line)
            name = self.session.get("name", "_search")
            if "--name" in words:
                i = words.index("--name")
                if i + 1 >= len(words) or not words[i + 1].isidentifier():
                    raise ConfigError("%search_open --name needs a variable name, e.g. --name past")
                name = words[i + 1]
                del words[i : i + 2]
            if len(words) != 1:
                raise ConfigError("%search_open takes one run id (%search_history lists them), "
                                  "e.g. %search_open 3fa2c1")
            run = restored(self.past_run(words[0]))
        except CodeSearchError as e:
            _show_error(e, "%search_open")
            return
        self._bind_and_show(run, name)

    def _bind_and_show(self, run: SearchRun, name: str, notes: tuple[str, ...] = ()) -> None:
        from ._magic import _use_widget

        self.shell.user_ns[name] = run
        self.last_name = name
        if _use_widget(self.shell):
            self._show_view(run, name, notes)  # type: ignore[attr-defined]
        else:
            self._show_text(run, name, notes)  # type: ignore[attr-defined]
