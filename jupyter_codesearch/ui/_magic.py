"""``%%search``, ``%search_config`` and ``%search_insert``: the notebook front of :func:`search`.

``%load_ext jupyter_codesearch`` only registers these (no model, no kernel, no ipywidgets: those
load when a search cell runs). The cell magic is a thin parser in front of the public API: it
turns options into a :class:`SearchConfig` (with ``%search_config`` defaults underneath), adds
the session's context to the spec (imports run earlier; ``--use`` variables), starts
``search(..., wait=False)``, binds the run to ``_search`` (or ``--name``) and shows the live
widget. Anything wrong with the cell or the options is one readable message, not a traceback.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import functools
import os
import re
import shlex
import sys
import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from .._config import FIELDS, convert, env_name, from_flags, resolve_config
from .._exceptions import CodeSearchError, ConfigError
from .._log import get_logger
from .._options import add_flags, lookup, offered
from ..store import past_settings
from ._history import HistoryMagics, has_code

if TYPE_CHECKING:
    from ..run import SearchRun
    from ..spec import Spec
    from ._widget import SearchView

__all__ = [
    "CodeSearchMagics",
    "SearchOptions",
    "magics_for",
    "parse_search_options",
    "register",
    "session_imports",
    "unregister",
]

# Flags of the %%search line that are not settings.
_EXTRA_FLAGS = ("--use", "--resume", "--help")
_ALL_FLAGS = [s.flag for s in offered("magic") if s.flag is not None] + list(_EXTRA_FLAGS)
TEXT_ROWS = 10
"""Rows of the ranked table a terminal IPython prints (the rest: ``_search.to_frame()``)."""
_log = get_logger(__name__)


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`ConfigError` instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(_explain_argparse(message))


def _explain_argparse(message: str) -> str:
    m = re.match(r"unrecognized arguments: (.*)", message)
    if m:
        words = m.group(1).split()
        first = words[0]
        if first.startswith("-"):
            close = difflib.get_close_matches(first.split("=")[0], _ALL_FLAGS, n=1, cutoff=0.7)
            hint = f" (did you mean {close[0]}?)" if close else ""
            return f"unknown option {first}{hint}. `%%search --help` lists the options."
        return (f"unexpected {first!r} on the %%search line: options start with - or --, and the "
                "function to search for goes in the cell below.")
    m = re.match(r"argument ([^:]+): expected one argument", message)
    if m:
        return f"option {m.group(1).split('/')[-1]} needs a value, e.g. {_example(m.group(1))}."
    m = re.match(r"argument ([^:]+): ignored explicit argument (.*)", message)
    if m:
        return f"option {m.group(1)} takes no value (got {m.group(2)})."
    return message[:1].upper() + message[1:] + ". `%%search --help` lists the options."


def _example(flag: str) -> str:
    flag = flag.split("/")[-1]
    if flag == "--use":
        return "--use data,helper"
    setting = next((s for s in offered("magic") if s.flag == flag), None)
    return f"{flag} {setting.example if setting is not None else '10'}"


def _parser() -> _Parser:
    p = _Parser(prog="%%search", add_help=False, allow_abbrev=False, exit_on_error=False,
                description="Search for implementations of the function stubbed in the cell; the "
                "cell's asserts judge them.")
    add_flags(p, "magic")
    p.add_argument("--use", dest="use", metavar="NAMES", action="append",
                   help="comma-separated variables/functions of this session to make available to "
                        "candidates and tests (sent with cloudpickle)")
    p.add_argument("--resume", metavar="ID", help="continue a stopped run of the history (empty cell: its spec)")
    p.add_argument("-h", "--help", dest="help", action="store_true", help="show this help")
    return p


@dataclass(frozen=True)
class SearchOptions:
    """What the ``%%search`` line says."""

    explicit: dict[str, Any] = field(default_factory=dict)
    """Config fields set on the line, converted to their types."""
    use: tuple[str, ...] = ()
    help: bool = False
    resume: str | None = None


def parse_search_options(line: str) -> SearchOptions:
    """Parse the ``%%search`` line; raises :class:`ConfigError` with a readable message."""
    # Errors about the user's own line: the message says all there is, so no cause is chained.
    try:
        words = shlex.split(line)
    except ValueError as e:
        raise ConfigError(f"cannot read the %%search line: {e}") from None
    try:
        ns = _parser().parse_args(words)
    except argparse.ArgumentError as e:
        raise ConfigError(_explain_argparse(str(e))) from None
    explicit = from_flags(ns, "magic")
    use: list[str] = []
    for chunk in ns.use or []:
        for name in chunk.split(","):
            name = name.strip()
            if not name:
                continue
            if not name.isidentifier():
                raise ConfigError(f"--use {name!r}: not a variable name (write --use data,helper)")
            if name not in use:
                use.append(name)
    return SearchOptions(explicit, tuple(use), bool(ns.help), ns.resume)


def help_text() -> str:
    """``%%search --help``."""
    return _parser().format_help() + (
        "\nSession defaults: %search_config key=value (bare: show the configuration).\n"
        "Insert a candidate from a plain cell: %search_insert N (N is the # column).\n"
        "Past runs: %search_history lists them, %search_open ID shows one, --resume ID continues one.\n"
    )


# ------------------------------------------------------------------------------------ context


def _module_root(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name.split(".")[0] for a in node.names]
    return [(node.module or "").split(".")[0]]


@functools.lru_cache(maxsize=1)
def _installed_roots() -> tuple[str, ...]:
    """Where the Python installation lives: what the verification kernels can import from."""
    from ..execute._isolation import visible_paths

    return visible_paths()


def _where_from(root: str) -> str | None:
    """The file a module was loaded from when that is outside the installation, else None."""
    module = sys.modules.get(root)
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None) or getattr(module, "__file__", None)
    if not isinstance(origin, str) or origin in ("built-in", "frozen") or not os.path.isabs(origin):
        return None
    path = os.path.realpath(origin)
    if any(path == r or path.startswith(r.rstrip("/") + "/") for r in _installed_roots()):
        return None
    return path


def session_imports(shell: Any) -> tuple[str, tuple[str, ...]]:
    """Top-level imports the session has run, deduplicated, as source for the child kernels.

    Returns ``(source, notes)``. Only imports of modules that did import here are kept, so a
    failed or mistyped import in an earlier cell does not break every candidate; a module from
    outside the Python installation (the notebook's folder, say) is left out with a note, as
    the sandboxed kernels cannot import it.
    """
    try:
        history = list(shell.history_manager.input_hist_parsed)
    except AttributeError:
        history = list(shell.user_ns.get("In", []))
    seen: dict[str, None] = {}
    notes: dict[str, None] = {}
    for source in history:
        if not isinstance(source, str) or "import" not in source:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.ImportFrom) and (node.level or node.module == "__future__"):
                continue
            roots = _module_root(node)
            if not all(root in sys.modules for root in roots) or "jupyter_codesearch" in roots:
                continue
            line = ast.unparse(node)
            outside = [p for p in map(_where_from, roots) if p is not None]
            if outside:
                notes[f"`{line}` was not passed to the verification kernels: {outside[0]} is outside the "
                      "Python installation, where the sandbox cannot import from; put what candidates "
                      "need in the cell, or pass values with --use."] = None
                continue
            seen[line] = None
    return "\n".join(seen) + ("\n" if seen else ""), tuple(notes)


def ship(namespace: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, bytes]:
    """``--use``: pickle the named session values for the verification kernels."""
    if not names:
        return {}
    import cloudpickle

    out: dict[str, bytes] = {}
    for name in names:
        if name not in namespace:
            raise ConfigError(f"--use {name}: there is no variable or function named {name!r} in this "
                              "session; define it in a cell above and run that cell first.")
        try:
            out[name] = cloudpickle.dumps(namespace[name])
        except Exception as e:
            raise ConfigError(f"--use {name}: cannot be sent to the verification kernels "
                              f"({type(e).__name__}: {e}); pass plain data or functions.") from e
    return out


# ------------------------------------------------------------------------------------- magics


def _display(obj: Any, raw: bool = False) -> None:
    from IPython.display import display

    display(dict(obj) if raw else obj, raw=raw)  # type: ignore[no-untyped-call]


def _show_error(error: BaseException | str, source: str = "%%search") -> None:
    from ._render import message_bundle

    if isinstance(error, BaseException):  # the message is for the user; the traceback, for CODESEARCH_LOG=debug
        _log.debug("%s failed", source, exc_info=error)
    text = str(error)
    if text.startswith(source + ":"):  # said once is enough
        text = text[len(source) + 1 :].lstrip()
    _display(message_bundle(text, source=source), raw=True)


def _use_widget(shell: Any) -> bool:
    """A kernel with a frontend that can show widgets (a terminal IPython cannot)."""
    return getattr(shell, "kernel", None) is not None


def _cell_id(shell: Any) -> str | None:
    try:
        cell_id = shell.kernel.get_parent()["metadata"].get("cellId")
    except (AttributeError, KeyError, TypeError):
        return None
    return cell_id if isinstance(cell_id, str) and cell_id else None


class CodeSearchMagics(HistoryMagics):
    """The magics of one IPython shell, with its ``%search_config`` session defaults."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.session: dict[str, Any] = {}
        self.last_name: str | None = None
        self.views: dict[str, SearchView] = {}
        """Live views by run name (the latest for each)."""
        self._by_cell: dict[str, tuple[SearchRun, SearchView]] = {}

    # -- %%search ------------------------------------------------------------------------------

    def search_magic(self, line: str, cell: str) -> None:
        """Search for implementations of the function stubbed in the cell (see ``--help``)."""
        try:
            opts = parse_search_options(line)
            if opts.help:
                _display({"text/plain": help_text()}, raw=True)
                return
            past = self.past_run(opts.resume) if opts.resume else None
            spec, notes = self._parse(past.spec_text if past is not None and not has_code(cell) else cell)
            config, _ = resolve_config(opts.explicit, {**self.session, **(past_settings(past) if past else {})})
            preamble, skipped = session_imports(self.shell)
            spec = spec.using(preamble, ship(self.shell.user_ns, opts.use))
            notes += skipped
        except CodeSearchError as e:
            _show_error(e)
            return
        from .. import search  # the package's: wherever the run module lives
        from .._exceptions import SandboxWarning

        with warnings.catch_warnings():  # the run's notices say it, in the widget or the text
            warnings.simplefilter("ignore", SandboxWarning)
            run = search(spec, config, wait=False, resume=past)
        self._bind_and_show(run, config.name, notes)

    def _parse(self, cell: str) -> tuple[Spec, tuple[str, ...]]:
        from ..spec import Spec

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # line_offset=1: the %%search line is line 1 of what the user sees.
            spec = Spec.parse(cell, line_offset=1)
        notes = tuple(dict.fromkeys([*spec.warnings, *(str(w.message) for w in caught)]))
        return spec, notes

    def _show_view(self, run: SearchRun, name: str, notes: tuple[str, ...]) -> None:
        from ._frontend import bridge
        from ._widget import SearchView

        cell_id = _cell_id(self.shell)
        if cell_id is not None:
            old = self._by_cell.pop(cell_id, None)
            if old is not None:  # the cell ran again: its old output is gone, so is its run
                old_run, old_view = old
                old_run.stop()
                old_view.close()
        view = SearchView(run, namespace=self.shell.user_ns, cell_id=cell_id, name=name, notes=notes,
                          bridge=bridge() if cell_id is not None else None)
        self.views[name] = view
        if cell_id is not None:
            self._by_cell[cell_id] = (run, view)
        _display(view)
        view.start()

    def _show_text(self, run: SearchRun, name: str, notes: tuple[str, ...]) -> None:
        # A terminal IPython: wait, then print what the widget would show (user output, not a log).
        from ._text import progress_text, summary_text

        for note in notes:
            print(f"%%search: warning: {note}")
        try:
            run.wait()
        except KeyboardInterrupt:
            run.stop()
            run.wait(15)
            print("%%search: interrupted; what was verified so far is kept")
        for note in run.notices:  # before an error too: "no sandbox" matters either way
            print(f"%%search: {note}")
        if run.error is not None:
            print(f"%%search: {run.error}")
            return
        print(progress_text(run.progress, run.spec.name))
        print(summary_text(run.ranked(), run.best, run.disagreements(), limit=TEXT_ROWS,
                           more=f"see {name}.to_frame()", insert_hint=True))
        print(f"(the run is {name}; {name}.to_frame() gives a DataFrame)")

    # -- %search_config ------------------------------------------------------------------------

    def search_config_magic(self, line: str) -> None:
        """Set session defaults (``key=value ...``; ``key=`` unsets; ``--reset``), or show them."""
        try:
            self.configure(line)
        except CodeSearchError as e:
            _show_error(e, "%search_config")
            return
        if not line.strip() or line.strip() == "--reset":
            self.show_config()

    def configure(self, line: str) -> dict[str, Any]:
        """Apply a ``%search_config`` line to the session defaults; returns them."""
        try:
            words = shlex.split(line)
        except ValueError as e:
            raise ConfigError(f"cannot read %search_config: {e}") from None  # the user's line: said in full
        if words == ["--reset"]:
            self.session.clear()
            return self.session
        new = dict(self.session)
        for word in words:
            key, sep, value = word.partition("=")
            if not sep:
                raise ConfigError(f"%search_config: write key=value (e.g. model=openai/gpt-4o-mini), not {word!r}; "
                                  "bare %search_config shows every setting.")
            found = lookup(key)
            if found is None:
                close = difflib.get_close_matches(key.strip().replace("-", "_"), FIELDS, n=2, cutoff=0.5)
                hint = f" (did you mean {' or '.join(close)}?)" if close else ""
                raise ConfigError(f"%search_config: unknown setting {key!r}{hint}. Known: {', '.join(FIELDS)}.")
            setting, inverted = found
            if value == "":
                new.pop(setting.name, None)
                continue
            converted = convert(setting.name, value)
            new[setting.name] = (not converted) if inverted else converted
        generator = new.get("generator")
        if generator in ("llm", "both") and not (new.get("model") or os.environ.get(env_name("model"))):
            raise ConfigError(f"%search_config: generator={generator} needs a model: set it on the same line or "
                              f"first, e.g. %search_config model=openai/gpt-4o-mini generator={generator}")
        resolve_config({}, new)  # the combination must make a valid config
        self.session = new
        return new

    def show_config(self) -> None:
        """Display the effective configuration and where each value comes from."""
        from ._render import config_html
        from ._text import config_rows, config_text

        try:
            config, origin = resolve_config({}, self.session)
        except CodeSearchError as e:
            _show_error(e, "%search_config")
            return
        rows = config_rows(config, origin)
        _display({"text/html": config_html(rows), "text/plain": config_text(rows)}, raw=True)

    # -- %search_insert ------------------------------------------------------------------------

    def search_insert_magic(self, line: str) -> None:
        """Put candidate N (default: the best) of the last run into a new cell below."""
        try:
            code = self.candidate_code(line)
        except CodeSearchError as e:
            _show_error(e, "%search_insert")
            return
        self.shell.set_next_input(code, replace=False)

    def candidate_code(self, line: str) -> str:
        """The code ``%search_insert`` would insert."""
        words = line.split()
        name = self.last_name or self.session.get("name", "_search")
        if "--name" in words:
            i = words.index("--name")
            if i + 1 >= len(words):
                raise ConfigError("%search_insert --name needs the run's variable, e.g. --name result")
            name = words[i + 1]
            del words[i : i + 2]
        from .. import SearchRun

        run = self.shell.user_ns.get(name)
        if not isinstance(run, SearchRun):
            raise ConfigError(f"%search_insert: no search run in {name!r}; run a %%search cell first"
                              + ("" if name == "_search" else " (or check --name)") + ".")
        if len(words) > 1:
            raise ConfigError("%search_insert takes one candidate number, e.g. %search_insert 3")
        if not words:
            best = run.best
            if best is None:
                raise ConfigError("%search_insert: no candidate passes every test yet; give its number "
                                  "(the # column) to insert another one.")
            return str(best.code)
        text = words[0].lstrip("#")
        if not text.isdigit():
            raise ConfigError(f"%search_insert: {words[0]!r} is not a candidate number (the # column).")
        wanted = int(text)
        cand = next((c for c in run.candidates if c.id == wanted), None)
        if cand is None:
            count = len(run.candidates)
            have = f"#0 to #{count - 1}" if count else "none yet"
            raise ConfigError(f"%search_insert: {name} has no candidate #{wanted} (it has {have}).")
        return str(cand.code)


_MAGICS = (("cell", "search", "search_magic"), ("line", "search_config", "search_config_magic"),
           ("line", "search_insert", "search_insert_magic"), ("line", "search_history", "search_history_magic"),
           ("line", "search_open", "search_open_magic"))
_instances: weakref.WeakKeyDictionary[Any, CodeSearchMagics] = weakref.WeakKeyDictionary()


def magics_for(shell: Any) -> CodeSearchMagics | None:
    """The magics registered on ``shell`` (session defaults, live views), if loaded."""
    return _instances.get(shell)


def register(shell: Any) -> None:
    """Register the magics with an IPython shell (what ``%load_ext`` calls)."""
    if shell is None or shell in _instances:
        return
    magics = _instances[shell] = CodeSearchMagics(shell)
    for kind, name, method in _MAGICS:
        shell.register_magic_function(getattr(magics, method), magic_kind=kind, magic_name=name)


def unregister(shell: Any) -> None:
    """Remove the magics again (``%unload_ext``); live views are closed."""
    magics = _instances.pop(shell, None) if shell is not None else None
    if magics is None:
        return
    for kind, name, _ in _MAGICS:
        shell.magics_manager.magics[kind].pop(name, None)
    for view in magics.views.values():
        view.close()
