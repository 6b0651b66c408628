"""The kernel's zygote: started for a context, asked to spawn and reap candidates, discarded
when it fails; and the /proc readings that bound a candidate's memory.

The zygote itself is ``_sandbox.zygote_main`` in a process of its own (inside the inner
bubblewrap sandbox where available); this module is the kernel's side of that conversation.
Shipped into the kernel as source: standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ._channel import Abort, Channel
from ._codec import recv_msg, send_msg
from ._protocol import (
    ContextReply,
    ContextRequest,
    Hello,
    KernelConfig,
    LimitsPayload,
    Op,
    Size,
    SourceMessage,
    SpawnRequest,
)
from ._shown import text

__all__ = ["ContextFailed", "NotStarted", "Spawner", "Started", "Zygote", "ZygoteLost", "unique_kb", "usage", "vm_size"]

_NPROC = 64
"""Processes a candidate may have (per user namespace, so only set inside the sandbox)."""
_REQUEST_TIMEOUT = 10.0
_HELLO_TIMEOUT = 60.0


class ZygoteLost(Exception):
    """The zygote died, hung or answered nonsense: it is discarded and started afresh."""


class ContextFailed(Exception):
    """The spec's context (the user's imports and helpers) failed to load in the zygote."""


class Zygote:
    """One zygote process holding one context."""

    def __init__(self, cfg: KernelConfig, context: ContextRequest) -> None:
        self.context = context
        self.scratch: list[int] = []
        self.scratch_base = 0
        ours, theirs = socket.socketpair()
        self.ctl = ours
        prefix = list(cfg["zygote_prefix"])
        info_r = info_w = -1
        pass_fds = [theirs.fileno()]
        if prefix:
            info_r, info_w = os.pipe()
            pass_fds.append(info_w)
            prefix = [*prefix[:-1], "--info-fd", str(info_w), prefix[-1]]  # last item is "--"
        self.errlog = open(os.path.join(cfg["tmp"], f"zygote-{os.getpid()}-{id(self)}.log"), "w+b")
        argv = [*prefix, cfg["python"], "-I", "-c", cfg["zygote_boot"], str(theirs.fileno())]
        for attempt in range(40):
            try:
                self.proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.errlog,
                    pass_fds=pass_fds, env=cfg["zygote_env"], cwd=cfg["tmp"], start_new_session=True,
                )
                break
            except BlockingIOError:  # the process limit, held by a sandbox still being torn down
                if attempt == 39:
                    raise
                time.sleep(0.05)
        theirs.close()
        self.pid = self.proc.pid  # the zygote's pid as we see it (bwrap's child below)
        self.pidns = False
        if info_w >= 0:
            os.close(info_w)
            with os.fdopen(info_r, "rb") as f:
                try:
                    self.pid = int(json.loads(f.read().decode() or "{}").get("child-pid", self.pid))
                except ValueError:
                    pass
        try:
            self._handshake(context, cfg["context_timeout"])
        except BaseException:
            self.kill()
            raise
        self.as_base = vm_size(self.pid)

    def _handshake(self, context: ContextRequest, timeout: float) -> None:
        got, self.scratch = self.request(None, _HELLO_TIMEOUT)
        hello: Hello = got  # type: ignore[assignment]
        self.pidns = bool(hello.get("pidns"))
        reply: ContextReply = self.request(context, timeout)[0]  # type: ignore[assignment]
        if not reply.get("ok"):
            err = reply.get("error", {})
            raise ContextFailed(f"{err.get('raised') or err.get('exit')}: {err.get('message', '')}")
        self.scratch_base = self.scratch_kb()  # the context's own files are not a candidate's

    def scratch_kb(self) -> int:
        """What the sandbox's scratch mounts (tmpfs: memory) hold, in kB."""
        total = 0
        for fd in self.scratch:
            with contextlib.suppress(OSError):
                st = os.fstatvfs(fd)
                total += (st.f_blocks - st.f_bfree) * st.f_frsize // 1024
        return total

    def request(self, msg: object | None, timeout: float) -> tuple[dict[str, Any], list[int]]:
        """Send ``msg`` (if any) and wait for the reply and the descriptors that came with it."""
        if msg is not None:
            send_msg(self.ctl, msg)
        ready, _, _ = select.select([self.ctl], [], [], timeout)
        got = recv_msg(self.ctl) if ready else None
        if got is None:
            raise ZygoteLost(self._why())
        return got

    def _why(self) -> str:
        with contextlib.suppress(OSError):
            self.errlog.seek(0)
            tail = self.errlog.read()[-500:].decode(errors="replace").strip()
            if tail:
                return tail
        return "the zygote stopped responding"

    def children(self) -> list[int]:
        """The zygote's children that a candidate can account for: every candidate (the
        zygote's main thread forks them) and every orphan (PID 1's main thread reaps them).

        One read of that thread's list, not a listing and a read per thread: this is asked
        once per candidate, and only a context's own threads could fork elsewhere."""
        try:
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """Take the zygote down with everything it started; remove its log."""
        if not self.pidns:  # no PID namespace to take everything down with it: sweep by hand
            for pid in proc_children(self.pid):
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(5)
        if self.pidns:
            # PID 1 of the sandbox exits only once every process in it has: until then they hold
            # the process limit the next sandbox is started under.
            end = time.monotonic() + 3.0
            while time.monotonic() < end and not _dead(self.pid):
                time.sleep(0.01)
        self.ctl.close()
        for fd in self.scratch:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.scratch = []
        self.errlog.close()
        with contextlib.suppress(OSError):
            os.unlink(self.errlog.name)


