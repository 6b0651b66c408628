"""A local OpenAI-compatible chat-completions server for tests and benchmarks.

The machine that runs the suite has no network, so every LLM code path is exercised against this
server instead: it speaks enough of the OpenAI wire protocol (``/v1/chat/completions``, ``n`` > 1,
SSE streaming, ``/v1/models``, OpenAI-style error bodies) for litellm and the ``openai`` SDK to
treat it as the real thing, and it can inject the faults a real provider produces (rate limits,
5xx, hung connections, garbage bodies, auth and model errors).

Standard library only, so benchmarks can import it without the test dependencies::

    sys.path.insert(0, str(repo_root))
    from tests.support.fake_llm import FakeLLM, MbppResponder

    with FakeLLM(MbppResponder(), latency=0.05) as fake:
        litellm.completion(model="openai/gpt-4o-mini", api_base=fake.url, api_key="sk-x", ...)

Answers come from a *responder* (``Callable[[Request], Reply]``). ``MbppResponder`` answers MBPP
tasks with a deterministic mix of right, reformatted, wrong and broken programs;
``ScriptedResponder`` replays a fixed list of replies.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import os
import random
import re
import select
import socket
import socketserver
import sys
import threading
import time
import tokenize
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Literal, TypeAlias, get_args

__all__ = [
    "DEFAULT_MIX",
    "FAULT_KINDS",
    "VARIANT_KINDS",
    "EvolveResponder",
    "FakeLLM",
    "Fault",
    "FaultKind",
    "MbppResponder",
    "MbppTask",
    "Reply",
    "Request",
    "Responder",
    "ScriptedResponder",
    "Served",
    "default_mbpp_path",
    "load_mbpp",
    "mutate",
    "variants",
]

FaultKind: TypeAlias = Literal[
    "429", "500", "503", "timeout", "malformed", "no_choices", "401", "404_model"
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

VariantKind: TypeAlias = Literal[
    "canonical_fenced",
    "canonical_bare",
    "canonical_reformatted",
    "wrong",
    "prose_only",
    "syntax_error",
    "other_function",
]
VARIANT_KINDS: tuple[str, ...] = get_args(VariantKind)
DEFAULT_MIX: tuple[str, ...] = VARIANT_KINDS


@dataclass(frozen=True)
class Request:
    """One HTTP request as the server saw it.

    ``body`` is the parsed JSON object (``{}`` when the body is empty or not a JSON object);
    ``raw`` keeps the exact bytes. ``index`` is the 0-based arrival order across all paths.
    """

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes
    index: int
    method: str = "POST"

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a completions request (empty for anything else)."""
        msgs = self.body.get("messages")
        return [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []

    @property
    def prompt_text(self) -> str:
        """All message texts joined by newlines (content parts flattened)."""
        return "\n".join(_content_text(m.get("content")) for m in self.messages)

    @property
    def user_text(self) -> str:
        """The text of the last user message, where the task stub normally is."""
        for m in reversed(self.messages):
            if m.get("role") == "user":
                return _content_text(m.get("content"))
        return ""

    @property
    def n(self) -> int:
        """Number of choices asked for (``n``, default 1)."""
        n = self.body.get("n")
        return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1

    @property
    def seed(self) -> int | None:
        """The request's integer ``seed``, if any."""
        s = self.body.get("seed")
        return s if isinstance(s, int) and not isinstance(s, bool) else None


@dataclass(frozen=True)
class Fault:
    """A reply that makes the server misbehave instead of answering (see ``FaultKind``)."""

    kind: FaultKind

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")


Reply: TypeAlias = "str | list[str] | Fault"
Responder: TypeAlias = "Callable[[Request], Reply]"


def _content_text(content: object) -> str:
    # OpenAI allows content as a plain string or as a list of typed parts.
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return "\n".join(str(p.get("text", "")) for p in parts)
    return ""


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


class _Server(socketserver.ThreadingMixIn, HTTPServer):
    """ThreadingHTTPServer whose handler threads we track ourselves, so stop() can join them."""

    # Handler threads are started and tracked by process_request below, and joined by
    # FakeLLM.stop(); ThreadingMixIn's own bookkeeping is bypassed.
    block_on_close = False
    request_queue_size = 256  # benchmarks open many concurrent connections
    allow_reuse_address = True

    def __init__(self, fake: FakeLLM) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse-DNS lookup that can hang for
        # seconds on a machine without network.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        fake = self.fake
        t = threading.Thread(
            target=self._run_handler,
            args=(request, client_address),
            name=f"FakeLLM-{self.server_port}-conn",
            daemon=True,
        )
        with fake._lock:
            fake._handler_threads.add(t)
        t.start()

    def _run_handler(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self.fake._lock:
                self.fake._handler_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response (timeouts, shutdown) are expected; anything else is a
        # bug in this module and is kept for the tests to see instead of spamming stderr.
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, OSError):
            self.fake._errors.append(exc)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai SDK's connection pool expects
    server_version = "FakeLLM/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.fake._lock:
            self.server.fake._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    # -- plumbing ------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, payload: object | bytes, headers: dict[str, str] | None = None
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(
        self,
        status: int,
        message: str,
        type_: str,
        code: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
        self._send(status, body, headers)

    def _request(self, method: str) -> Request:
        raw = self._read_body() if method == "POST" else b""
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = None
        fake = self.server.fake
        with fake._lock:
            req = Request(
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=parsed if isinstance(parsed, dict) else {},
                raw=raw,
                index=len(fake._requests),
                method=method,
            )
            fake._requests.append(req)
        if raw and not isinstance(parsed, dict):
            self._bad_json = True
        return req

    def _authorised(self, req: Request) -> bool:
        key = self.server.fake.api_key
        if key is None:
            return True
        if req.headers.get("authorization", "") == f"Bearer {key}":
            return True
        self._send_error(
            401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"
        )
        return False

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False means: give up on this request."""
        return seconds <= 0 or not self.server.fake._stopping.wait(seconds)

    def _hold(self) -> None:
        """The "timeout" fault: say nothing until the client gives up or the server stops."""
        fake = self.server.fake
        deadline = time.monotonic() + fake.timeout_hold
        sock = self.connection
        poller = select.poll()  # not select.select: benchmarks may hold more than 1024 fds
        poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
        while time.monotonic() < deadline and not fake._stopping.is_set():
            # Polling rather than one long wait: a client that hung up frees this thread at once,
            # which matters when a benchmark injects many timeouts.
            try:
                events = poller.poll(50)
                if events and (events[0][1] & (select.POLLHUP | select.POLLERR)):
                    break
                if events and not sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                    break  # orderly close by the client
                if events:
                    fake._stopping.wait(0.05)  # pipelined bytes: not a hang-up, don't spin
            except BlockingIOError:
                continue
            except OSError:
                break
        self.close_connection = True

    # -- routes --------------------------------------------------------------------------------

    def do_GET(self) -> None:
        req = self._request("GET")
        route = _route(req.path)
        if not self._authorised(req):
            return
        fake = self.server.fake
        if route == "/models":
            data = [_model_obj(m) for m in fake.models]
            self._send(200, {"object": "list", "data": data})
        elif route.startswith("/models/"):
            name = route[len("/models/") :]
            if name in fake.models:
                self._send(200, _model_obj(name))
            else:
                self._model_not_found(name)
        else:
            self._send_error(
                404, f"Unknown request URL: GET {req.path}", "invalid_request_error", "unknown_url"
            )

    def do_POST(self) -> None:
        self._bad_json = False
        req = self._request("POST")
        if _route(req.path) != "/chat/completions":
            self._send_error(
                404, f"Unknown request URL: POST {req.path}", "invalid_request_error", "unknown_url"
            )
            return
        if not self._authorised(req):
            return
        fake = self.server.fake
        if not self._wait(fake._latency_for(req)):
            self.close_connection = True
            return
        if self._bad_json or not req.messages:
            what = "parse the JSON body of your request" if self._bad_json else "find 'messages'"
            self._send_error(400, f"We could not {what}.", "invalid_request_error", None)
            return

        kind = fake._take_fault()
        reply: Reply | None = None
        if kind is None:
            try:
                reply = fake.responder(req)
            except Exception as exc:  # a broken responder is a test bug: surface it, answer 500
                fake._errors.append(exc)
                self._send_error(500, f"responder raised {exc!r}", "server_error", None)
                return
            if isinstance(reply, Fault):
                kind = reply.kind
        if kind is not None:
            self._fault(kind, req)
            return
        assert reply is not None and not isinstance(reply, Fault)
        contents = [reply] * req.n if isinstance(reply, str) else [str(r) for r in reply]
        self._complete(req, contents)

    def _model_not_found(self, model: str) -> None:
        self._send_error(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )

    def _fault(self, kind: str, req: Request) -> None:
        model = str(req.body.get("model", "gpt-4o-mini"))
        if kind == "429":
            self._send_error(
                429,
                f"Rate limit reached for {model} on requests per min (RPM): Limit 3, Used 3, "
                "Requested 1. Please try again in 0s.",
                "requests",
                "rate_limit_exceeded",
                {"retry-after": "0", "x-ratelimit-remaining-requests": "0"},
            )
        elif kind == "500":
            self._send_error(
                500,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            )
        elif kind == "503":
            self._send_error(
                503,
                "The engine is currently overloaded, please try again later.",
                "server_error",
                None,
            )
        elif kind == "401":
            self._send_error(
                401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"
            )
        elif kind == "404_model":
            self._model_not_found(model)
        elif kind == "malformed":
            # Truncated JSON, served as JSON: what a proxy cutting a response short looks like.
            self._send(200, b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [')
        elif kind == "no_choices":
            self._send(
                200,
                {
                    "id": f"chatcmpl-fake{req.index}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                },
            )
        elif kind == "timeout":
            self._hold()
        else:  # pragma: no cover - Fault validates kinds
            raise ValueError(kind)

    def _complete(self, req: Request, contents: list[str]) -> None:
        model = str(req.body.get("model", "gpt-4o-mini"))
        limit = req.body.get("max_completion_tokens", req.body.get("max_tokens"))
        finish = ["stop"] * len(contents)
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
            # Honour max_tokens like a real model would: cut the text, say "length".
            for i, c in enumerate(contents):
                if _tokens(c) > limit:
                    contents[i], finish[i] = c[: limit * 4], "length"
        prompt_tokens = _tokens(req.prompt_text)
        completion_tokens = sum(_tokens(c) for c in contents)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        common = {
            "id": f"chatcmpl-fake{req.index}",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fakellm",
        }
        if req.body.get("stream") is True:
            opts = req.body.get("stream_options")
            with_usage = isinstance(opts, dict) and opts.get("include_usage") is True
            self._stream(common, contents, finish, usage if with_usage else None)
            return
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": c, "refusal": None},
                "logprobs": None,
                "finish_reason": finish[i],
            }
            for i, c in enumerate(contents)
        ]
        self._send(
            200,
            {**common, "object": "chat.completion", "choices": choices, "usage": usage},
            {"x-request-id": f"req_fake{req.index}"},
        )

    def _stream(
        self,
        common: dict[str, Any],
        contents: list[str],
        finish: list[str],
        usage: dict[str, int] | None,
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(choices: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
            obj = {**common, "object": "chat.completion.chunk", "choices": choices, **(extra or {})}
            self._chunk(f"data: {json.dumps(obj)}\n\n".encode())

        for i, text in enumerate(contents):
            event(
                [
                    {
                        "index": i,
                        "delta": {"role": "assistant", "content": ""},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ]
            )
            for piece in _pieces(text):
                event(
                    [
                        {
                            "index": i,
                            "delta": {"content": piece},
                            "logprobs": None,
                            "finish_reason": None,
                        }
                    ]
                )
            event([{"index": i, "delta": {}, "logprobs": None, "finish_reason": finish[i]}])
        if usage is not None:
            event([], {"usage": usage})
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")  # terminating zero-length chunk

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _route(path: str) -> str:
    path = path.split("?", 1)[0].rstrip("/")
    return path[3:] if path.startswith("/v1/") else path


def _model_obj(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "fake-llm"}


def _pieces(text: str, max_pieces: int = 8) -> Iterator[str]:
    # A handful of deltas per choice: enough to exercise reassembly without flooding the socket.
    if not text:
        return
    step = max(1, -(-len(text) // max_pieces))
    for i in range(0, len(text), step):
        yield text[i : i + step]


class FakeLLM:
    """OpenAI-compatible chat-completions server on 127.0.0.1 (free port), in a background thread.

    Use as a context manager (or ``start()``/``stop()``). ``url`` is the ``api_base`` to give
    litellm or the openai SDK. Every request is recorded in ``requests``. Faults can be queued
    with ``fail_next`` or returned by the responder as ``Fault(kind)``.

    Parameters
    ----------
    responder:
        ``Callable[[Request], Reply]``; default ``MbppResponder()`` (needs the MBPP data file).
        A ``str`` reply is one completion (repeated if the request asks for ``n`` > 1), a
        ``list[str]`` gives the choices, a ``Fault`` misbehaves.
    latency:
        Seconds to wait before every chat-completions response, or a function of the request
        (for staggered latencies). The wait ends early if the server is stopped.
    api_key:
        If set, requests without ``Authorization: Bearer <api_key>`` get an OpenAI-style 401.
    models:
        Model ids listed by ``GET /v1/models``.
    timeout_hold:
        How long the ``"timeout"`` fault keeps a connection silent (it also ends when the client
        hangs up or the server stops).
    """

    def __init__(
        self,
        responder: Callable[[Request], Reply] | None = None,
        *,
        latency: float | Callable[[Request], float] = 0.0,
        api_key: str | None = None,
        models: Sequence[str] = ("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo"),
        timeout_hold: float = 60.0,
    ) -> None:
        self.responder: Callable[[Request], Reply] = (
            responder if responder is not None else MbppResponder()
        )
        self.latency = latency
        self.api_key = api_key
        self.models = list(models)
        self.timeout_hold = timeout_hold
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._faults: deque[str] = deque()
        self._errors: list[BaseException] = []
        self._stopping = threading.Event()
        self._handler_threads: set[threading.Thread] = set()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeLLM:
        """Bind a free port and serve in a background thread; returns self."""
        if self._server is not None:
            raise RuntimeError("FakeLLM already started")
        self._stopping.clear()
        self._server = _Server(self)
        self._port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeLLM-{self._port}-serve",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close every connection and join every thread this server started."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # wakes latency waits and held ("timeout") connections
        server.shutdown()
        thread.join(timeout)
        deadline = time.monotonic() + timeout
        # Repeated because a handler accepted just before shutdown() may register its connection
        # only after a first sweep.
        while self.threads() and time.monotonic() < deadline:
            with self._lock:
                conns = list(self._connections)
            for conn in conns:
                # Idle keep-alive connections sit in a blocking read; shutting the socket down
                # is what ends that read, so their handler threads can exit.
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            for t in self.threads():
                t.join(min(0.05, max(0.0, deadline - time.monotonic())))
        server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- introspection -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (only while started)."""
        if self._port is None or self._server is None:
            raise RuntimeError("FakeLLM is not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL for clients, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[Request]:
        """Snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def completion_requests(self) -> list[Request]:
        """Snapshot of the chat-completions requests only."""
        return [r for r in self.requests if _route(r.path) == "/chat/completions"]

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by the responder or the handler (should stay empty)."""
        with self._lock:
            return list(self._errors)

    def threads(self) -> list[threading.Thread]:
        """Threads of this server still alive (the serving thread and connection handlers)."""
        with self._lock:
            handlers = [t for t in self._handler_threads if t.is_alive()]
        serve = [self._thread] if self._thread is not None and self._thread.is_alive() else []
        return serve + handlers

    # -- faults --------------------------------------------------------------------------------

    def fail_next(self, n: int, kind: FaultKind) -> None:
        """Make the next ``n`` chat-completions requests fail with ``kind`` (after queued ones).

        Requests rejected for a bad API key do not consume a fault; ``GET`` requests never do.
        """
        Fault(kind)  # validates
        if n < 0:
            raise ValueError("n must be >= 0")
        with self._lock:
            self._faults.extend([kind] * n)

    def clear_faults(self) -> None:
        """Drop faults queued by ``fail_next`` that have not fired yet."""
        with self._lock:
            self._faults.clear()

    def _take_fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _latency_for(self, req: Request) -> float:
        lat = self.latency
        return float(lat(req)) if callable(lat) else float(lat)


# ---------------------------------------------------------------------------------------------
# Responders
# ---------------------------------------------------------------------------------------------


class ScriptedResponder:
    """Return the given replies in order, cycling when exhausted (thread-safe)."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        if not replies:
            raise ValueError("ScriptedResponder needs at least one reply")
        self.replies: list[Reply] = list(replies)
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        with self._lock:
            reply = self.replies[self._next % len(self.replies)]
            self._next += 1
        return reply


@dataclass(frozen=True)
class MbppTask:
    """One MBPP problem; ``name`` is the function its asserts call."""

    task_id: int
    text: str
    code: str
    test_list: tuple[str, ...]
    test_setup_code: str
    name: str


@dataclass(frozen=True)
class Served:
    """What ``MbppResponder`` answered for one choice of one request."""

    request_index: int
    choice: int
    task_id: int | None
    variant: str


def default_mbpp_path() -> Path:
    """``$FAKE_LLM_MBPP`` if set, else ``<repo>/../shared/data/mbpp/mbpp-train.jsonl``."""
    env = os.environ.get("FAKE_LLM_MBPP")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "data" / "mbpp" / "mbpp-train.jsonl"


_VALID_ESCAPES = set("\n\\'\"abfnrtv01234567x")
_VALID_STR_ESCAPES = _VALID_ESCAPES | set("NuU")
_ESCAPE_RE = re.compile(r"\\(.)", re.S)


def _quiet_source(code: str) -> str:
    """``code`` with invalid string escapes (``'\\.'``) spelled validly: same AST, no warning.

    MBPP solutions are full of regexes in plain strings; parsing them raises a
    DeprecationWarning/SyntaxWarning, which ``filterwarnings = error`` turns into a failure, and
    ``warnings.catch_warnings`` is not thread-safe enough to use in the server's threads.
    """
    lines = code.splitlines(keepends=True)
    edits: list[tuple[tuple[int, int], tuple[int, int], str]] = []
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type != tokenize.STRING or "\\" not in tok.string:
            continue
        prefix = tok.string[: len(tok.string) - len(tok.string.lstrip("rRbBuUfF"))].lower()
        if "r" in prefix:
            continue
        valid = _VALID_ESCAPES if "b" in prefix else _VALID_STR_ESCAPES

        def fix(m: re.Match[str], valid: set[str] = valid) -> str:
            return m.group(0) if m.group(1) in valid else "\\\\" + m.group(1)

        new = _ESCAPE_RE.sub(fix, tok.string)
        if new != tok.string:
            edits.append((tok.start, tok.end, new))
    for (srow, scol), (erow, ecol), new in reversed(edits):
        head = lines[srow - 1][:scol]
        tail = lines[erow - 1][ecol:]
        lines[srow - 1 : erow] = [head + new + tail]
    return "".join(lines)


def _parse(code: str) -> ast.Module:
    """``ast.parse`` without escape-sequence warnings; tokenizer errors become SyntaxError."""
    try:
        quiet = _quiet_source(code)
    except tokenize.TokenError as exc:
        raise SyntaxError(str(exc)) from exc
    return ast.parse(quiet)


def _entry_point(code: str, tests: Sequence[str]) -> str | None:
    funcs = (ast.FunctionDef, ast.AsyncFunctionDef)
    defined = [n.name for n in _parse(code).body if isinstance(n, funcs)]
    called: list[str] = []
    for t in tests:
        try:
            tree = _parse(t)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                called.append(node.func.id)
    for name in called:
        if name in defined:
            return name
    return defined[-1] if defined else None


@functools.lru_cache(maxsize=8)
def load_mbpp(path: str | Path | None = None) -> tuple[MbppTask, ...]:
    """Parse an MBPP jsonl file (default: ``default_mbpp_path()``); cached per path."""
    p = Path(path) if path is not None else default_mbpp_path()
    if not p.is_file():
        raise FileNotFoundError(
            f"MBPP data not found at {p}; pass path= or set FAKE_LLM_MBPP (the data is never "
            "copied into the repo)"
        )
    tasks = []
    with p.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            code = row["code"].replace("\r\n", "\n").replace("\r", "\n")
            tests = tuple(row["test_list"])
            name = _entry_point(code, tests)
            if name is None:
                continue
            tasks.append(
                MbppTask(
                    int(row["task_id"]),
                    row["text"],
                    code,
                    tests,
                    row.get("test_setup_code", "") or "",
                    name,
                )
            )
    return tuple(tasks)


# -- variant construction -----------------------------------------------------------------------

_PERTURB = """

def _fake_llm_perturb(value):
    # Deliberately wrong: shift the canonical result so equality asserts fail.
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1 if value == value and abs(value) != float("inf") else 0
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return value[:-1] if value else [None]
    if isinstance(value, tuple):
        return value[:-1] if value else (None,)
    if isinstance(value, (set, frozenset)):
        return set(value) | {"<wrong>"}
    if isinstance(value, dict):
        return {**value, "<wrong>": None}
    if value is None:
        return 0
    return None
"""


def _rename(code: str, old: str, new: str) -> str:
    """Rename identifier ``old`` to ``new`` (not attributes, not inside strings)."""
    lines = code.splitlines(keepends=True)
    hits: list[tuple[int, int]] = []
    prev: tokenize.TokenInfo | None = None
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if (
            tok.type == tokenize.NAME
            and tok.string == old
            and not (prev is not None and prev.type == tokenize.OP and prev.string == ".")
        ):
            hits.append(tok.start)
        if tok.type not in (
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.COMMENT,
            tokenize.INDENT,
            tokenize.DEDENT,
        ):
            prev = tok
    for row, col in reversed(hits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[col + len(old) :]
    return "".join(lines)


def _same_ast(a: str, b: str) -> bool:
    try:
        return ast.dump(_parse(a)) == ast.dump(_parse(b))
    except SyntaxError:
        return False


def _swap_quotes(code: str) -> str:
    """Single-quoted plain strings become double-quoted where that cannot change their value."""
    lines = code.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        s = tok.string
        if (
            tok.type == tokenize.STRING
            and tok.start[0] == tok.end[0]
            and s.startswith("'")
            and not s.startswith("'''")
            and '"' not in s
            and "\\" not in s
        ):
            edits.append((tok.start[0], tok.start[1], '"' + s[1:-1] + '"'))
    for row, col, new in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[col + len(new) :]
    return "".join(lines)


def _reformatted(task: MbppTask) -> str:
    code = task.code
    header = f"# Solution for {task.name}: reformatted, same behaviour.\n"
    try:
        base = ast.unparse(_parse(code))
        tree = _parse(base)
        lines = base.split("\n")
        inserts: dict[int, list[str]] = {}
        # Comments and blank lines go only before statement starts, which can never be inside a
        # string literal, so the AST stays the same.
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                pad = " " * node.col_offset
                inserts.setdefault(first, []).extend(["", f"{pad}# {node.name}"])
            elif isinstance(node, ast.Return):
                pad = " " * node.col_offset
                inserts.setdefault(node.lineno, []).append(f"{pad}# hand back the result")
        out: list[str] = []
        for i, line in enumerate(lines, start=1):
            out.extend(inserts.get(i, []))
            out.append(line)
        candidate = header + _swap_quotes("\n".join(out).lstrip("\n") + "\n")
        if _same_ast(candidate, code):
            return candidate
        if _same_ast(header + base + "\n", code):
            return header + base + "\n"
    except (SyntaxError, tokenize.TokenError, ValueError, RecursionError):
        pass
    return header + code + "\n"


def _wrong(task: MbppTask) -> str:
    name, orig = task.name, f"_orig_{task.name}"
    wrapper = (
        f"\n\ndef {name}(*args, **kwargs):\n    return _fake_llm_perturb({orig}(*args, **kwargs))\n"
    )
    try:
        # Renaming every reference (recursive calls included) keeps the original's inner
        # behaviour intact, so only the final result is shifted.
        renamed = _rename(task.code, name, orig)
        candidate = renamed.rstrip() + "\n" + _PERTURB + wrapper
        _parse(candidate)
        return candidate
    except (SyntaxError, tokenize.TokenError):
        return task.code.rstrip() + f"\n\n{orig} = {name}\n" + _PERTURB + wrapper


def _syntax_error(task: MbppTask) -> str:
    lines = task.code.split("\n")
    pattern = re.compile(rf"^(\s*def\s+{re.escape(task.name)}\s*\(.*\)\s*(->[^:]*)?):(\s*(#.*)?)$")
    for i, line in enumerate(lines):
        m = pattern.match(line)
        if m:
            broken = "\n".join([*lines[:i], m.group(1) + m.group(3), *lines[i + 1 :]])
            try:
                _parse(broken)
            except SyntaxError:
                return broken
            break
    return task.code.rstrip() + "\n\nprint('unterminated'\n"


def _other_function(task: MbppTask) -> str:
    new = f"{task.name}_alt"
    while re.search(rf"\b{re.escape(new)}\b", task.code):
        new += "_"
    try:
        return _rename(task.code, task.name, new)
    except (SyntaxError, tokenize.TokenError):
        return f"def {new}(*args):\n    return None\n"


def _fence(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


def variants(task: MbppTask) -> dict[str, str]:
    """Every reply ``MbppResponder`` can serve for ``task``, keyed by variant kind."""
    code = task.code.rstrip() + "\n"
    subject = task.text.rstrip(".").strip()
    subject = subject[0].lower() + subject[1:] if subject else "solve the task"
    for prefix in ("write a function to ", "write a python function to "):
        subject = subject.removeprefix(prefix)
    return {
        "canonical_fenced": (
            f"Here is a Python function `{task.name}` that does what you asked.\n\n"
            f"{_fence(code)}\n\nIt should pass the example tests."
        ),
        "canonical_bare": code,
        "canonical_reformatted": _reformatted(task),
        "wrong": (f"This implementation of `{task.name}` should work:\n\n{_fence(_wrong(task))}\n"),
        "prose_only": (
            f"To {subject}, "
            "walk through the input once, keep track of what you have seen so far, and return "
            "the accumulated answer at the end. I have not written the code out here."
        ),
        "syntax_error": f"Here you go:\n\n{_fence(_syntax_error(task))}\n",
        "other_function": (f"A helper that does the job:\n\n{_fence(_other_function(task))}\n"),
    }


_UNKNOWN_REPLY = (
    "I'm sorry, but I could not tell which function you want. Please give the exact function "
    "signature and a few example calls with their expected results."
)

_DEF_RE = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)[ \t]*\(", re.M)
_ASSERT_LINE_RE = re.compile(r"^[ \t]*assert\b(.*)$", re.M)
_CALL_RE = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_WORD_RE = re.compile(r"[a-z0-9]+")


class MbppResponder:
    """Answer MBPP tasks with a deterministic, configurable mix of variants.

    The task is recognised from the ``def <name>(`` stub in the last user message (falling back
    to ``assert <name>(...)`` lines, then to all messages); tasks sharing a name are told apart
    by their asserts and text found in the prompt. Choice ``i`` of a request gets variant
    ``mix[(base + i) % len(mix)]`` where ``base`` is the request's ``seed`` or, without one, the
    number of samples already served for identical requests. Unknown tasks get a prose apology.
    Every answer is logged in ``served``.
    """

    def __init__(self, mix: Sequence[str] = DEFAULT_MIX, path: str | Path | None = None) -> None:
        unknown = [m for m in mix if m not in VARIANT_KINDS]
        if not mix or unknown:
            raise ValueError(f"mix must be non-empty and drawn from {VARIANT_KINDS}: {unknown}")
        self.mix: tuple[str, ...] = tuple(mix)
        self.tasks: tuple[MbppTask, ...] = load_mbpp(path)
        self._by_name: dict[str, list[MbppTask]] = {}
        for t in self.tasks:
            self._by_name.setdefault(t.name, []).append(t)
        self._by_id = {t.task_id: t for t in self.tasks}
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._variants: dict[int, dict[str, str]] = {}
        self._served: list[Served] = []

    # -- lookup --------------------------------------------------------------------------------

    def task_for(self, name: str, prompt: str | None = None) -> MbppTask | None:
        """The task whose entry point is ``name``; ``prompt`` breaks ties between namesakes."""
        cands = self._by_name.get(name, [])
        if len(cands) <= 1 or prompt is None:
            return cands[0] if cands else None
        squashed = re.sub(r"\s+", "", prompt)
        words = set(_WORD_RE.findall(prompt.lower()))

        def score(t: MbppTask) -> tuple[int, bool, float, int]:
            asserts = sum(re.sub(r"\s+", "", a) in squashed for a in t.test_list)
            text_words = set(_WORD_RE.findall(t.text.lower()))
            overlap = len(text_words & words) / max(1, len(text_words))
            return (asserts, t.text.strip() in prompt, overlap, -t.task_id)

        return max(cands, key=score)

    def task_by_id(self, task_id: int) -> MbppTask | None:
        """The task with this MBPP ``task_id``."""
        return self._by_id.get(task_id)

    def match(self, request: Request | str) -> MbppTask | None:
        """The task a request (or prompt text) is about, or None."""
        if isinstance(request, Request):
            user, everything = request.user_text, request.prompt_text
        else:
            user = everything = request
        for text in (user, everything):
            names = _DEF_RE.findall(text)
            for line in _ASSERT_LINE_RE.findall(text):
                names.extend(_CALL_RE.findall(line))
            for name in names:
                if name in self._by_name:
                    return self.task_for(name, everything)
        return None

    def variants(self, task: MbppTask) -> dict[str, str]:
        """Cached ``variants(task)``."""
        with self._lock:
            cached = self._variants.get(task.task_id)
        if cached is None:
            cached = variants(task)
            with self._lock:
                self._variants[task.task_id] = cached
        return cached

    def variant_for(self, sample: int) -> str:
        """The variant kind served for sample number ``sample`` (seed + choice index)."""
        return self.mix[sample % len(self.mix)]

    @property
    def served(self) -> list[Served]:
        """Snapshot of everything answered so far."""
        with self._lock:
            return list(self._served)

    # -- answering -----------------------------------------------------------------------------

    def __call__(self, request: Request) -> Reply:
        n = request.n
        base = request.seed
        if base is None:
            key = json.dumps(
                {k: v for k, v in request.body.items() if k != "seed"}, sort_keys=True, default=str
            )
            with self._lock:
                base = self._counts.get(key, 0)
                self._counts[key] = base + n
        task = self.match(request)
        table = self.variants(task) if task is not None else None
        replies: list[str] = []
        log: list[Served] = []
        for i in range(n):
            if table is None or task is None:
                replies.append(_UNKNOWN_REPLY)
                log.append(Served(request.index, i, None, "unknown"))
            else:
                kind = self.variant_for(base + i)
                replies.append(table[kind])
                log.append(Served(request.index, i, task.task_id, kind))
        with self._lock:
            self._served.extend(log)
        return replies


# ---------------------------------------------------------------------------------------------
# A model that mutates what it is shown (optimising runs)
# ---------------------------------------------------------------------------------------------

_CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


class EvolveResponder:
    """Answers code prompts with a *variant* of the best program the prompt shows.

    An optimising run's prompts list earlier versions worst first (best-shot); the last code
    block before the request is the best one, and the reply mutates it: one numeric constant
    tweaked, or a branch added after the first assignment in a loop (``if <name> < c: x += d``).
    A prompt that shows no program (the first round, or a run without best-shot prompting) gets
    a variant of ``seed_program``. Side requests (edge cases, test cases) get ``[]``.
    Deterministic: the k-th request for a given prompt always gets the same variant.
    """

    def __init__(self, seed_program: str, seed: int = 0) -> None:
        self.seed_program = seed_program
        self.seed = seed
        self.shown: list[str | None] = []
        """The program each code request was answered from (``None``: the seed), in order."""
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        text = request.prompt_text  # every message: a fresh round adds its "(attempt k)" as one
        if "Implement the function" not in text:
            return "[]"
        blocks = _CODE_BLOCK.findall(text)
        best = blocks[-1] if "Earlier versions" in text and len(blocks) > 1 else None
        with self._lock:
            k = self._counts.get(text, 0)
            self._counts[text] = k + request.n
            self.shown.append(best)
        base = best if best is not None else self.seed_program
        replies = []
        for i in range(request.n):
            rng = random.Random(f"{self.seed}:{k + i}:{text}")
            replies.append(_fence(mutate(base, rng)))
        return replies


def mutate(code: str, rng: random.Random) -> str:
    """``code`` with one constant tweaked (two thirds of the time) or a branch added."""
    tree = ast.parse(code)
    constants = [n for n in ast.walk(tree) if isinstance(n, ast.Constant)
                 and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)]
    if constants and rng.random() < 2 / 3:
        node = rng.choice(constants)
        value = float(node.value)
        node.value = round(value + rng.gauss(0.0, max(0.1, abs(value) / 2)), 2)
        return ast.unparse(tree) + "\n"
    for loop in ast.walk(tree):
        if not isinstance(loop, ast.For):
            continue
        for k, stmt in enumerate(loop.body):
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                called = {id(n.func) for n in ast.walk(stmt.value) if isinstance(n, ast.Call)}
                names = sorted({n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name) and id(n) not in called})
                if not names:
                    continue
                target = stmt.targets[0].id
                branch = ast.parse(
                    f"if {rng.choice(names)} < {round(rng.uniform(0, 1), 2)}:\n"
                    f"    {target} += {round(rng.gauss(0, 1), 2)}\n"
                ).body[0]
                loop.body.insert(k + 1, branch)
                return ast.unparse(tree) + "\n"
    return code
