"""The trusted side's end of one candidate: framed messages on its socket, its output drained.

Everything here reads bytes a candidate wrote, so every wait has a deadline and every size a
bound (``_protocol.Size``). Shipped into the kernel as source: standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ._codec import _encode
from ._protocol import Size

__all__ = ["Abort", "Channel", "alarm"]

_HEAD = 4
_WATCH_S = 0.1
"""How often ``watch`` runs while waiting."""
_DRAIN_BUDGET = 1 << 20
"""Bytes of output read per drain: a few pipefuls, then back to the deadline and the socket."""
_decode = json.JSONDecoder().decode  # made once: json.loads() checks the encoding on every call


class Abort(BaseException):
    """Ends a candidate's run with ``status`` (timeout, crashed, memory, unserializable, ...).

    A BaseException so that tests' ``except Exception`` can't eat it.
    """

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Channel:
    """Non-blocking reader/writer for one candidate: frames on the call socket, output drained.

    ``watch``, when set, runs every 100 ms while waiting (the memory check); it may raise
    :class:`Abort`. ``arrived`` is when the chunk holding the last frame returned arrived.
    """

    def __init__(self, sock_fd: int, out_fd: int) -> None:
        self.sock = socket.socket(fileno=sock_fd)
        self.sock.setblocking(False)
        self.out_fd = out_fd
        os.set_blocking(out_fd, False)
        self.buf = bytearray()
        self.output = bytearray()
        self.output_bytes = 0
        self.eof = False
        self.out_eof = False
        self.watch: Callable[[], None] | None = None
        self.watched = time.monotonic()
        self.received = 0
        self.created = self.chunk_time = self.arrived = time.perf_counter()
        self.poller = select.poll()
        self.poller.register(self.sock.fileno(), select.POLLIN)
        self.poller.register(out_fd, select.POLLIN)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(OSError):
            os.close(self.out_fd)

    def drain_output(self, budget: int = _DRAIN_BUDGET) -> None:
        """Read what the candidate printed so far, at most ``budget`` bytes in one go (a writer
        on another core can keep the pipe full forever): the first ``Size.OUTPUT_KEPT`` bytes
        are kept, the rest only counted (a pipe left full would block the candidate)."""
        end = self.output_bytes + budget
        while not self.out_eof and self.output_bytes < end:
            try:
                chunk = os.read(self.out_fd, 1 << 16)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                self.out_eof = True
                self.poller.unregister(self.out_fd)
                return
            self.output_bytes += len(chunk)
            room = Size.OUTPUT_KEPT - len(self.output)
            if room > 0:
                self.output += chunk[:room]

    def send(self, obj: object, deadline: float) -> None:
        """Send one message; a candidate that closed its end is noted (``eof``), not raised."""
        data = _encode(obj).encode()
        view = memoryview(len(data).to_bytes(_HEAD, "big") + data)
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except BlockingIOError:
                self._wait(deadline, select.POLLOUT)
            except OSError:
                self.eof = True
                return

    def recv(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or ``None`` when the candidate closed the socket (died).

        Raises :class:`Abort`: ``timeout`` past ``deadline``, ``unserializable`` for anything
        that is not a JSON object or goes over ``Size.ANSWERS``.
        """
        while True:
            if len(self.buf) >= _HEAD:
                size = int.from_bytes(self.buf[:_HEAD], "big")
                if size > Size.ANSWERS:
                    raise Abort("unserializable", f"sent an answer over {Size.ANSWERS >> 20} MB")
                if len(self.buf) >= _HEAD + size:
                    frame = bytes(self.buf[_HEAD : _HEAD + size])
                    del self.buf[: _HEAD + size]
                    self.arrived = self.chunk_time
                    try:
                        msg = _decode(frame.decode("utf-8", "surrogatepass"))
                    except (ValueError, RecursionError):
                        raise Abort("unserializable", "sent a malformed message") from None
                    if not isinstance(msg, dict):
                        raise Abort("unserializable", "sent a malformed message")
                    return msg
            if self.eof:
                return None
            self._wait(deadline, select.POLLIN)
            try:
                chunk = self.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
            self.chunk_time = time.perf_counter()
            self.received += len(chunk)
            if self.received > Size.ANSWERS:  # bounds what the trusted side holds and handles
                raise Abort("unserializable", f"answered with more than {Size.ANSWERS >> 20} MB in all")
            self.buf += chunk

    def _wait(self, deadline: float, event: int) -> None:
        self.poller.modify(self.sock.fileno(), event)
        while True:
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                raise Abort("timeout", "")
            if self.watch is not None and now - self.watched >= _WATCH_S:
                # By the clock, not when idle: output that never stops must not skip the check.
                self.watched = now
                self.watch()
            ready = self.poller.poll(min(left, _WATCH_S) * 1000)
            mine = False
            for fd, ev in ready:
                if fd == self.out_fd:
                    self.drain_output()
                elif ev:
                    mine = True
            if mine:
                return


@contextlib.contextmanager
def alarm(deadline: float) -> Iterator[None]:
    """Bound the trusted side too, by ``deadline`` plus half a second: a test can loop on its
    own, outside any call, and decoding what a candidate sent can be slow (a set of ints with
    equal hashes builds in quadratic time). Raises :class:`Abort` ``timeout`` when it fires."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise Abort("timeout", "")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, deadline - time.monotonic() + 0.5))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
