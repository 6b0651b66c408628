"""The trust boundary: the only code that runs candidate programs.

A *zygote* process holds the spec's context (its imports and helpers) and nothing else. It is
single-threaded, started by the verification kernel (inside a nested bubblewrap sandbox where
available, as PID 1 of its own PID namespace, without /proc and without the kernel's Jupyter
connection files), and never touches candidate code itself, not even its text. For each
candidate it forks a child that:

1. drops into its own session, takes rlimits (CPU seconds, address space, file size, processes),
   closes every inherited descriptor except a call socket (fd 3), sends stdout/stderr to a capped
   pipe;
2. receives the candidate's source on that socket, straight from the trusted side (the zygote
   never holds it: every later candidate inherits the zygote's memory, freed memory too),
   compiles and executes it, then serves calls: it receives arguments (plain data, or a pickle
   made by the trusted side), calls the function, and answers with the result as plain data
   (see ``_codec``) plus the arguments' new value when the call mutated them. When the tests'
   calls are known in advance (literal arguments), their arguments come in one message after
   the function is defined, and the answers are sent without waiting for each request.

The child never receives test code or expected values: the asserts run on the trusted side
(``_tests``, in the kernel), with the function's name bound to a proxy that calls into this child. The
trusted side decodes every answer itself, so a candidate can only ever claim a plain value.

When the trusted side is done with a candidate it asks the zygote to *reap*: every process the
candidate left behind is killed (``kill(-1)`` from PID 1 of the sandbox; without a sandbox, the
candidate's process group and anything reparented to the zygote, which is a child subreaper)
and the candidate's wait status is reported. The sandbox is read-only but for its scratch
(``/tmp``, ``/dev/shm``); after a candidate the zygote only *stats* the scratch, and if anything
changed it answers the next spawn ``stale`` and is replaced with fresh mounts (nothing a
candidate made is ever walked).

The messages are declared in ``_protocol``. Shipped into the sandbox as source together with
``_protocol`` and ``_codec``; standard library only.
"""

from __future__ import annotations

import ctypes
import gc
import io
import json
import os
import pickle
import resource
import signal
import socket
import sys
import time
import traceback
import types
from typing import Any

from ._codec import Unserializable, _encode, from_tree, recv_msg, send_msg, to_tree
from ._protocol import (
    CONTEXT_MODULE,
    Answer,
    ContextReply,
    ContextRequest,
    Described,
    FirstMessage,
    Hello,
    Op,
    Reaped,
    SandboxLimits,
    Size,
    Spawned,
    SpawnRequest,
    Stale,
)
from ._scratch import STALE, check_scratch, note_clean, open_scratch

_CALL_FD = 3
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
_IN_OWN_PIDNS = [False]
_DEVNULL = [0]
_MAX_FD = [0]
_READY: FirstMessage = {"ready": True}
_PLAN: str = Op.PLAN.value  # plain strs: compared once per message in the candidate
_SOURCE: str = Op.SOURCE.value
try:
    _LIBC: Any = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - no C library to call
    _LIBC = None


def _prctl(option: int, value: int) -> None:
    try:
        _LIBC.prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: nothing to harden with
        pass


