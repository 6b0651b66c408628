"""The trusted side of verification, running inside each verification kernel.

It holds the spec's tests and never runs candidate code: candidates run in processes forked by
the zygote (``_sandbox``), and this module talks to them over a socket. Tests run here, with the
function's name bound to a :class:`_Proxy` that sends each call's arguments to the candidate and
turns the answer back into plain data (``_codec.from_tree``), a re-raised exception, or an abort
(timeout, crash, memory, unserializable) that ends the candidate's run.

Verdicts are published to the caller as ``display_data`` with :data:`MIME`.
Shipped into the kernel as source together with ``_codec`` and ``_sandbox``.
"""

from __future__ import annotations

import ast
import builtins
import collections
import contextlib
import hashlib
import json
import operator
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

from ._codec import Unserializable, canonical, from_tree, recv_msg, send_msg, to_tree
from ._sandbox import CONTEXT_MODULE

MIME = "application/vnd.codesearch.verdict+json"
_decode = json.JSONDecoder().decode  # made once: json.loads() checks the encoding on every call
_OUTPUT_KEEP = 4096
_ANSWER_BYTES = 16 << 20
_REPR_KEEP = 300
_CALLS_KEEP = 3


class _Abort(BaseException):
    """Ends a candidate's run. A BaseException so that tests' ``except Exception`` can't eat it."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _CandidateRaised(Exception):
    """Marks an exception re-raised from the candidate (vs. one raised by the test itself)."""


def _label(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    shown = [*map(_short, args), *(f"{k}={_short(v)}" for k, v in kwargs.items())]
    label = f"{name}({', '.join(shown)})"
    return label if len(label) <= 200 else label[:199] + "…"


def _text(value: object, keep: int) -> str:
    """Text that came from a candidate, made safe to send: bounded, and valid UTF-8 (a lone
    surrogate would make the kernel fail to encode the whole message)."""
    try:
        text = str(value)
    except Exception:
        text = "<unprintable>"
    return text[:keep].encode("utf-8", "replace").decode("utf-8")


def _short(value: object, keep: int = _REPR_KEEP) -> str:
    try:
        text = repr(value)
    except Exception as e:  # a user's expected value with a broken __repr__
        text = f"<repr failed: {type(e).__name__}>"
    text = text if len(text) <= keep else text[: keep - 1] + "…"
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


# -- talking to one candidate process -------------------------------------------------------------


class _Channel:
    """Non-blocking reader/writer for one candidate: frames on the call socket, output drained."""

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

    def _drain_output(self) -> None:
        while not self.out_eof:
            try:
                chunk = os.read(self.out_fd, 1 << 16)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                self.out_eof = True
                self.poller.unregister(self.out_fd)
                return
            self.output_bytes += len(chunk)
            room = _OUTPUT_KEEP - len(self.output)
            if room > 0:
                self.output += chunk[:room]

    def send(self, obj: object, deadline: float) -> None:
        data = json.dumps(obj, separators=(",", ":")).encode()
        view = memoryview(len(data).to_bytes(4, "big") + data)
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except BlockingIOError:
                self._wait(deadline, select.POLLOUT)
            except OSError:
                self.eof = True
                return

    def recv(self, deadline: float) -> Any:
        """The next message, or ``None`` when the candidate closed the socket (died)."""
        while True:
            if len(self.buf) >= 4:
                size = int.from_bytes(self.buf[:4], "big")
                if size > _ANSWER_BYTES:
                    raise _Abort("unserializable", f"sent an answer over {_ANSWER_BYTES >> 20} MB")
                if len(self.buf) >= 4 + size:
                    frame = bytes(self.buf[4 : 4 + size])
                    del self.buf[: 4 + size]
                    self.arrived = self.chunk_time
                    try:
                        msg = _decode(frame.decode("utf-8", "surrogatepass"))
                    except (ValueError, RecursionError):
                        raise _Abort("unserializable", "sent a malformed message") from None
                    if not isinstance(msg, dict):
                        raise _Abort("unserializable", "sent a malformed message")
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
            if self.received > _ANSWER_BYTES:  # bounds what the trusted side holds and handles
                raise _Abort("unserializable", f"answered with more than {_ANSWER_BYTES >> 20} MB in all")
            self.buf += chunk

    def _wait(self, deadline: float, event: int) -> None:
        self.poller.modify(self.sock.fileno(), event)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Abort("timeout", "")
            ready = self.poller.poll(min(left, 0.1) * 1000)
            if not ready and self.watch is not None:
                self.watch()
            mine = False
            for fd, ev in ready:
                if fd == self.out_fd:
                    self._drain_output()
                elif ev:
                    mine = True
            if mine:
                return


# -- the zygote -------------------------------------------------------------------------------------


class _Zygote:
    """One zygote process (in its own sandbox where available) holding one context."""

    def __init__(self, cfg: dict[str, Any], context: str) -> None:
        self.context = context
        ours, theirs = socket.socketpair()
        self.ctl = ours
        prefix: list[str] = list(cfg["zygote_prefix"])
        info_r = info_w = -1
        pass_fds = [theirs.fileno()]
        if prefix:
            info_r, info_w = os.pipe()
            pass_fds.append(info_w)
            prefix = [*prefix[:-1], "--info-fd", str(info_w), prefix[-1]]  # last item is "--"
        self.errlog = open(os.path.join(cfg["tmp"], f"zygote-{os.getpid()}-{id(self)}.log"), "w+b")
        argv = [*prefix, cfg["python"], "-I", "-c", cfg["zygote_boot"], str(theirs.fileno())]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.errlog,
            pass_fds=pass_fds, env=cfg["zygote_env"], cwd=cfg["tmp"], start_new_session=True,
        )
        theirs.close()
        self.pid = self.proc.pid  # the zygote's pid as we see it (bwrap's child below)
        if info_w >= 0:
            os.close(info_w)
            with os.fdopen(info_r, "rb") as f:
                try:
                    self.pid = int(json.loads(f.read().decode() or "{}").get("child-pid", self.pid))
                except ValueError:
                    pass
        hello = self._call(None, timeout=60)
        self.pidns = bool(hello.get("pidns"))
        preamble, objects, source = json.loads(context)
        reply = self._call(
            {"op": "context", "preamble": preamble, "objects": objects, "source": source},
            timeout=cfg["context_timeout"],
        )
        if not reply.get("ok"):
            err = reply.get("error", {})
            raise ContextFailed(f"{err.get('raised') or err.get('exit')}: {err.get('message', '')}")
        self.as_base = _vm_size(self.pid)

    def _call(self, msg: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
        return self.request(msg, timeout)[0]

    def request(self, msg: dict[str, Any] | None, timeout: float) -> tuple[dict[str, Any], list[int]]:
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

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if not self.pidns:  # no PID namespace to take everything down with it: sweep by hand
            for pid in _proc_children(self.pid):
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(5)
        self.ctl.close()
        self.errlog.close()
        with contextlib.suppress(OSError):
            os.unlink(self.errlog.name)


class ZygoteLost(Exception):
    pass


class ContextFailed(Exception):
    pass


def _vm_size(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _unique_kb(root: int) -> int:
    """Memory the processes below ``root`` hold of their own (Pss), in kB."""
    total = 0
    frontier = _proc_children(root)
    seen: set[int] = set()
    while frontier:
        pid = frontier.pop()
        if pid in seen:
            continue
        seen.add(pid)
        frontier += _proc_children(pid)
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
    return total


def _proc_children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(p) for p in f.read().split()]
    return found


# -- the tests --------------------------------------------------------------------------------------

_CMP = {
    ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne), ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le), ast.Gt: (">", operator.gt), ast.GtE: (">=", operator.ge),
    ast.Is: ("is", operator.is_), ast.IsNot: ("is not", operator.is_not),
    ast.In: ("in", lambda a, b: a in b), ast.NotIn: ("not in", lambda a, b: a not in b),
}
_OPS = [v for v in _CMP.values()]


class _Instrument(ast.NodeTransformer):
    """Rewrite ``assert A <op> B`` so the values compared are recorded (got vs expected)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _mentions(self, node: ast.AST) -> bool:
        return any(isinstance(n, ast.Name) and n.id == self.name for n in ast.walk(node))

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        t = node.test
        if isinstance(t, ast.Compare) and len(t.ops) == 1 and type(t.ops[0]) in _CMP:
            a, b = t.left, t.comparators[0]
            got_left = self._mentions(a) or not self._mentions(b)
            op_index = list(_CMP).index(type(t.ops[0]))
            call = ast.Call(
                ast.Name("__cs_cmp__", ast.Load()),
                [a, b, ast.Constant(op_index), ast.Constant(got_left)], [],
            )
            node.test = ast.copy_location(call, t)
        elif self._mentions(t):
            negate = isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not)
            inner = t.operand if isinstance(t, ast.UnaryOp) and negate else t
            call = ast.Call(ast.Name("__cs_truth__", ast.Load()), [inner, ast.Constant(negate)], [])
            node.test = ast.copy_location(call, t)
        return node


