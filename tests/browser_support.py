"""Helpers for browser tests: a throwaway JupyterLab server and a headless Chromium.

Context managers (each cleans up after itself, also on failure):

* :func:`lab_server` -- starts ``python -m jupyter lab`` on 127.0.0.1 with a random token and
  a free port, in a fresh root dir and with isolated config/runtime/settings/workspace dirs;
  on exit shuts down every kernel, stops the server (its whole process group if it does not
  exit), and removes the temp dirs.
* :func:`chromium_page` -- Debian's ``/usr/bin/chromium`` driven by Playwright (never a
  Playwright-downloaded browser), headless, with a fresh user-data-dir; closed and removed on
  exit.

:class:`LabPage` wraps a page showing JupyterLab (started with ``expose_app_in_browser``, so
``window.jupyterapp`` is the application) and offers notebook-level helpers that read and drive
the notebook *model*, which is much less flaky than scraping the DOM.

For fixtures, :func:`serve`, :func:`browse` and :func:`lab_page` hold what every browser test
module needs (a setup problem -- no Chromium, no Playwright, a server that does not start -- is
a failure with instructions, never a skip); each module declares its fixtures in two lines
with them, so the notebooks it serves stay its own. :func:`open_with_extension` opens a
notebook and fails clearly when the extension is not active.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT_DIR = REPO_ROOT / "artifacts" / "screenshots"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_CHROMIUM_HINT = (
    "Chromium is required for the browser tests: install it with "
    "`apt-get install -y chromium` (Debian/Ubuntu; it provides /usr/bin/chromium). "
    "Do not run `playwright install`: the tests use the system browser."
)

SERVER_START_TIMEOUT = 90.0
KERNEL_TIMEOUT = 60.0
PLUGIN_ID = "jupyter-codesearch:plugin"


class BrowserTestSetupError(RuntimeError):
    """The environment cannot run the browser tests (missing browser, server did not start)."""


def require_chromium() -> str:
    """Return the Chromium executable path or raise with installation instructions."""
    path = Path(CHROMIUM)
    if not path.exists() or not os.access(path, os.X_OK):
        raise BrowserTestSetupError(f"{CHROMIUM} not found. {INSTALL_CHROMIUM_HINT}")
    return str(path)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- notebooks


def code_cell(source: str, cell_id: str | None = None) -> dict[str, Any]:
    """An nbformat 4.5 code cell (with an explicit, stable id if given)."""
    return {
        "cell_type": "code",
        "id": cell_id or uuid.uuid4().hex[:12],
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": source,
    }


def write_notebook(path: Path, cells: Sequence[dict[str, Any]]) -> Path:
    """Write an nbformat 4.5 notebook using the python3 kernel."""
    notebook = {
        "cells": list(cells),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- server


@dataclass
class LabServer:
    """A running JupyterLab server (see :func:`lab_server`)."""

    url: str
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        """Call the Jupyter server REST API; returns the decoded JSON (or None)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def lab_url(self, notebook: str) -> str:
        """URL that opens ``notebook`` (relative to root_dir) in a fresh workspace."""
        return f"{self.url}/lab/tree/{notebook}?reset&token={self.token}"

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def _settings_overrides(settings_dir: Path) -> None:
    """User settings that keep JupyterLab's news/update popups away."""
    notification = settings_dir / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
    )


@contextlib.contextmanager
def lab_server(files: dict[str, Any] | None = None) -> Iterator[LabServer]:
    """Run JupyterLab in a temp root dir; ``files`` maps relative names to notebook cell lists.

    Everything is torn down on exit: kernels, server (process group), temp dirs.
    """
    with tempfile.TemporaryDirectory(prefix="codesearch-lab-", ignore_cleanup_errors=True) as tmp:
        base = Path(tmp)
        root = base / "root"
        root.mkdir()
        for name, cells in (files or {}).items():
            write_notebook(root / name, cells)
        dirs = {name: base / name for name in ("config", "runtime", "settings", "workspaces")}
        for directory in dirs.values():
            directory.mkdir()
        _settings_overrides(dirs["settings"])
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONUNBUFFERED="1",
        )
        env.pop("PYTHONWARNINGS", None)
        token = secrets.token_hex(24)
        port = free_port()
        log_path = base / "server.log"
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--IdentityProvider.token={token}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True",
            "--ServerApp.open_browser=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # containers/CI run as root
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = LabServer(f"http://127.0.0.1:{port}", token, root, log_path, process)
        try:
            _wait_for_server(server)
            yield server
        finally:
            _stop_server(server)


