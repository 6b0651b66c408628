"""The JupyterLab extension in labextension/, end to end in a real JupyterLab + headless Chromium.

The kernel side is plain ipykernel here (no magic): a cell opens a comm to the
``jupyter_codesearch`` target and the extension edits the notebook. What is checked is the
notebook model in the page, i.e. exactly what would be saved.

Needs: the extension built and installed into this environment (``pip install -e .`` does both),
``playwright`` (Python package only) and Debian's ``/usr/bin/chromium``
(``apt-get install -y chromium``). A missing piece is a test failure, never a skip.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser_support import (
    REPO_ROOT,
    LabPage,
    LabServer,
    code_cell,
    open_with_extension,
    serve,
)

pytestmark = pytest.mark.slow

VERSION = json.loads((REPO_ROOT / "labextension" / "package.json").read_text(encoding="utf-8"))[
    "version"
]
NEW_CODE = "def f(x):\n    return x + 1\n"

INSERT = f"""\
from comm import create_comm
replies = []
cid = get_ipython().kernel.get_parent()["metadata"]["cellId"]
print("cellId:", cid)
c = create_comm(
    target_name="jupyter_codesearch",
    data={{"action": "insert_below", "request_id": "1", "cell_id": cid, "code": {NEW_CODE!r}}},
)
c.on_msg(lambda msg: replies.append(msg["content"]["data"]))
"""

REQUESTS = """\
c.send({"action": "append_to_cell", "request_id": "2", "cell_id": "target", "text": "y = 2"})
c.send({"action": "replace_cell", "request_id": "3", "cell_id": "target2", "source": "new = True"})
c.send({"action": "append_to_cell", "request_id": "4", "cell_id": "no-such-cell", "text": "z = 3"})
c.send({"action": "frobnicate", "request_id": "5"})
c.send({"action": "ping", "request_id": "6"})
c.send({"action": "append_to_cell", "request_id": "7", "cell_id": "target3", "text": "\\nb = 2"})
"""

PING = """\
from comm import create_comm
replies = []
c = create_comm(target_name="jupyter_codesearch", data={"action": "ping", "request_id": "p"})
c.on_msg(lambda msg: replies.append(msg["content"]["data"]))
"""

SHOW = """\
import json
print(json.dumps(sorted(replies, key=lambda r: str(r.get("request_id")))))
"""

NOTEBOOKS = {
    "comm.ipynb": [
        code_cell(INSERT, "insert"),
        code_cell("f(1)", "call"),
        code_cell("x = 1\n\n\n", "target"),
        code_cell("old = True", "target2"),
        code_cell("a = 1", "target3"),
        code_cell(REQUESTS, "requests"),
        code_cell(SHOW, "show"),
    ],
    "restart.ipynb": [code_cell(PING, "ping"), code_cell(SHOW, "show")],
    "console.ipynb": [code_cell(INSERT, "insert"), code_cell(SHOW, "show")],
}


@pytest.fixture(scope="module")
def server() -> Iterator[LabServer]:
    yield from serve(NOTEBOOKS)


def wait_for_replies(lab: LabPage, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Re-run the ``show`` cell until the kernel has ``count`` replies (they arrive async)."""
    deadline = time.monotonic() + timeout
    replies: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        out = LabPage.output_text(lab.run_cell("show")).strip()
        replies = json.loads(out.splitlines()[-1]) if out else []
        if len(replies) >= count:
            return replies
        time.sleep(0.3)
    raise AssertionError(f"expected {count} replies, got {replies!r}")


def codesearch_warnings(lab: LabPage) -> list[str]:
    return [
        text for kind, text in lab.session.console if "[codesearch]" in text and kind == "warning"
    ]


