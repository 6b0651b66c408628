"""Talk to the JupyterLab extension in ``labextension/`` (comm target ``jupyter_codesearch``).

Why a comm: ``set_next_input`` does nothing from a widget callback, so "Insert below" asks the
extension to insert the cell. Protocol: labextension/README.md.

ipykernel 7 delivers the extension's replies on the kernel's main thread, and only when it is
idle. So :meth:`LabBridge.request` blocks and must run on a worker thread; a cell (or a widget
callback) that waited for a reply on the main thread would wait for nothing.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

__all__ = ["TARGET", "LabBridge", "bridge"]

TARGET = "jupyter_codesearch"


class LabBridge:
    """One comm per kernel process to the extension, opened on first use, reopened if closed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._comm: Any = None
        self._waiting: dict[str, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self.available: bool | None = None
        """``True`` once the extension answered, ``False`` once it did not; ``None``: not asked."""
        self.version: str | None = None

    def _ensure_comm(self) -> Any:
        with self._lock:
            if self._comm is None:
                from comm import create_comm

                # An empty open is not a request (protocol), so requests can follow as messages.
                c = create_comm(target_name=TARGET, data={})
                c.on_msg(self._on_msg)
                c.on_close(self._on_close)
                self._comm = c
            return self._comm

    def _on_msg(self, msg: dict[str, Any]) -> None:
        data = msg.get("content", {}).get("data", {})
        if not isinstance(data, dict):
            return
        self.available = True
        entry = self._waiting.get(str(data.get("request_id")))
        if entry is not None:
            entry[1].append(data)
            entry[0].set()

    def _on_close(self, msg: Any) -> None:
        # JupyterLab closes a comm whose target nobody registered: no extension here.
        with self._lock:
            self._comm = None
            waiting = list(self._waiting.values())
        if self.available is not True:
            self.available = False
        for event, _ in waiting:
            event.set()

    def request(self, action: str, timeout: float, **fields: Any) -> dict[str, Any] | None:
        """Send one request and wait for its reply; ``None`` when none came within ``timeout``."""
        if threading.current_thread() is threading.main_thread():
            raise RuntimeError("LabBridge.request blocks until the kernel is idle: call it from a worker thread")
        request_id = uuid.uuid4().hex
        event, box = threading.Event(), []  # type: tuple[threading.Event, list[dict[str, Any]]]
        self._waiting[request_id] = (event, box)
        try:
            comm = self._ensure_comm()
            comm.send({"action": action, "request_id": request_id, **fields})
            event.wait(timeout)
            return box[0] if box else None
        finally:
            self._waiting.pop(request_id, None)

    def ping(self, timeout: float = 5.0) -> bool:
        """Is the extension there? Sets :attr:`available` (worker thread only)."""
        reply = self.request("ping", timeout)
        ok = bool(reply and reply.get("ok"))
        self.available = ok
        if ok and reply is not None:
            self.version = str(reply.get("version"))
        return ok


_bridge: LabBridge | None = None
_bridge_lock = threading.Lock()


def bridge() -> LabBridge:
    """The process-wide bridge."""
    global _bridge
    with _bridge_lock:
        if _bridge is None:
            _bridge = LabBridge()
        return _bridge
