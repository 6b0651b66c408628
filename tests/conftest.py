"""Shared fixtures: real kernels, real processes; everything started here is stopped here."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

# Subprocesses (the CLI, notebook kernels) import this checkout, not whichever checkout the
# environment has installed in editable mode (worktrees share one venv).
os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
for _name in [k for k in os.environ if k.startswith("CODESEARCH_")]:
    del os.environ[_name]  # a developer's own settings must not change what tests see

# Secrets in the caller's environment before any kernel starts: the hazard tests check that
# candidates can never read them.
SECRET = "cs-secret-" + secrets.token_hex(8)
os.environ["CODESEARCH_TEST_SECRET"] = SECRET
os.environ["OPENAI_API_KEY"] = "sk-" + SECRET
# litellm would fetch its price list from the network at import time without this.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
# Keep test runs out of the user's real response cache; tests that need one pass their own.
os.environ["CODESEARCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="codesearch-test-cache-")
# atexit too: a run that never reaches the session fixture (collect-only, an early error) still cleans up.
atexit.register(shutil.rmtree, os.environ["CODESEARCH_CACHE_DIR"], ignore_errors=True)
# Likewise the search history: tests never write to the user's real one (subprocesses and kernels
# inherit this); tests of the history itself pass their own file.
os.environ["CODESEARCH_HISTORY"] = tempfile.mkdtemp(prefix="codesearch-test-history-")
atexit.register(shutil.rmtree, os.environ["CODESEARCH_HISTORY"], ignore_errors=True)


def _test_history() -> Path:
    return Path(os.environ["CODESEARCH_HISTORY"]) / "history.sqlite"


# A SearchConfig made directly (not from the environment) records to the default file: here, too,
# a temporary one, never the user data dir.
import jupyter_codesearch.store._store as _store  # noqa: E402 - after the environment is set

_store.default_path = _test_history


@pytest.fixture(autouse=True)
def _own_history(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test records to a history of its own: one test's verdict cache must not answer for
    another's verifier (tests count what was verified)."""
    monkeypatch.setenv("CODESEARCH_HISTORY", str(tmp_path_factory.mktemp("history")))


@pytest.fixture(scope="session", autouse=True)
def _stop_engine_at_end() -> Iterator[None]:
    yield
    from jupyter_codesearch import _engine

    _engine.shutdown()
    shutil.rmtree(os.environ["CODESEARCH_CACHE_DIR"], ignore_errors=True)
    shutil.rmtree(os.environ["CODESEARCH_HISTORY"], ignore_errors=True)


@pytest.fixture
def view_of() -> Iterator[Callable[..., Any]]:
    """Make widget views of (real or stand-in) runs; every one is closed afterwards."""
    from jupyter_codesearch.ui._widget import SearchView

    views: list[SearchView] = []

    def make(run: Any, **kw: Any) -> SearchView:
        kw.setdefault("namespace", {})
        view = SearchView(run, **kw)
        views.append(view)
        return view

    yield make
    for view in views:
        view.close()


_SHELL_NAMES = ("_search", "res", "SCALE", "helper", "greeting", "math", "past")
"""Names the magic tests define in the shell's namespace (removed after each)."""


@pytest.fixture
def ip() -> Iterator[Any]:
    """The real IPython shell with the extension loaded; afterwards unloaded, the tests' names
    removed and the input history reset."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_codesearch")
    try:
        yield shell
    finally:
        shell.run_line_magic("unload_ext", "jupyter_codesearch")
        for name in _SHELL_NAMES:
            shell.user_ns.pop(name, None)
        shell.history_manager.reset()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for a module's browser tests (the module's ``server`` serves the Lab)."""
    from tests.browser_support import browse

    yield from browse(viewport=(1280, 1000))


@pytest.fixture
def lab(server: Any, browser: Any) -> Any:
    """A JupyterLab page of the module's ``server`` in ``browser``."""
    from tests.browser_support import lab_page

    return lab_page(server, browser)


@pytest.fixture(scope="module")
def sandboxed_pool() -> None:
    """The hazard suites' pool, sandboxed (without bubblewrap they fail, saying what to install)."""
    from tests.support.hazards import start_sandboxed_pool

    start_sandboxed_pool()


@pytest.fixture
def pool_survives() -> Iterator[None]:
    """After a hazard case: the pool still verifies a correct candidate, nothing is left running."""
    from tests.support.hazards import assert_pool_survived

    yield
    assert_pool_survived()


@pytest.fixture
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"benchmark data not found at {DATA} (expected ../shared/data next to the repo)")
    return DATA