def compile_item(source: str, line: int, name: str) -> types.CodeType:
    """Compile one test or setup statement, instrumented, with the cell's line numbers."""
    tree = ast.parse(source)
    tree = _Instrument(name).visit(tree)
    ast.increment_lineno(tree, line - 1)
    ast.fix_missing_locations(tree)
    return compile(tree, "<cell>", "exec")


class _Proxy:
    """Stands for the candidate function in the trusted test namespace."""

    def __init__(self, run: _Run, name: str) -> None:
        self._run = run
        self.__name__ = self.__qualname__ = name

    def __repr__(self) -> str:
        return f"<candidate {self.__name__}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._run.call(args, kwargs)


class _Run:
    """One candidate's verification: its channel, deadline, and what the tests saw."""

    def __init__(self, chan: _Channel, deadline: float, name: str, plan: list[Any]) -> None:
        self.chan = chan
        self.namespace: dict[str, Any] = {}
        self.answered_in: float | None = None
        self.deadline = deadline
        self.name = name
        self.plan = list(plan)
        self.answers: collections.deque[tuple[Any, float]] = collections.deque()
        self.after_answers: _Abort | None = None
        self.abort: _Abort | None = None
        self.calls: list[dict[str, Any]] = []
        self.call_time = 0.0
        self.seen: dict[str, Any] = {}

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.abort is not None:
            raise self.abort
        if self.plan:
            # Each test makes exactly its planned call (see _plan); the label was made once.
            planned = self.plan.pop(0)
            # Fast checks call with no arguments: the planned ones are known (see _fast_check).
            if (args or kwargs) and (
                len(args) != len(planned["args"]) - 1 or len(kwargs) != (len(planned["kwargs"]) - 1) // 2
            ):
                # Cannot happen for a plan made by _plan(); if it ever does, never guess.
                self.abort = _Abort("error", "internal error: the tests' calls did not follow the plan")
                raise self.abort
            record: dict[str, Any] = {"call": planned["label"]}
            self.calls.append(record)
            if not self.answers:
                self.abort = self.after_answers or _Abort("crashed", "")
                raise self.abort
            reply, elapsed = self.answers.popleft()
            self.call_time += elapsed
        else:
            try:
                msg: dict[str, Any] = {"op": "call", "args": to_tree(list(args)), "kwargs": to_tree(kwargs)}
            except Unserializable:
                msg = {"op": "call", "pickle": _pickle((args, kwargs)).hex()}
            record = {"call": _label(self.name, args, kwargs)}
            self.calls.append(record)
            start = time.perf_counter()
            try:
                self.chan.send(msg, self.deadline)
                reply = self.chan.recv(self.deadline)
            except _Abort as e:
                self.abort = e
                raise
            finally:
                self.call_time += time.perf_counter() - start  # timed here, on the trusted side
        if reply is None:
            self.abort = _Abort("crashed", "")
            raise self.abort
        try:
            return self._answer(reply, args, record)
        except _Abort as e:
            self.abort = e
            raise

    def prefetch(self) -> None:
        """Read the answers to the planned calls as they arrive.

        Answers computed ahead arrive together, so arrival times cannot time them one by one.
        The candidate's own figure is used instead, capped so that the time it claims never
        exceeds what passed here since it was started (it may claim less: a candidate can look
        faster than it is, never slower, and never pass a test it fails).
        """
        if not self.plan:
            return
        # The arguments go out only now, after the candidate is defined: code running at import
        # cannot see them, so all the work on them happens within the span timed below.
        sent = time.perf_counter()
        calls = [{"args": c["args"], "kwargs": c["kwargs"]} for c in self.plan]
        self.chan.send({"op": "plan", "calls": calls}, self.deadline)
        claimed = 0.0
        for _ in self.plan:
            try:
                reply = self.chan.recv(self.deadline)
            except _Abort as e:
                self.after_answers = e
                return
            if reply is None:
                self.after_answers = _Abort("crashed", "")
                return
            t = reply.get("t")
            t = float(t) if isinstance(t, (int, float)) and t == t and t > 0 else 0.0
            t = min(t, max(0.0, self.chan.arrived - sent - claimed))
            claimed += t
            self.answers.append((reply, t))
        self.answered_in = self.chan.arrived - sent

    def _answer(self, reply: dict[str, Any], args: tuple[Any, ...], record: dict[str, Any]) -> Any:
        if "value" in reply:
            try:
                value = from_tree(reply["value"])
                after = from_tree(reply["args"]) if "args" in reply else None
            except Unserializable as e:
                raise _Abort("unserializable", f"returned a malformed value ({e})") from None
            if isinstance(after, list) and len(after) == len(args):
                _copy_back(args, after)
            record["got"] = _short(value, 120)
            return value
        if "unserializable" in reply:
            raise _Abort("unserializable", f"returned {_text(reply['unserializable'], 200)}")
        kind = _text(reply.get("raised") or reply.get("exit") or "Exception", 100)
        message = _text(reply.get("message", ""), 500)
        where = _text(reply.get("where", ""), 50)
        text = f"{kind}: {message}" if message else kind
        record["raised"] = text if len(text) <= 200 else text[:199] + "…"
        if "exit" in reply:
            raise _Abort("crashed", f"raised {kind}" + (f" at {where}" if where else ""))
        if kind == "MemoryError":
            raise _Abort("memory", "ran out of memory" + (f" at {where}" if where else ""))
        raise _rebuild(kind, message, where)


