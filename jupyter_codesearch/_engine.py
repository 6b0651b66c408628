"""The engine thread: one asyncio loop, in a daemon thread, that owns all async work.

Sync entry points (``verify``, ``search``, the magic, the CLI) submit coroutines here instead of
calling ``asyncio.run``: inside a notebook a loop is already running in the main thread, and
ipykernel stalls asyncio tasks that outlive a cell. Kernel pools live on this loop and are reused
across calls in one process; they are closed at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from .execute._pool import KernelPool

T = TypeVar("T")
P = ParamSpec("P")

__all__ = ["run_sync", "shared_pool", "shutdown", "synchronous"]

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pools: dict[tuple[Any, ...], asyncio.Future[Any]] = {}


def _ensure_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            _thread = threading.Thread(target=main, name="codesearch-engine", daemon=True)
            _thread.start()
            ready.wait()
            _loop = loop
        return _loop


def in_engine_thread() -> bool:
    """True when called from the engine loop's thread."""
    return _thread is not None and threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Schedule ``coro`` on the engine loop; return a thread-safe future."""
    return asyncio.run_coroutine_threadsafe(coro, _ensure_loop())


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the engine loop and wait for its result (from any other thread)."""
    if in_engine_thread():
        coro.close()
        raise RuntimeError("run_sync() called from the engine thread; await the coroutine instead")
    fut = submit(coro)
    try:
        return fut.result(timeout)
    except BaseException:
        fut.cancel()
        raise


def synchronous(afunc: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The blocking twin of a coroutine function: runs it on the engine loop and waits."""

    @functools.wraps(afunc)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_sync(afunc(*args, **kwargs))

    wrapper.__name__ = wrapper.__qualname__ = afunc.__name__.removeprefix("a")
    return wrapper


async def shared_pool(isolation: Any, workers: int) -> KernelPool:
    """The process-wide kernel pool for these settings, started on first use (engine loop only)."""
    from .execute._pool import KernelPool

    key = (isolation, workers)
    starting: asyncio.Future[Any] | None = _pools.get(key)
    if starting is None:
        # Store the start-up task itself, so concurrent callers share one pool.
        starting = _pools[key] = asyncio.ensure_future(_started(KernelPool(isolation, workers)))
    try:
        pool: KernelPool = await asyncio.shield(starting)
        return pool
    except BaseException:
        if _pools.get(key) is starting and starting.done():
            del _pools[key]  # a failed start is not cached: the next call tries again
        raise


async def _started(pool: KernelPool) -> KernelPool:
    await pool.start()
    return pool


async def _close_all() -> None:
    starting = list(_pools.values())
    _pools.clear()
    results = await asyncio.gather(*starting, return_exceptions=True)
    pools = [p for p in results if not isinstance(p, BaseException)]
    await asyncio.gather(*(p.close() for p in pools), return_exceptions=True)


def shutdown(timeout: float = 30.0) -> None:
    """Close every shared pool (kernels stopped, files removed). Safe to call more than once."""
    loop = _loop
    if loop is None or not loop.is_running() or not _pools:
        return
    try:
        asyncio.run_coroutine_threadsafe(_close_all(), loop).result(timeout)
    except Exception:
        pass


atexit.register(shutdown)
