"""Candidates from any model litellm can call.

litellm is imported on first use only (it takes seconds, and would fetch a price list from the
network unless ``LITELLM_LOCAL_MODEL_COST_MAP`` is set, which we set unless the user did).

Prompts hold the stub, its docstring, the context and the *visible* tests; hidden tests never
leave the machine. Requests run concurrently up to a limit, spread over the temperatures; rate
limits, server errors and timeouts are retried with backoff; a provider that refuses us (wrong
key, unknown model, unreachable server) ends generation with one :class:`ModelError` that names
the model and the fix. Replies are cached on disk by (model, prompt, sample index, temperature),
so an unchanged search makes no requests the second time. A budget in USD or tokens stops
generation when spent, and says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import tempfile
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._config import SearchConfig
from .._exceptions import ModelError
from .._log import get_logger
from ..spec import Spec

__all__ = ["Budget", "LLMGenerator", "Prompt", "Reply", "ResponseCache", "evolve_prompt", "import_litellm"]

_log = get_logger(__name__)

SYSTEM = (
    "You are an expert Python programmer. Write one complete, correct implementation of the "
    "requested function. Reply with a single ```python code block containing the function and "
    "any imports or helpers it needs. Do not include tests, examples or explanations."
)


_UNAWAITED_LITELLM = r"coroutine '\w+\.acompletion' was never awaited"


def import_litellm() -> Any:
    """Import litellm quietly and without touching the network."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import logging

    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banners on errors
    # litellm.acompletion builds its provider coroutine in an executor thread; a request cancelled
    # meanwhile (Stop, a failed run ending its side requests) drops that coroutine unstarted and
    # Python reports it as never awaited, in red, later. Nothing is lost: the request was cancelled.
    warnings.filterwarnings("ignore", message=_UNAWAITED_LITELLM, category=RuntimeWarning)
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    return litellm


@dataclass(frozen=True)
class Prompt:
    """Messages for one kind of request, and how many samples to draw from it."""

    messages: tuple[tuple[str, str], ...]
    samples: int
    round: int = 1
    parent: int | None = None
    """The candidate a repair prompt shows (``None`` in the first round); the best one shown
    by an evolution prompt."""
    first: int = 0
    """The first sample index to draw (a resumed run drew the ones before)."""
    island: int | None = None
    """The program-database island an evolution prompt shows programs of."""

    def as_messages(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.messages]


def first_prompt(spec: Spec, samples: int) -> Prompt:
    """The round-1 prompt: context, stub and visible tests (never a hidden one)."""
    user = (
        f"Implement the function `{spec.name}` so that the tests pass.\n\n"
        f"```python\n{spec.public_text()}```"
    )
    return Prompt((("system", SYSTEM), ("user", user)), samples)


def repair_prompt(spec: Spec, code: str, failures: list[str], samples: int, round_: int, parent: int) -> Prompt:
    """A later round's prompt: a failing candidate and what went wrong on visible tests."""
    shown = "\n".join(f"- {f}" for f in failures) or "- (no visible test failed; hidden checks did)"
    user = (
        f"Implement the function `{spec.name}` so that the tests pass.\n\n"
        f"```python\n{spec.public_text()}```\n\n"
        f"This attempt is wrong:\n\n```python\n{code}```\n\nWhat went wrong:\n{shown}\n\n"
        "Write a corrected, complete implementation."
    )
    return Prompt((("system", SYSTEM), ("user", user)), samples, round_, parent)


def evolve_prompt(spec: Spec, shown: list[tuple[str, float]], samples: int, round_: int, *,
                  parent: int, island: int, maximize: bool = True) -> Prompt:
    """An optimising round's prompt (best-shot, as FunSearch): earlier programs that pass every
    test, worst first, each with its score; the model is asked for one that scores better than
    the last. ``shown`` is ``(code, score)`` pairs."""
    runtime = spec.score_mode == "runtime"
    better = "faster" if runtime else ("higher" if maximize else "lower")
    versions = "\n\n".join(
        f"Version {k} ({_score_words(value, runtime)}):\n\n```python\n{code.rstrip()}\n```"
        for k, (code, value) in enumerate(shown)
    )
    goal = "the runtime of the benchmark" if runtime else "the score given by the `@score` function"
    user = (
        f"Implement the function `{spec.name}` so that the tests pass, and improve {goal}.\n\n"
        f"```python\n{spec.public_text()}```\n\n"
        f"Earlier versions that pass every test, from worst to best ({better} is better):\n\n{versions}\n\n"
        f"Write version {len(shown)}: a complete implementation that still passes the tests and "
        f"scores {better} than version {len(shown) - 1}. Try a different idea, not only a rewording."
        f" (Round {round_}.)"  # a new request each round, not the cached replies of the last one
    )
    return Prompt((("system", SYSTEM), ("user", user)), samples, round_, parent, island=island)


def _score_words(value: float, runtime: bool) -> str:
    return f"runtime {value * 1000:.3g} ms" if runtime else f"score {value:.6g}"