def zygote_main(ctl_fd: int) -> None:
    """Serve the trusted side on ``ctl_fd`` until it closes the socket."""
    # Candidates are our children: keep them from ptracing us or reading our memory.
    _prctl(_PR_SET_DUMPABLE, 0)
    in_own_pidns = os.getpid() == 1
    _IN_OWN_PIDNS[0] = in_own_pidns
    if not in_own_pidns:
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for the kernel, not for us
    if ctl_fd != _CALL_FD:  # fds 0-3 taken: a candidate's socket or pipe never lands on 1-3
        os.dup2(ctl_fd, _CALL_FD)
        os.close(ctl_fd)
    ctl = socket.socket(fileno=_CALL_FD)
    # Only now: opened earlier, it could take fd 3 and end up a copy of the control socket.
    _DEVNULL[0] = os.open(os.devnull, os.O_RDONLY)
    # Unbuffered text streams: a candidate's output reaches the pipe as it prints, so nothing
    # needs flushing before each answer (and nothing is lost when it is killed).
    for fd, name in ((1, "stdout"), (2, "stderr")):
        setattr(sys, name, io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), write_through=True,
                                            errors="backslashreplace"))
    _MAX_FD[0] = _highest_fd()
    context = types.ModuleType(CONTEXT_MODULE)
    sys.modules[CONTEXT_MODULE] = context
    hello: Hello = {"op": Op.HELLO, "pid": os.getpid(), "pidns": in_own_pidns}
    scratch = open_scratch() if in_own_pidns else []
    send_msg(ctl, hello, tuple(scratch))  # the kernel counts what is written there as memory
    for fd in scratch:
        os.close(fd)
    current = 0  # the candidate alive now, if any: the one a reap is about
    while True:
        got = recv_msg(ctl, fds=False)
        if got is None:
            return
        msg, _ = got
        op = msg.get("op")
        if op == Op.CONTEXT:
            send_msg(ctl, _load_context(context, msg))
        elif op == Op.SPAWN:
            if current:  # the previous candidate, done with: swept here, no message of its own
                _reap(current, False, in_own_pidns)
                current = 0
            if STALE[0]:  # an earlier candidate wrote to the scratch: this sandbox is done
                stale: Stale = {"op": Op.STALE}
                send_msg(ctl, stale)
                continue
            current = _spawn(ctl, context, msg)
        elif op == Op.REAP:
            status = _reap(current, bool(msg.get("wait")), in_own_pidns) if current else None
            current = 0
            reaped: Reaped = {"op": Op.REAPED, "status": status}
            send_msg(ctl, reaped)


def _compile(source: str) -> types.CodeType | str:
    """Compile in the candidate's own process, never in the zygote: whatever the zygote's
    memory ever held (freed memory too) every later candidate inherits and can read.

    A source that breaks the compiler breaks only this process. Returns the code, or why the
    source is invalid.
    """
    if len(source) > Size.SOURCE:
        return f"does not parse: the source is over {Size.SOURCE // 1024} KB"
    try:
        return compile(source, "<candidate>", "exec")
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError) as e:
        if isinstance(e, SyntaxError):
            text = f"{e.msg} (line {e.lineno})" if e.lineno else str(e.msg)
        else:
            text = _msg(e)
        return f"does not parse: {type(e).__name__}: {text}"


def _load_context(module: types.ModuleType, msg: ContextRequest) -> ContextReply:
    ns = module.__dict__
    try:
        exec(compile(msg["preamble"], "<session>", "exec"), ns)
        for obj in msg["objects"]:  # the user's values (--use), pickled by them
            ns[obj["name"]] = pickle.loads(bytes.fromhex(obj["pickle"]))
        exec(compile(msg["source"], "<context>", "exec"), ns)
    except BaseException as e:  # a broken context is the user's to fix, not ours to die of
        return {"op": Op.CONTEXT, "ok": False, "error": _describe(e)}
    finally:
        sys.stdout.flush()
    _MAX_FD[0] = _highest_fd()  # the context may have opened some
    if _IN_OWN_PIDNS[0]:
        note_clean()
    # Forked children share these pages copy-on-write; keep the collector from touching them.
    gc.collect()
    gc.freeze()
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1
    return {"op": Op.CONTEXT, "ok": True, "threads": threads}


def _spawn(ctl: socket.socket, context: types.ModuleType, msg: SpawnRequest) -> int:
    """Fork the candidate; its channel goes to the trusted side first.

    Sending before forking matters for speed: after fork every page the zygote writes is
    copied while the candidate lives, and the reply would write quite a few.
    """
    ours, theirs = socket.socketpair()
    out_r, out_w = os.pipe()
    _shared_limits(msg["limits"])
    max_fd = max(_MAX_FD[0], ours.fileno(), theirs.fileno(), out_r, out_w)
    spawned: Spawned = {"op": Op.SPAWNED}
    send_msg(ctl, spawned, (ours.fileno(), out_r))
    ours.close()
    os.close(out_r)
    try:
        pid = _fork()
    except OSError:  # no candidate: the trusted side sees its channel close at once
        pid = 0
        STALE[0] = True  # and the next one gets a fresh sandbox
    else:
        if pid == 0:  # the candidate
            try:
                _become_candidate(theirs.detach(), out_w, msg["limits"], max_fd)
                _run_candidate(context, msg["name"])
            finally:
                os._exit(70)
    theirs.close()
    os.close(out_w)
    return pid