@dataclass
class Started:
    """A candidate process is running; talk to it on ``chan`` until ``deadline`` (monotonic)."""

    chan: Channel
    deadline: float


@dataclass(frozen=True)
class NotStarted:
    """No candidate process: why, as a verdict's status and error."""

    status: Literal["error", "invalid", "crashed"]
    error: str


class Spawner:
    """The kernel's one zygote (one context at a time) and the candidate it last started.

    After a candidate is done with, it stays *unreaped* until the next spawn (the zygote sweeps
    it then, with no message of its own) or :meth:`sweep` at the end of a batch.
    """

    def __init__(self, cfg: KernelConfig) -> None:
        self.cfg = cfg
        self.zygote: Zygote | None = None
        self.unreaped = False

    def start(self, context: ContextRequest, name: str, source: str, limits: LimitsPayload) -> Started | NotStarted:
        """Start one candidate process for ``source`` (defining ``name``) under ``limits``."""
        if len(source) > Size.SOURCE:  # not worth a process (its own would say the same)
            return NotStarted("invalid", f"does not parse: the source is over {Size.SOURCE // 1024} KB")
        for _ in range(2):  # a stale zygote is replaced once
            try:
                zygote = self._zygote_for(context)
            except ContextFailed as e:
                return NotStarted("error", f"the context failed in the sandbox: {e}")
            except (ZygoteLost, OSError) as e:
                return NotStarted("error", f"the sandbox failed to start: {e}")
            started = self._spawn(zygote, name, source, limits)
            if started is not None:
                return started
            self.discard()  # an earlier candidate wrote to its scratch: a fresh sandbox, no wipe
        return NotStarted("crashed", "could not start the candidate: the sandbox stayed stale")

    def _spawn(self, zygote: Zygote, name: str, source: str, limits: LimitsPayload) -> Started | NotStarted | None:
        """Ask ``zygote`` for a candidate process; ``None`` when it says it is stale."""
        timeout = float(limits["timeout"])
        deadline = time.monotonic() + timeout
        memory_mb = int(limits["memory_mb"])
        spawn: SpawnRequest = {"op": Op.SPAWN, "name": name, "limits": {
            "cpu_s": max(1, int(timeout + 0.999)),
            "fsize": Size.FILE,
            "as_bytes": (zygote.as_base + memory_mb * (1 << 20)) if zygote.as_base else None,
            "nproc": _NPROC if zygote.pidns else None,
        }}
        self.unreaped = False  # the zygote sweeps its previous candidate before this one
        try:
            reply, fds = zygote.request(spawn, _REQUEST_TIMEOUT)
            if reply.get("op") == Op.STALE and not fds:
                return None
            if reply.get("op") != Op.SPAWNED or len(fds) != 2:
                for fd in fds:
                    os.close(fd)
                raise ZygoteLost(f"unexpected reply from the zygote: {text(reply, 100)}")
            chan = Channel(fds[0], fds[1])
            chan.watch = self._memory_watch(zygote, memory_mb)
            # To the candidate's own process, never through the zygote (see _sandbox._compile).
            first: SourceMessage = {"op": Op.SOURCE, "source": source}
            chan.send(first, deadline)
            return Started(chan, deadline)
        except (ZygoteLost, OSError, KeyError, ValueError) as e:
            self.discard()
            return NotStarted("crashed", f"could not start the candidate: {e}")

    def done_with(self, now: bool = False) -> None:
        """The current candidate is finished: swept with the next spawn, or by :meth:`sweep`;
        ``now`` when it may still be running (it timed out, or broke off): nothing of it may
        keep a core busy while its verdict is made.

        A candidate that started processes of its own gets no sweep at all: its whole sandbox
        goes (PID namespace, mounts), so nothing it left dying or still forking can hold the
        process limit, the CPU or anything else the next candidate needs."""
        if self._forked():
            self.discard()
        elif now:
            self.reap(wait=False)
        else:
            self.unreaped = True

    def _forked(self) -> bool:
        """Whether the current candidate has (had) processes besides itself: orphans are the
        zygote's children (PID 1 of the sandbox), the rest the candidate's. Read from /proc,
        which the kernel has and the sandbox has not; without a sandbox, the sweep handles it."""
        z = self.zygote
        if z is None or not z.pidns:
            return False
        kids = z.children()
        if len(kids) > 1:  # the previous candidate, swept with this one's spawn, may still be dying
            kids = [k for k in kids if not _dying(k)]
        return len(kids) > 1 or any(proc_children(k) for k in kids)

    def sweep(self) -> None:
        """Nothing of the last candidate outlives the batch."""
        if self.unreaped:
            self.reap(wait=False)

    def reap(self, wait: bool) -> int | None:
        """Sweep the current candidate (and everything it started); its wait status if ``wait``."""
        z = self.zygote
        self.unreaped = False
        if z is None:
            return None
        if not wait and self._forked():
            self.discard()
            return None
        try:
            reply, _ = z.request({"op": Op.REAP, "wait": wait}, _REQUEST_TIMEOUT)
            if reply.get("op") != Op.REAPED:
                raise ZygoteLost(f"unexpected reply from the zygote: {text(reply, 100)}")
            status = reply.get("status")
            if self._forked():  # something outlived the sweep: the sandbox goes with it
                self.discard()
            return status if isinstance(status, int) else None
        except (ZygoteLost, OSError):
            self.discard()  # it was killed, stopped, or hung: take its sandbox down
            return None

    def discard(self) -> None:
        """Kill the zygote; the next candidate starts a fresh one."""
        if self.zygote is not None:
            self.zygote.kill()
            self.zygote = None
        self.unreaped = False  # its processes went with its sandbox

    def _zygote_for(self, context: ContextRequest) -> Zygote:
        z = self.zygote
        if z is not None and z.context == context and z.alive():
            return z
        self.discard()
        self.zygote = Zygote(self.cfg, context)
        return self.zygote

    @staticmethod
    def _memory_watch(zygote: Zygote, memory_mb: int) -> Callable[[], None]:
        """A check, run while waiting on a candidate, of the memory all its processes hold.

        RLIMIT_AS bounds each process; a candidate may fork. The zygote runs one candidate at a
        time, so everything below it belongs to the current one.
        """
        budget = memory_mb * 1024  # kB

        def check() -> None:
            kb, processes = usage(zygote.pid, _NPROC)
            if processes > _NPROC:  # RLIMIT_NPROC does not hold for root's processes (root, any userns)
                raise Abort("crashed", f"started more than {_NPROC} processes")
            # Files in the scratch tmpfs are memory too, and outlive the processes that wrote them.
            if kb + zygote.scratch_kb() - zygote.scratch_base > budget:
                raise Abort("memory", f"its processes and files used more than {memory_mb} MB together")

        return check