def _pickle(obj: object) -> bytes:
    try:
        return pickle.dumps(obj, protocol=4)
    except Exception:
        try:
            import cloudpickle
        except ImportError:
            raise TypeError("an argument cannot be sent to the sandbox (not plain data, not picklable)") from None
        return cloudpickle.dumps(obj, protocol=4)  # type: ignore[no-any-return]


def _copy_back(args: tuple[Any, ...], after: list[Any]) -> None:
    for old, new in zip(args, after, strict=True):
        if type(old) is list and type(new) is list:
            old[:] = new
        elif (type(old) is dict and type(new) is dict) or (type(old) is set and type(new) is set):
            old.clear()
            old.update(new)


def _rebuild(kind: str, message: str, where: str) -> BaseException:
    """The trusted side's own exception standing for the one the candidate raised."""
    base = getattr(builtins, kind, None)
    if kind in ("StopIteration", "StopAsyncIteration"):
        # As PEP 479 does for generators: raised for real, it would silently end the test's
        # own iteration (`all(map(f, xs))` over nothing is True) -- a false pass.
        base = RuntimeError
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base = _CONTEXT_EXC.get(kind)
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base = Exception
    name = kind if kind.isidentifier() else "CandidateError"
    cls = type(name, (base, _CandidateRaised), {"__module__": "candidate"})
    try:
        err: BaseException = cls(message)
    except Exception:  # an exception class with a demanding __init__
        err = type(name, (Exception, _CandidateRaised), {})(message)
    err.where = where  # type: ignore[attr-defined]
    return err