def _fork() -> int:
    """Fork; when the process limit is taken by what an earlier candidate left dying (swept
    but not yet reaped), reap it all, synchronously, and try once more."""
    try:
        return os.fork()
    except BlockingIOError:  # EAGAIN: RLIMIT_NPROC counts processes until they are reaped
        if not _IN_OWN_PIDNS[0]:
            raise
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        _kill(-1)  # as PID 1: only what is left of earlier candidates
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            break  # nothing left
        time.sleep(0.001)
    _statuses.clear()
    return os.fork()


def _become_candidate(call_fd: int, out_fd: int, limits: SandboxLimits, max_fd: int) -> None:
    # Signals keep the zygote's dispositions: SIGINT ignored (interrupts are the kernel's),
    # SIGXFSZ ignored by Python (a write past the file-size limit raises instead of killing).
    if not _IN_OWN_PIDNS[0]:
        os.setsid()  # its own process group, for the sweep (in our PID namespace kill(-1) does it)
    os.dup2(_DEVNULL[0], 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.dup2(call_fd, _CALL_FD)  # replaces the zygote's control socket in this process
    # Everything else the zygote holds, its control socket above all. The zygote knows how far
    # its descriptors go; a bounded closerange avoids a ctypes call (costly in a fresh fork).
    os.closerange(_CALL_FD + 1, max_fd + 1)
    # File size, core files and processes were limited in the zygote (_shared_limits); these two
    # are the candidate's own: CPU time counts from its fork, memory on top of the zygote's size.
    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    as_bytes = limits["as_bytes"]
    if as_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (as_bytes, as_bytes))


_applied: dict[int, int] = {}


def _shared_limits(limits: SandboxLimits) -> None:
    """Limits the same for every candidate, set once in the zygote and inherited (hard, so a
    candidate cannot raise them): fewer calls in each fresh fork."""
    wanted = {resource.RLIMIT_CORE: 0, resource.RLIMIT_FSIZE: int(limits["fsize"])}
    nproc = limits["nproc"]
    if nproc:
        wanted[resource.RLIMIT_NPROC] = int(nproc)
    for which, value in wanted.items():
        if _applied.get(which) != value:
            resource.setrlimit(which, (value, value))  # only ever lowered: these are constants
            _applied[which] = value


def _highest_fd() -> int:
    """The highest descriptor this process has open (found once; the zygote opens few)."""
    if os.path.isdir("/proc/self/fd"):
        return max(int(fd) for fd in os.listdir("/proc/self/fd"))
    highest = 0
    for fd in range(4096):  # no /proc in the sandbox: probe
        try:
            os.fstat(fd)
            highest = fd
        except OSError:
            pass
    return highest


def _run_candidate(context: types.ModuleType, name: str) -> None:
    ns = context.__dict__
    first = _receive()  # the source, from the trusted side to this process alone
    if not isinstance(first, dict) or first.get("op") != _SOURCE or not isinstance(first.get("source"), str):
        return
    code = _compile(first["source"])
    if isinstance(code, str):
        _reply({"invalid": code})
        return
    try:
        exec(code, ns)
    except BaseException as e:
        failed: FirstMessage = {**_describe(e), "at_import": True}  # type: ignore[typeddict-item]
        _reply(failed)
        return
    fn = ns.get(name)
    if not callable(fn):
        _reply({"invalid": f"does not define a function `{name}`"})
        return
    _reply(_READY)
    while True:
        msg = _receive()
        if msg is None:
            return
        if msg.get("op") == _PLAN:
            # Calls known up front (literal arguments, one per test, in test order): answer them
            # all without waiting to be asked for each.
            for call in msg["calls"]:
                _reply(_call(fn, call))
        else:
            _reply(_call(fn, msg))


# The candidate's end of the wire: plain reads and writes on fd 3. A socket object and buffered,
# flushed streams would touch (and so copy) more of the zygote's memory in every fresh fork.


def _receive() -> Any:
    head = _read_exactly(4)
    if head is None:
        return None
    body = _read_exactly(int.from_bytes(head, "big"))
    return None if body is None else json.loads(body)