# -- /proc -----------------------------------------------------------------------------------------


def vm_size(pid: int) -> int | None:
    """The address space of ``pid`` in bytes (``None`` when /proc cannot say)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def unique_kb(root: int) -> int:
    """Memory the processes below ``root`` hold of their own (Pss), in kB."""
    return usage(root)[0]


def usage(root: int, most: int | None = None) -> tuple[int, int]:
    """Memory the processes below ``root`` hold of their own (Pss, kB), and how many they are.

    Past ``most`` processes the memory is not read (0): it costs a page-table walk each, and so
    many are to be stopped, not measured."""
    seen: list[int] = []
    frontier = proc_children(root)
    while frontier:
        pid = frontier.pop()
        seen.append(pid)
        if most is not None and len(seen) > most:
            return 0, len(seen)
        frontier += proc_children(pid)
    total = 0
    for pid in seen:
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
    return total, len(seen)


def _dead(pid: int) -> bool:
    """Gone, or a zombie: it has finished exiting."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


_PF_EXITING = 0x4
_SIGKILL_BIT = 1 << (signal.SIGKILL - 1)


def _dying(pid: int) -> bool:
    """Dead (a zombie), exiting, or killed and on its way out (SIGKILL pending): one read of
    ``stat``, asked about nearly every candidate (the one before, killed at this one's spawn).

    A fatal signal is put in every thread's own pending set, which ``stat`` shows (field 31)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return fields[0] in ("Z", "X") or bool(int(fields[6]) & _PF_EXITING) or bool(int(fields[28]) & _SIGKILL_BIT)
    except (OSError, ValueError, IndexError):
        return True  # gone


def proc_children(pid: int) -> list[int]:
    """Direct children of ``pid``, from every one of its threads."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(p) for p in f.read().split()]
    return found