_CONTEXT_EXC: dict[str, Any] = {}


# -- the evaluator ----------------------------------------------------------------------------------


class Evaluator:
    """Loaded once per kernel by the pool; holds specs and the zygote."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.specs: dict[str, dict[str, Any]] = {}
        self.zygote: _Zygote | None = None
        self.unreaped = False  # the zygote's last candidate is done with but not yet swept
        self.publish: Callable[[dict[str, Any]], None] = _publish
        # One core per kernel, inherited by its zygote and candidates: the three processes of a
        # candidate's verification hand work back and forth, and moving between cores costs.
        if cfg.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, {int(cfg["cpu"])})

    def load_spec(self, payload: str) -> None:
        spec = json.loads(payload)
        name = spec["name"]
        spec["preamble_code"] = compile(spec.get("preamble", ""), "<session>", "exec")
        spec["context_code"] = compile(spec["context"], "<cell>", "exec")
        # What the zygote needs to hold the same context: one key, so a change restarts it.
        spec["zygote"] = json.dumps([spec.get("preamble", ""), spec.get("objects", []), spec["context"]])
        spec["compiled"] = [
            (kind, compile_item(src, line, name), line, src, hidden)
            for kind, src, line, hidden in spec["items"]
        ]
        spec["plan"] = _plan(spec["items"], name)
        spec["fast"] = self._fast_checks(spec) if spec["plan"] else None
        self.specs[spec["key"]] = spec

    def _fast_checks(self, spec: dict[str, Any]) -> list[Callable[[_Run], None]] | None:
        """For planned specs: each test as a check of the candidate's answer against a value
        computed here once (the tests' other side never involves the candidate, and setup
        never touches it). Saves running the tests' code for every candidate; ``None`` when
        anything is not that simple (the tests then run as written)."""
        try:
            ns = self._namespace(spec)
            checks = []
            for kind, src, _line, _hidden in spec["items"]:
                node = ast.parse(src).body[0]
                if kind == "setup":
                    exec(compile(ast.Module([node], []), "<cell>", "exec"), ns)
                    continue
                assert isinstance(node, ast.Assert)
                if node.msg is not None:
                    return None
                checks.append(_fast_check(node.test, ns))
            return checks
        except Exception:
            return None

    def run_batch(self, payload: str) -> None:
        batch = json.loads(payload)
        spec = self.specs[batch["key"]]
        self._stream("verdicts", (
            self.verify_one(spec, index, source, batch["limits"]) for index, source in batch["candidates"]
        ))

    def _zygote_for(self, context: str) -> _Zygote:
        z = self.zygote
        if z is not None and z.context == context and z.alive():
            return z
        if z is not None:
            z.kill()
            self.zygote = None
            self.unreaped = False  # its processes went with its sandbox
        self.zygote = _Zygote(self.cfg, context)
        return self.zygote

    def _start(
        self, spec: dict[str, Any], source: str, limits: dict[str, Any]
    ) -> tuple[_Channel, float] | tuple[str, str]:
        """Start one candidate process; ``(channel, deadline)`` or ``(status, error)``."""
        timeout = float(limits["timeout"])
        try:
            zygote = self._zygote_for(spec["zygote"])
        except ContextFailed as e:
            return "error", f"the context failed in the sandbox: {e}"
        except (ZygoteLost, OSError) as e:
            return "error", f"the sandbox failed to start: {e}"
        deadline = time.monotonic() + timeout
        sandbox_limits = {
            "cpu_s": max(1, int(timeout + 0.999)),
            "fsize": int(limits.get("fsize", 16 << 20)),
            "as_bytes": (zygote.as_base + int(limits["memory_mb"]) * (1 << 20)) if zygote.as_base else None,
            "nproc": int(limits.get("nproc", 64)) if zygote.pidns else None,
        }
        self.unreaped = False  # the zygote sweeps its previous candidate before this one
        try:
            reply, fds = zygote.request(
                {"op": "spawn", "source": source, "name": spec["name"], "limits": sandbox_limits}, 10
            )
            if reply.get("op") == "invalid":
                return "invalid", _text(reply.get("error"), 500)
            if reply.get("op") != "spawned" or len(fds) != 2:
                raise ZygoteLost(f"unexpected reply from the zygote: {_text(reply, 100)}")
            chan = _Channel(fds[0], fds[1])
            chan.watch = self._memory_watch(zygote, int(limits["memory_mb"]))
            return chan, deadline
        except (ZygoteLost, OSError, KeyError, ValueError) as e:
            zygote.kill()
            self.zygote = None
            self.unreaped = False  # its processes went with its sandbox
            return "crashed", f"could not start the candidate: {e}"

    @staticmethod
    def _namespace(spec: dict[str, Any]) -> dict[str, Any]:
        """A fresh trusted namespace holding the context (tests may change it: one per candidate)."""
        module = types.ModuleType(CONTEXT_MODULE)
        sys.modules[CONTEXT_MODULE] = module
        ns = module.__dict__
        exec(spec["preamble_code"], ns)
        for name, blob in spec.get("objects", []):
            ns[name] = pickle.loads(bytes.fromhex(blob))  # the user's own values (--use)
        exec(spec["context_code"], ns)
        _CONTEXT_EXC.clear()
        _CONTEXT_EXC.update({k: v for k, v in ns.items() if isinstance(v, type) and issubclass(v, Exception)})
        return ns

    def verify_one(self, spec: dict[str, Any], index: int, source: str, limits: dict[str, Any]) -> dict[str, Any]:
        timeout = float(limits["timeout"])
        verdict: dict[str, Any] = {"index": index, "status": "error", "passed": False, "tests": [],
                                   "runtime_s": None, "error": None, "stdout": "", "output_bytes": 0}
        namespace: dict[str, Any] = {}
        try:  # before the candidate's clock starts: the context is the user's, not the candidate's
            if spec["fast"] is None:
                namespace = self._namespace(spec)
        except Exception as e:
            verdict["error"] = f"the context failed: {type(e).__name__}: {_text(e, 300)}"
            _list_unrun(spec, verdict)
            return verdict
        started = self._start(spec, source, limits)
        if isinstance(started[0], str):
            verdict["status"], verdict["error"] = started
            _list_unrun(spec, verdict)
            return verdict
        chan, deadline = started
        run = _Run(chan, deadline, spec["name"], spec["plan"])
        run.namespace = namespace
        try:
            with _alarm(deadline):
                self._run_tests(spec, run, verdict)
        except _Abort as e:  # from the alarm, outside any proxy call
            run.abort = run.abort or e
        finally:
            status = None
            if run.abort is not None and run.abort.status == "crashed":
                status = self._reap(wait=True)  # its wait status explains the crash
            else:
                self.unreaped = True  # swept with the next spawn, or at the end of the batch
            chan._drain_output()
            chan.close()
        _list_unrun(spec, verdict)
        verdict["stdout"] = chan.output.decode(errors="replace")
        verdict["output_bytes"] = chan.output_bytes
        if run.abort is not None:
            verdict["status"] = run.abort.status
            verdict["error"] = _abort_message(run.abort, status, timeout)
        durations = sorted(t["duration_s"] for t in verdict["tests"] if t.get("calls"))
        if durations:
            verdict["runtime_s"] = durations[len(durations) // 2]
        if run.answered_in is not None and durations and run.abort is None:
            # Answers streamed in one go cannot be timed one by one here, and the candidate's own
            # split can be faked; the total since it received the arguments cannot. Mean, then.
            verdict["runtime_s"] = run.answered_in / len(durations)
        return verdict

    def run_probes(self, payload: str) -> None:
        """Behaviour of candidates on probe inputs: one output per probe, published in bunches.

        An output is ``"v:<json>"`` (a plain value), ``"e:<ExceptionType>"``, or ``"timeout"``,
        ``"crashed"``, ``"unserializable"``: an exception or a hang is a behaviour too. A
        candidate that hangs on a probe costs only its own time budget.
        """
        batch = json.loads(payload)
        spec = self.specs[batch["key"]]
        plan = [{"args": args, "kwargs": ["D"]} for args in batch["probes"]]
        self._stream("probes", (
            {"index": index, **self._probe_one(spec, source, batch["limits"], plan)}
            for index, source in batch["candidates"]
        ))

    def _stream(self, kind: str, reports: Iterator[dict[str, Any]]) -> None:
        """Publish reports as they are made, a few per message (one message each costs more than
        a report), but never holding one back for long: the caller watches for progress."""
        ready: list[dict[str, Any]] = []
        flushed = time.monotonic()
        for report in reports:
            ready.append(_compact(report))
            if time.monotonic() - flushed > 0.05:
                self.publish({kind: ready})
                ready, flushed = [], time.monotonic()
        if self.unreaped:  # nothing of the batch's last candidate outlives the batch
            self._reap(wait=False)
        if ready:
            self.publish({kind: ready})

    def _memory_watch(self, zygote: _Zygote, memory_mb: int) -> Callable[[], None]:
        """A check, run while waiting on a candidate, of the memory all its processes hold.

        RLIMIT_AS bounds each process; a candidate may fork. The zygote runs one candidate at a
        time, so everything below it belongs to the current one.
        """
        budget = memory_mb * 1024  # kB

        def check() -> None:
            if _unique_kb(zygote.pid) > budget:
                raise _Abort("memory", f"its processes used more than {memory_mb} MB together")

        return check

    def _probe_one(self, spec: dict[str, Any], source: str, limits: dict[str, Any], plan: list[Any]) -> dict[str, Any]:
        started = self._start(spec, source, limits)
        if isinstance(started[0], str):
            return {"outputs": [started[0]] * len(plan), "shown": [started[1]] * len(plan)}
        chan, deadline = started
        outputs: list[str] = []
        shown: list[str] = []
        try:
            first = chan.recv(deadline)
            if first is None or "ready" not in first:
                why = "invalid" if first is not None and "invalid" in first else "crashed"
                outputs, shown = [why] * len(plan), [why] * len(plan)
            else:
                chan.send({"op": "plan", "calls": plan}, deadline)
                for _ in plan:
                    reply = chan.recv(deadline)
                    if reply is None:
                        break
                    out, text = _behaviour(reply)
                    outputs.append(out)
                    shown.append(text)
        except _Abort as e:
            outputs.append(e.status)
            shown.append(e.status)
        finally:
            self.unreaped = True
            chan.close()
        missing = len(plan) - len(outputs)
        if missing > 0:  # it stopped answering: the rest is that same behaviour
            last = "timeout" if outputs and outputs[-1] == "timeout" else "crashed"
            outputs += [last] * missing
            shown += [last] * missing
        return {"outputs": outputs[: len(plan)], "shown": shown[: len(plan)]}

    def _reap(self, wait: bool) -> int | None:
        """Sweep the zygote's current candidate (and everything it started); its wait status."""
        z = self.zygote
        self.unreaped = False
        if z is None:
            return None
        try:
            reply, _ = z.request({"op": "reap", "wait": wait}, 10)
            if reply.get("op") != "reaped":
                raise ZygoteLost(f"unexpected reply from the zygote: {_text(reply, 100)}")
            status = reply.get("status")
            return status if isinstance(status, int) else None
        except (ZygoteLost, OSError):
            z.kill()  # it was killed, stopped, or hung: take its sandbox down and start afresh
            self.zygote = None
            self.unreaped = False  # its processes went with its sandbox
            return None

    def _run_tests(self, spec: dict[str, Any], run: _Run, verdict: dict[str, Any]) -> None:
        # The first message says whether the candidate parsed, defined the function, imported.
        first = run.chan.recv(run.deadline) if run.abort is None else None
        if first is None:
            run.abort = run.abort or _Abort("crashed", "")
            return
        if "invalid" in first:
            verdict["status"], verdict["error"] = "invalid", _text(first["invalid"], 500)
            return
        if "exit" in first:
            run.abort = _Abort("crashed", f"raised {_text(first['exit'], 100)} while being defined")
            return
        if "raised" in first:
            kind = _text(first["raised"], 100)
            if kind == "MemoryError":
                run.abort = _Abort("memory", "ran out of memory while being defined")
                return
            msg = _text(first.get("message", ""), 500)
            verdict["status"] = "error"
            verdict["error"] = (f"raised {kind}: {msg}" if msg else f"raised {kind}") + " while being defined"
            return
        run.prefetch()
        ns = run.namespace
        if spec["fast"] is None:
            ns = run.namespace = self._namespace(spec)
        ns[spec["name"]] = _Proxy(run, spec["name"])
        ns["__cs_cmp__"] = lambda a, b, op, got_left: _record_cmp(run, a, b, op, got_left)
        ns["__cs_truth__"] = lambda v, negate: _record_truth(run, v, negate)
        tests = verdict["tests"]
        raised_by_candidate = False
        broken_setup: str | None = None
        try:
            fast = iter(spec["fast"] or ())
            for kind, code, line, src, hidden in spec["compiled"]:
                if run.abort is not None:
                    break
                if kind == "setup" and spec["fast"]:
                    continue  # already run, once, to compute what the fast checks compare with
                if kind == "test" and spec["fast"]:
                    code = next(fast)
                if kind == "setup":
                    if broken_setup is None:
                        try:
                            exec(code, ns)
                        except Exception as e:
                            broken_setup = f"setup at line {line} raised {type(e).__name__}: {_text(e, 200)}"
                            raised_by_candidate |= isinstance(e, _CandidateRaised)
                    continue
                result = _test_result(src, line, hidden)
                tests.append(result)
                if broken_setup is not None:
                    result["error"] = broken_setup
                    continue
                raised_by_candidate |= self._run_test(run, code, ns, result)
        except _Abort as e:
            run.abort = run.abort or e
        if run.abort is not None:
            return
        if tests and all(t["passed"] for t in tests):
            verdict["status"], verdict["passed"] = "passed", True
            return
        verdict["status"] = "error" if raised_by_candidate else "failed"
        failing = next(t for t in tests if not t["passed"])
        if raised_by_candidate:  # point at the test the candidate raised in
            failing = next((t for t in tests if (t["error"] or "").startswith("the candidate")), failing)
        verdict["error"] = f"line {failing['line']}: " + (failing["error"] or "assertion failed")

    @staticmethod
    def _run_test(
        run: _Run, code: types.CodeType | Callable[[_Run], None], ns: dict[str, Any], result: dict[str, Any]
    ) -> bool:
        """Run one test; fill in ``result``; True when it failed because the candidate raised."""
        run.seen = {}
        first_call = len(run.calls)
        before = run.call_time
        by_candidate = False
        try:
            if callable(code):
                code(run)
            else:
                exec(code, ns)
            result["passed"] = True
        except _Abort:
            result["error"] = "not run to the end: the candidate stopped"
            raise
        except Exception as e:
            by_candidate = isinstance(e, _CandidateRaised)
            if isinstance(e, AssertionError) and not by_candidate:
                result["error"] = f"AssertionError: {str(e)[:300]}" if str(e) else None
            else:
                who = "the candidate raised " if by_candidate else ""
                where = getattr(e, "where", "")
                result["error"] = f"{who}{type(e).__name__}: {str(e)[:300]}" + (f" ({where})" if where else "")
        finally:
            result["duration_s"] = run.call_time - before
            result.update(run.seen)
            result["calls"] = run.calls[first_call:][-_CALLS_KEEP:]
        return by_candidate