def test_insert_append_replace_and_errors(lab: LabPage) -> None:
    open_with_extension(lab, "comm.ipynb")

    out = LabPage.output_text(lab.run_cell("insert"))
    # JupyterLab puts the running cell's id into the execute_request metadata.
    assert "cellId: insert" in out, out

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(lab.cells()) < len(NOTEBOOKS["comm.ipynb"]) + 1:
        time.sleep(0.1)
    cells = lab.cells()
    assert cells[0]["id"] == "insert"
    new = cells[1]
    assert new["cell_type"] == "code"
    assert new["source"] == NEW_CODE
    assert new["execution_count"] is None and new["outputs"] == []  # inserted, not executed
    assert cells[2]["id"] == "call"
    assert lab.active_cell_index() == 1
    lab.screenshot("labextension-insert-below")

    replies = wait_for_replies(lab, 1)
    assert replies == [{"request_id": "1", "ok": True, "cell_id": new["id"]}]

    ran = lab.run_cell(new["id"])
    assert LabPage.output_text(ran) == ""
    assert LabPage.output_text(lab.run_cell("call")).strip() == "2"

    lab.run_cell("requests")
    replies = wait_for_replies(lab, 7)
    by_id = {r["request_id"]: r for r in replies}
    assert by_id["2"] == {"request_id": "2", "ok": True}
    assert by_id["3"] == {"request_id": "3", "ok": True}
    assert by_id["4"]["ok"] is False and "no-such-cell" in by_id["4"]["error"], by_id["4"]
    assert by_id["5"]["ok"] is False and "frobnicate" in by_id["5"]["error"], by_id["5"]
    assert by_id["6"] == {"request_id": "6", "ok": True, "version": VERSION}
    assert by_id["7"] == {"request_id": "7", "ok": True}

    sources = {c["id"]: c["source"] for c in lab.cells()}
    assert sources["target"] == "x = 1\ny = 2"
    assert sources["target2"] == "new = True"
    assert sources["target3"] == "a = 1\nb = 2"

    warnings = codesearch_warnings(lab)
    assert any("no-such-cell" in w for w in warnings), warnings
    assert any("frobnicate" in w for w in warnings), warnings
    assert not lab.session.page_errors, lab.session.page_errors
    assert not [t for _, t in lab.session.console if "not found in registry" in t]
    lab.screenshot("labextension-requests")


def test_target_survives_kernel_restart_and_change(lab: LabPage) -> None:
    open_with_extension(lab, "restart.ipynb")

    def ping() -> None:
        lab.run_cell("ping")
        replies = wait_for_replies(lab, 1)
        assert replies == [{"request_id": "p", "ok": True, "version": VERSION}]

    ping()
    kernel_id = lab.wait_kernel_idle()

    lab.eval_in_panel("await panel.sessionContext.restartKernel(); return null;")
    assert lab.wait_kernel_idle() == kernel_id  # same kernel, same connection, fresh process
    ping()

    lab.eval_in_panel("await panel.sessionContext.changeKernel({name: 'python3'}); return null;")
    deadline = time.monotonic() + 60
    while lab.wait_kernel_idle() == kernel_id:
        assert time.monotonic() < deadline, "the kernel did not change"
        time.sleep(0.2)
    ping()
    assert not lab.session.page_errors, lab.session.page_errors
    lab.screenshot("labextension-after-kernel-change")


def test_notebook_attached_to_a_console_kernel(lab: LabPage) -> None:
    """Only the page's first connection to a kernel handles comms; here it is a console's."""
    open_with_extension(lab, "console.ipynb")
    own_kernel = lab.wait_kernel_idle()
    console_kernel = lab.page.evaluate(
        """async () => {
          const app = window.jupyterapp;
          const console = await app.commands.execute(
            'console:create', {kernelPreference: {name: 'python3'}, activate: false});
          await console.sessionContext.ready;
          return console.sessionContext.session.kernel.id;
        }"""
    )
    assert console_kernel != own_kernel
    lab.eval_in_panel(
        "await panel.sessionContext.changeKernel({id: arg}); return null;", console_kernel
    )
    deadline = time.monotonic() + 60
    while lab.wait_kernel_idle() != console_kernel:
        assert time.monotonic() < deadline, "the notebook did not attach to the console kernel"
        time.sleep(0.2)
    handles = lab.eval_in_panel("return panel.sessionContext.session.kernel.handleComms;")
    assert handles is False  # the console's connection handles this kernel's comms

    out = LabPage.output_text(lab.run_cell("insert"))
    assert "cellId: insert" in out, out
    replies = wait_for_replies(lab, 1)
    cells = lab.cells()
    assert cells[1]["source"] == NEW_CODE
    assert replies == [{"request_id": "1", "ok": True, "cell_id": cells[1]["id"]}]
    assert len(cells) == 3
    assert not [t for _, t in lab.session.console if "not found in registry" in t]
    lab.screenshot("labextension-console-kernel")