@dataclass(frozen=True)
class Reply:
    """One completion: its text and what it cost."""

    text: str
    prompt: Prompt
    index: int
    temperature: float
    tokens: int
    cost: float | None
    cached: bool


@dataclass
class Budget:
    """What has been spent, and the limits; shared by every request of a run."""

    max_cost: float | None = None
    max_tokens: int | None = None
    cost: float = 0.0
    tokens: int = 0
    requests: int = 0
    cost_unknown: bool = False

    def exhausted(self) -> str | None:
        """Why no more requests may be made (``None`` while there is budget left)."""
        if self.max_cost is not None and self.cost >= self.max_cost:
            return f"budget reached: ${self.cost:.4f} of ${self.max_cost:g} spent"
        if self.max_tokens is not None and self.tokens >= self.max_tokens:
            return f"budget reached: {self.tokens} of {self.max_tokens} tokens spent"
        return None

    def spend(self, tokens: int, cost: float | None) -> None:
        self.requests += 1
        self.tokens += tokens
        if cost is None:
            self.cost_unknown = True
        else:
            self.cost += cost


class ResponseCache:
    """Model replies on disk, one JSON file per request key. Never holds an API key."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)

    @staticmethod
    def key(model: str, api_base: str | None, prompt: Prompt, index: int, temperature: float, seed: int) -> str:
        blob = json.dumps([model, api_base, prompt.messages, index, temperature, seed], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("text"), str) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a reader never sees half a file, even with runs in parallel.
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(value, f, ensure_ascii=False)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written is only slower


def default_cache_dir() -> Path:
    """``$CODESEARCH_CACHE_DIR`` or the user cache directory."""
    env = os.environ.get("CODESEARCH_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("jupyter-codesearch")) / "llm"


@dataclass
class LLMGenerator:
    """Draws samples for prompts, concurrently, with retries, cache and budget."""

    config: SearchConfig
    budget: Budget
    on_request: Callable[[], None] = lambda: None
    notices: list[str] = field(default_factory=list)
    failed: int = 0

    def __post_init__(self) -> None:
        if not self.config.model:
            raise ModelError(
                "no model configured: pass --model (for example openai/gpt-4o-mini) or set "
                "CODESEARCH_MODEL, with the provider's API key in its usual variable (OPENAI_API_KEY, ...)"
            )
        self.model: str = self.config.model
        self.api_key = self._api_key()
        self.cache = ResponseCache(self.config.cache_dir or default_cache_dir()) if self.config.cache else None
        self._litellm: Any = None
        self.last_error: BaseException | None = None

    def _api_key(self) -> str | None:
        name = self.config.api_key_env
        if not name:
            return None
        key = os.environ.get(name)
        if not key:
            raise ModelError(f"the API key variable {name} (api_key_env) is not set in the environment")
        return key

    def redact(self, text: str) -> str:
        """Remove the API key from text we are about to show (error messages can echo it)."""
        if self.api_key:
            text = text.replace(self.api_key, "***")
            if len(self.api_key) > 8:
                text = text.replace(self.api_key[-6:], "***")
        return text

    async def stream(self, prompts: list[Prompt]) -> AsyncIterator[Reply]:
        """Replies as they arrive. Raises :class:`ModelError` if the provider refuses us."""
        if self._litellm is None:
            self._litellm = await asyncio.to_thread(import_litellm)
        sem = asyncio.Semaphore(self.config.concurrency)
        queue: asyncio.Queue[Reply | BaseException | None] = asyncio.Queue()
        fatal: list[ModelError] = []  # per stream: a failed side request must not end generation
        stopped: list[str] = []
        jobs = [(p, i) for p in prompts for i in range(p.first, p.samples)]
        temps = self.config.temperatures

        async def one(prompt: Prompt, index: int) -> None:
            async with sem:
                if fatal:
                    return
                spent = self.budget.exhausted()
                if spent is not None:
                    stopped.append(spent)
                    return
                temperature = temps[index % len(temps)]
                try:
                    reply = await self._request(prompt, index, temperature)
                except ModelError as e:
                    fatal.append(e)
                    await queue.put(e)
                    return
                if reply is not None:
                    await queue.put(reply)

        async def all_jobs() -> None:
            try:
                await asyncio.gather(*(one(p, i) for p, i in jobs))
            finally:
                await queue.put(None)

        runner = asyncio.create_task(all_jobs())
        failed_before = self.failed
        got = 0
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                got += 1
                yield item
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        last = self.last_error
        if not got and self.failed > failed_before and last is not None:  # nothing ever came back
            raise ModelError(self._explain(last))
        if stopped:
            self.notices.append(stopped[0] + f"; stopped after {self.budget.requests} requests")

    async def _request(self, prompt: Prompt, index: int, temperature: float) -> Reply | None:
        seed = self.config.seed * 100_003 + index
        key = ResponseCache.key(self.model, self.config.api_base, prompt, index, temperature, seed)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return Reply(hit["text"], prompt, index, temperature, int(hit.get("tokens", 0)), hit.get("cost"), True)
        lt = self._litellm
        ex = lt.exceptions
        retryable = (ex.RateLimitError, ex.InternalServerError, ex.ServiceUnavailableError, ex.Timeout,
                     ex.APIConnectionError, ex.BadGatewayError, ex.APIResponseValidationError)
        fatal = (ex.AuthenticationError, ex.NotFoundError, ex.PermissionDeniedError, ex.BadRequestError,
                 ex.PaymentRequiredError, ex.UnsupportedParamsError)
        # Bad requests because of *this* prompt (too long, refused): lose this sample, not the run.
        this_request = (ex.ContextWindowExceededError, ex.ContentPolicyViolationError)
        kwargs = self._arguments(prompt, temperature, seed)
        last: BaseException | None = None
        for attempt in range(self.config.retries + 1):
            if attempt:
                await asyncio.sleep(min(8.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random()))
            self.on_request()
            try:
                resp = await lt.acompletion(**kwargs)
            except this_request as e:
                self.failed += 1
                self.last_error = e
                self.notices.append(f"a request was refused: {type(e).__name__}")
                return None
            except fatal as e:
                raise ModelError(self._explain(e)) from None
            except (*retryable, ex.APIError) as e:  # APIError: other provider errors, worth another try
                last = e
                _log.debug("request %d of sample %d failed (%s): %s", attempt + 1, index, type(e).__name__,
                           self.redact(str(e)))
                continue
            text = _content(resp)
            tokens = _tokens(resp)
            cost = self._cost(resp)
            self.budget.spend(tokens, cost)
            if self.cache is not None:
                self.cache.put(key, {"model": self.model, "text": text, "tokens": tokens, "cost": cost})
            return Reply(text, prompt, index, temperature, tokens, cost, False)
        self.failed += 1
        self.last_error = last
        if last is not None and _unreachable(last, ex):
            raise ModelError(self._explain(last)) from None
        return None

    def _arguments(self, prompt: Prompt, temperature: float, seed: int) -> dict[str, Any]:
        """litellm's keyword arguments for one request."""
        kwargs: dict[str, Any] = {
            "model": self.model, "messages": prompt.as_messages(), "temperature": temperature,
            "seed": seed, "timeout": self.config.request_timeout, "num_retries": 0,
            # Providers differ: Anthropic takes no seed, o-series models only temperature 1.
            # Let litellm leave out what a provider does not take instead of failing.
            "drop_params": True,
        }
        if self.config.api_base:
            kwargs["api_base"] = self.config.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        elif self.config.api_base and self.model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
            # Local OpenAI-compatible servers (vLLM, llama.cpp, ...) take no key, but the
            # client refuses to send a request without one.
            kwargs["api_key"] = "unused"
        return kwargs

    def _cost(self, resp: Any) -> float | None:
        try:
            cost = self._litellm.completion_cost(completion_response=resp)
        except Exception:  # unknown price: cost unknown, not an error
            return None
        return float(cost) if cost is not None else None

    def _explain(self, e: BaseException) -> str:
        lt = self._litellm.exceptions
        where = f" at {self.config.api_base}" if self.config.api_base else ""
        detail = self.redact(str(getattr(e, "message", "") or e)).strip().splitlines()
        short = _clip(detail[0], 300) if detail else type(e).__name__
        keyvar = self.config.api_key_env or "the provider's API key variable (e.g. OPENAI_API_KEY)"
        if isinstance(e, lt.AuthenticationError):
            fix = f"check the key in {keyvar}"
        elif isinstance(e, lt.NotFoundError):
            fix = "check the model name (litellm form: provider/model, e.g. openai/gpt-4o-mini)"
        elif _unreachable(e, lt):
            fix = "check that the server is running and --api-base is right" if where else "check your network"
        elif isinstance(e, lt.PermissionDeniedError):
            fix = f"this key may not use the model; check {keyvar}"
        elif "credentials" in short.lower() or "api_key" in short:
            fix = f"set {keyvar}, or name the variable holding the key with --api-key-env"
        elif "LLM Provider NOT provided" in short:
            fix = "prefix the model with its provider, e.g. openai/gpt-4o-mini or ollama/llama3"
        else:
            fix = "check the model string and options"
        return f"model {self.model}{where} cannot be used: {type(e).__name__}: {short}. Fix: {fix}."


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary and marked as cut."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + " ..."


def _unreachable(e: BaseException | None, ex: Any) -> bool:
    """No connection at all (litellm reports some as InternalServerError "Connection error")."""
    if e is None or isinstance(e, ex.Timeout):
        return False
    return isinstance(e, ex.APIConnectionError) or "Connection error" in str(e)


def _content(resp: Any) -> str:
    try:
        return str(resp.choices[0].message.content or "")
    except (AttributeError, IndexError, TypeError):
        return ""


def _tokens(resp: Any) -> int:
    usage = getattr(resp, "usage", None)
    try:
        return int(getattr(usage, "total_tokens", 0) or 0)
    except (TypeError, ValueError):
        return 0