def _fast_check(test: ast.expr, ns: dict[str, Any]) -> Callable[[_Run], None]:
    """``assert f(...) <op> <expr>`` / ``assert f(...)`` / ``assert not f(...)`` as a check of the
    next planned answer, with ``<expr>`` evaluated now."""
    if isinstance(test, ast.Compare):
        if len(test.ops) != 1:
            raise ValueError("chained comparison")
        symbol, fn = _CMP[type(test.ops[0])]
        expected = eval(compile(ast.Expression(test.comparators[0]), "<cell>", "eval"), ns)
        shown = _short(expected) if symbol == "==" else f"{symbol} {_short(expected)}"

        def compare(run: _Run) -> None:
            got = run.call((), {})
            run.seen = {"got": _short(got), "expected": shown}
            if not fn(got, expected):
                raise AssertionError

        return compare
    negate = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)

    def truth(run: _Run) -> None:
        got = run.call((), {})
        run.seen = {"got": _short(got), "expected": "a false value" if negate else "a true value"}
        if bool(got) == negate:
            raise AssertionError

    return truth


def _list_unrun(spec: dict[str, Any], verdict: dict[str, Any]) -> None:
    """Tests never reached (invalid, crashed, stopped early) are listed too, as not passed."""
    done = {t["line"] for t in verdict["tests"]}
    for kind, _code, line, src, hidden in spec["compiled"]:
        if kind == "test" and line not in done:
            verdict["tests"].append({**_test_result(src, line, hidden), "error": "not run"})