def _read_exactly(n: int) -> bytes | None:
    data = bytearray()  # appended in place: a big argument (an array) arrives in many chunks
    while len(data) < n:
        chunk = os.read(_CALL_FD, n - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _reply(obj: FirstMessage | Answer) -> None:
    try:
        data = _encode(obj).encode()
    except (ValueError, OverflowError):
        data = _encode({"unserializable": "value could not be encoded"}).encode()
    view = memoryview(len(data).to_bytes(4, "big") + data)
    while view:
        view = view[os.write(_CALL_FD, view):]


def _call(fn: Any, msg: dict[str, Any]) -> Answer:
    if "pickle" in msg:
        args, kwargs = pickle.loads(bytes.fromhex(msg["pickle"]))
        sent = None
    else:
        args, kwargs = from_tree(msg["args"]), from_tree(msg["kwargs"])
        sent = msg["args"]
    # The trusted side times live calls itself; for calls answered up front it can only bound
    # this figure by what it observed (see _candidate.Trial.prefetch).
    start = time.perf_counter()
    try:
        result = fn(*args, **kwargs)
    except BaseException as e:
        return {**_describe(e), "t": time.perf_counter() - start}  # type: ignore[typeddict-item]
    elapsed = time.perf_counter() - start
    try:
        value = to_tree(result)
    except Unserializable as e:
        return {"unserializable": str(e), "t": elapsed}
    reply: Answer = {"value": value, "t": elapsed}
    if sent is not None:
        try:
            after = to_tree(args)
        except Unserializable:
            after = sent
        if after != sent:  # mutated in place: the trusted side copies it back
            reply["args"] = after
    return reply


def _describe(e: BaseException) -> Described:
    where = ""
    try:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == "<candidate>"]
        if frames:
            where = f"line {frames[-1].lineno}"
    except BaseException:
        pass
    if isinstance(e, Exception):
        return {"raised": type(e).__name__, "message": _msg(e), "where": where}
    return {"exit": type(e).__name__, "message": _msg(e), "where": where}  # SystemExit, KeyboardInterrupt


def _msg(e: BaseException) -> str:
    try:
        return str(e)[:500]
    except BaseException:
        return "<unprintable>"


_statuses: dict[int, int] = {}


def _reap(pid: int, wait: bool, in_own_pidns: bool) -> int | None:
    """Kill the candidate and everything it started; return its wait status when known.

    In our own PID namespace one ``kill(-1)`` reaches every process a candidate can have
    started; SIGKILL is final, so the zombies are collected later unless the status is wanted
    now (``wait``). Without the namespace, sweep until nothing is left under us.
    """
    if in_own_pidns:
        if wait:  # it died on its own (or is dying): let it finish, so its own cause shows
            _collect(pid, grace=0.25)
        _kill(-1)  # from PID 1: every other process in the sandbox, and only those
        if wait:
            _collect(pid)
        _collect(None)
        check_scratch()
        status = _statuses.pop(pid, None)
        _statuses.clear()  # statuses of anything else are of no use (and pids get reused)
        return status
    _kill(-pid)
    for _ in range(10000):
        _collect(None)
        left = _children()
        if not left:
            break
        for other in left:  # orphans reparented to us, possibly in sessions of their own
            _kill(-other)
            _kill(other)
        time.sleep(0.001)
    status = _statuses.pop(pid, None)
    _statuses.clear()
    return status


def _collect(pid: int | None, grace: float | None = None) -> None:
    """Reap zombies without blocking; with ``pid``, wait for that one first (at most ``grace``
    seconds when given: it may still be running)."""
    try:
        if pid is not None and pid not in _statuses:
            if grace is None:
                _statuses[pid] = os.waitpid(pid, 0)[1]
            else:
                end = time.monotonic() + grace
                while time.monotonic() < end:
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        _statuses[pid] = status
                        break
                    time.sleep(0.002)
        while True:
            child, status = os.waitpid(-1, os.WNOHANG)
            if child == 0:
                return
            _statuses[child] = status
    except ChildProcessError:
        return


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _children() -> list[int]:
    found: list[int] = []
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children") as f:
                found += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return found


if __name__ == "__main__":  # pragma: no cover - started by the evaluator
    zygote_main(int(sys.argv[1]))