def _wait_for_server(server: LabServer) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BrowserTestSetupError(
                f"JupyterLab exited with code {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            server.api("GET", "/api/status", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise BrowserTestSetupError(f"JupyterLab did not start in time:\n{server.log_tail()}")


def _stop_server(server: LabServer) -> None:
    process = server.process
    if process.poll() is None:
        with contextlib.suppress(Exception):
            for kernel in server.api("GET", "/api/kernels", timeout=5) or []:
                with contextlib.suppress(Exception):
                    server.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=15)
        with contextlib.suppress(Exception):
            server.api("POST", "/api/shutdown", timeout=5)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    # The server ran in its own session; kill anything left in that group (kernels).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


# --------------------------------------------------------------------------- browser


@dataclass
class BrowserSession:
    """A headless Chromium page plus what it logged."""

    page: Any  # playwright.sync_api.Page
    console: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@contextlib.contextmanager
def chromium_page(viewport: tuple[int, int] = (1280, 900)) -> Iterator[BrowserSession]:
    """Headless system Chromium with a fresh profile, via Playwright's sync API."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(
            prefix="codesearch-chromium-", ignore_cleanup_errors=True
        ) as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=profile,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            session = BrowserSession(page)
            page.on("console", lambda msg: session.console.append((msg.type, msg.text)))
            page.on("pageerror", lambda err: session.page_errors.append(str(err)))
            yield session
        finally:
            context.close()


# --------------------------------------------------------------------------- JupyterLab page

_JS_PANEL = """
(path) => {
  const app = window.jupyterapp;
  if (!app) { return null; }
  let found = null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.content.model) { found = w; }
  }
  return found;
}
"""


class LabPage:
    """Drive a JupyterLab page through ``window.jupyterapp`` (needs expose_app_in_browser)."""

    def __init__(self, session: BrowserSession, server: LabServer) -> None:
        self.session = session
        self.page = session.page
        self.server = server
        self.path = ""

    # -- evaluation helpers

    def eval_in_panel(self, body: str, arg: Any = None) -> Any:
        """Evaluate ``body`` (a JS function body with ``panel``, ``app``, ``arg`` in scope)."""
        script = (
            "async ([path, arg]) => {\n"
            f"  const findPanel = {_JS_PANEL};\n"
            "  const app = window.jupyterapp;\n"
            "  const panel = findPanel(path);\n"
            "  if (!panel) { throw new Error('notebook ' + path + ' is not open'); }\n"
            f"  {body}\n"
            "}"
        )
        return self.page.evaluate(script, [self.path, arg])

    # -- opening

    def open_notebook(self, path: str, timeout: float = KERNEL_TIMEOUT) -> None:
        """Open ``path`` in a fresh workspace and wait for an idle kernel."""
        self.path = path
        self.page.goto(self.server.lab_url(path))
        self.page.wait_for_function("() => !!window.jupyterapp", timeout=timeout * 1000)
        self.wait_kernel_idle(timeout)

    def wait_kernel_idle(self, timeout: float = KERNEL_TIMEOUT) -> str:
        """Wait until the open notebook has a kernel in the idle state; returns its id."""
        kernel_id = self.page.wait_for_function(
            "(path) => { const f = " + _JS_PANEL + "; const p = f(path);"
            " const k = p && p.sessionContext.session && p.sessionContext.session.kernel;"
            " return k && k.status === 'idle' ? k.id : null; }",
            arg=self.path,
            timeout=timeout * 1000,
        ).json_value()
        return str(kernel_id)

    def plugin_active(self, plugin_id: str) -> bool:
        return bool(
            self.page.evaluate(
                "(id) => window.jupyterapp.hasPlugin(id)"
                " && window.jupyterapp.isPluginActivated(id)",
                plugin_id,
            )
        )

    # -- notebook model

    def cells(self) -> list[dict[str, Any]]:
        """The notebook's cells as nbformat JSON (ids, sources, outputs...)."""
        result = self.eval_in_panel("return panel.content.model.toJSON().cells;")
        cells: list[dict[str, Any]] = []
        for cell in result:
            source = cell.get("source", "")
            cell["source"] = "".join(source) if isinstance(source, list) else source
            cells.append(cell)
        return cells

    def cell_index(self, cell_id: str) -> int:
        for index, cell in enumerate(self.cells()):
            if cell["id"] == cell_id:
                return index
        raise KeyError(cell_id)

    def active_cell_index(self) -> int:
        return int(self.eval_in_panel("return panel.content.activeCellIndex;"))

    def run_cell(self, cell_id: str, timeout: float = KERNEL_TIMEOUT) -> dict[str, Any]:
        """Make the cell active, run it (``notebook:run-cell``), wait, return its JSON."""
        self.eval_in_panel(
            """
            const cells = panel.content.model.cells;
            let index = -1;
            for (let i = 0; i < cells.length; i++) { if (cells.get(i).id === arg) { index = i; } }
            if (index < 0) { throw new Error('no cell ' + arg); }
            app.shell.activateById(panel.id);
            panel.content.activeCellIndex = index;
            await app.commands.execute('notebook:run-cell');
            return null;
            """,
            cell_id,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = self.eval_in_panel(
                "const k = panel.sessionContext.session && panel.sessionContext.session.kernel;"
                " return !k || k.status !== 'idle';"
            )
            cell = self.cells()[self.cell_index(cell_id)]
            if not busy and cell.get("execution_count") is not None:
                return cell
            time.sleep(0.1)
        raise TimeoutError(f"cell {cell_id} did not finish in {timeout}s")

    @staticmethod
    def output_text(cell: dict[str, Any]) -> str:
        """Concatenated stream / text/plain outputs of a cell (error tracebacks included)."""
        parts: list[str] = []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                text = output.get("text", "")
                parts.append("".join(text) if isinstance(text, list) else text)
            elif kind in ("execute_result", "display_data"):
                text = output.get("data", {}).get("text/plain", "")
                parts.append("".join(text) if isinstance(text, list) else text)
            elif kind == "error":
                parts.append(f"{output.get('ename')}: {output.get('evalue')}")
        return "".join(parts)

    def screenshot(self, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


# --------------------------------------------------------------------------- fixture bodies


def serve(files: dict[str, Any]) -> Iterator[LabServer]:
    """Body of a module-scoped ``server`` fixture: ``yield from serve(notebooks)``."""
    failure: BrowserTestSetupError | None = None
    try:
        with lab_server(files) as running:
            yield running
    except BrowserTestSetupError as exc:
        failure = exc
    if failure is not None:  # outside the except: the report is the reason, not a chained traceback
        pytest.fail(str(failure), pytrace=False)


def browse(viewport: tuple[int, int] = (1280, 900)) -> Iterator[BrowserSession]:
    """Body of a module-scoped ``browser`` fixture: ``yield from browse()``."""
    if importlib.util.find_spec("playwright") is None:
        pytest.fail("Python Playwright is required: .venv/bin/pip install playwright "
                    "(the tests use Debian's /usr/bin/chromium: apt-get install -y chromium; "
                    "do not run `playwright install`)", pytrace=False)
    failure: BrowserTestSetupError | None = None
    try:
        with chromium_page(viewport=viewport) as session:
            yield session
    except BrowserTestSetupError as exc:
        failure = exc
    if failure is not None:
        pytest.fail(str(failure), pytrace=False)


def lab_page(server: LabServer, browser: BrowserSession) -> LabPage:
    """Body of the per-test ``lab`` fixture: the shared page, with what it logged so far forgotten."""
    browser.console.clear()
    browser.page_errors.clear()
    return LabPage(browser, server)


def open_with_extension(lab: LabPage, notebook: str) -> None:
    """Open ``notebook``; fail with instructions when the extension is not active."""
    lab.open_notebook(notebook)
    if not lab.plugin_active(PLUGIN_ID):
        pytest.fail(
            f"JupyterLab did not activate {PLUGIN_ID}: build and install the extension "
            "(`.venv/bin/pip install -e .`, see labextension/README.md); "
            "`jupyter labextension list` must show jupyter-codesearch enabled OK",
            pytrace=False,
        )