def _test_result(source: str, line: int, hidden: bool) -> dict[str, Any]:
    return {"passed": False, "source": source, "line": line, "hidden": hidden, "got": None,
            "expected": None, "error": None, "duration_s": 0.0, "calls": []}


def _plan(items: list[Any], name: str) -> list[dict[str, Any]]:
    """The calls the tests will make, in order, when that is certain before running them.

    Only when every test is ``assert name(<literals>) ...`` with the call evaluated first and
    nothing else mentioning ``name``, and no setup touches it: then each test makes exactly that
    call, in order, whatever the candidate does, so its answers can be computed up front.
    """
    calls: list[dict[str, Any]] = []
    for kind, src, _line, _hidden in items:
        node = ast.parse(src).body[0]
        uses = [n for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == name]
        if kind == "setup":
            if uses:
                return []
            continue
        if not isinstance(node, ast.Assert) or len(uses) != 1:
            return []
        head = node.test
        if isinstance(head, ast.Compare):
            head = head.left
        elif isinstance(head, ast.UnaryOp) and isinstance(head.op, ast.Not):
            head = head.operand
        if not (isinstance(head, ast.Call) and isinstance(head.func, ast.Name) and head.func.id == name):
            return []
        try:
            args = [ast.literal_eval(a) for a in head.args]
            if any(k.arg is None for k in head.keywords):  # **mapping
                return []
            kwargs = {str(k.arg): ast.literal_eval(k.value) for k in head.keywords}
            calls.append({"args": to_tree(args), "kwargs": to_tree(kwargs),
                          "label": _label(name, tuple(args), kwargs)})
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, Unserializable):
            return []
    return calls


def _behaviour(reply: dict[str, Any]) -> tuple[str, str]:
    """A candidate's answer as a comparable string, and as text to show."""
    if "value" in reply:
        try:
            value = from_tree(reply["value"])
        except Unserializable:
            return "unserializable", "unserializable"
        digest = hashlib.sha256(canonical(reply["value"]).encode()).hexdigest()[:24]
        return "v:" + digest, _short(value, 120)  # compared by digest: answers can be huge
    if "unserializable" in reply:
        return "unserializable", "unserializable"
    kind = _text(reply.get("raised") or reply.get("exit") or "Exception", 100)
    return "e:" + kind, f"raises {kind}"


def _record_cmp(run: _Run, a: Any, b: Any, op: int, got_left: bool) -> Any:
    symbol, fn = _OPS[op]
    got, other = (a, b) if got_left else (b, a)
    run.seen = {"got": _short(got), "expected": _short(other) if symbol == "==" else f"{symbol} {_short(other)}"}
    return fn(a, b)


def _record_truth(run: _Run, value: Any, negate: bool) -> Any:
    run.seen = {"got": _short(value), "expected": "a false value" if negate else "a true value"}
    return (not value) if negate else value


def _abort_message(abort: _Abort, status: int | None, timeout: float) -> str:
    if abort.detail:
        return abort.detail
    if abort.status == "timeout":
        return f"timed out after {timeout:g} s"
    if status is not None and os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            abort.status = "timeout"
            return f"used more than its CPU time limit ({timeout:g} s)"
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by {name}"
    if status is not None and os.WIFEXITED(status):
        return f"exited with status {os.WEXITSTATUS(status)} before returning"
    return "the candidate process died"


@contextlib.contextmanager
def _alarm(deadline: float) -> Any:
    """Bound the trusted side too: a test can loop on its own, outside any call."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise _Abort("timeout", "")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, deadline - time.monotonic() + 0.5))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _compact(report: dict[str, Any]) -> dict[str, Any]:
    """What the caller needs: it has the spec, so a test's source and hidden flag stay here, and
    empty fields are left out (verdicts are most of the traffic back to the caller)."""
    tests = [{k: v for k, v in t.items() if k not in ("source", "hidden") and v is not None and v != []}
             for t in report.get("tests", ())]
    return {**report, "tests": tests}


def _publish(verdict: dict[str, Any]) -> None:
    from IPython.display import publish_display_data

    # One JSON string, not a structure: the display machinery walks structures in Python.
    text = json.dumps(verdict, ensure_ascii=False, allow_nan=True)
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates we missed
    publish_display_data({MIME: text})  # type: ignore[no-untyped-call]
