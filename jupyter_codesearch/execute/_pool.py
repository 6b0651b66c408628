"""A pool of verification kernels (caller side).

:class:`KernelPool` is the one owner of the kernels' lifecycle: an async context manager whose
``close()`` (always reached through ``finally``) shuts every kernel down, kills whatever did not
go, and removes the private runtime directory. Candidates are queued as jobs; each kernel's
worker takes a batch of queued jobs for one spec, runs it with one ``execute_request``, and reads
the verdicts back as they are published. A kernel that dies or stops answering is restarted; the
candidate it was running is reported as crashed or timed out, and the rest of its batch is
queued again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import queue
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from .._exceptions import SandboxError, SpecError
from .._model import Behaviour, Limits, Status, Verdict
from ..spec import Spec
from ._cgroup import limit_processes, release, sweep_stale
from ._isolation import Isolation
from ._loaded import CONTEXT_S
from ._payload import spec_payload
from ._protocol import (
    MIME,
    BatchPayload,
    KernelConfig,
    Op,
    ProbeBatchPayload,
    ProbeReport,
    Published,
    VerdictReport,
)
from ._ship import REMOTE_PACKAGE, bootstrap
from ._verdict import behaviour_from_report, verdict_from_report

__all__ = ["KernelPool"]

_BATCH = 256
_UIDS = itertools.count()
_START_TIMEOUT = 120.0

ZYGOTE_MODULES = ("_protocol", "_codec_data", "_codec_frames", "_codec", "_scratch", "_sandbox")
"""Shipped into the zygote, in import order (each imports only those before it)."""
KERNEL_MODULES = (
    "_protocol", "_codec_data", "_codec_frames", "_codec", "_shown", "_channel", "_zygote", "_instrument", "_candidate",
    "_loaded", "_score", "_tests", "_probing", "_evaluator",
)
"""Shipped into the kernel, in import order (each imports only those before it)."""


@dataclass
class _Job:
    spec: Spec
    index: int
    source: str
    limits: Limits
    future: asyncio.Future[Any]
    probes: tuple[Any, ...] | None = None
    """Probe inputs (argument trees): run the candidate on them instead of the tests."""
    urgent: bool = False
    """A probe that goes before waiting verifications (the ranking shown depends on it)."""
    uid: int = field(default_factory=lambda: next(_UIDS))
    """Pool-wide job number: callers number their candidates from 0 each, so theirs can clash."""

    def batch_key(self) -> tuple[object, ...]:
        return (self.spec.key, self.limits, id(self.probes) if self.probes is not None else None)


@dataclass
class _Queue:
    """Jobs waiting for a kernel. Verification comes before probing: a verdict is what the
    user waits for; probes only refine the order of candidates that already pass, except an
    urgent probe, which decides what is ranked first and goes before both."""

    verify: deque[_Job] = field(default_factory=deque)
    probe: deque[_Job] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def jobs(self) -> deque[_Job]:
        return self.verify or self.probe

    def put(self, job: _Job) -> None:
        if job.urgent:
            self.verify.appendleft(job)
        else:
            (self.probe if job.probes is not None else self.verify).append(job)
        self.ready.set()

    async def take(self, workers: int) -> list[_Job]:
        while not self.jobs:
            self.ready.clear()
            await self.ready.wait()
        jobs = self.jobs
        # A fair share, not everything queued: a batch runs on one kernel, and slow candidates
        # in one batch would wait while the other kernels idle. Big queues still make big
        # batches, which is where the per-batch cost matters.
        size = min(_BATCH, -(-len(jobs) // workers))
        first = jobs.popleft()
        batch = [first]
        while jobs and len(batch) < size:
            if jobs[0].batch_key() != first.batch_key():
                break
            batch.append(jobs.popleft())
        return batch


class _Kernel:
    """One verification kernel and its client."""

    def __init__(self, pool: KernelPool, number: int) -> None:
        self.pool = pool
        self.number = number
        self.km: Any = None
        self.kc: Any = None
        self.cgroup: str | None = None
        self.loaded: set[str] = set()

    async def start(self) -> None:
        from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
        from jupyter_client.manager import AsyncKernelManager

        iso = self.pool.isolation
        runtime = self.pool.runtime_dir
        argv = [
            *iso.kernel_prefix(runtime),
            iso.python, "-I", "-m", "ipykernel_launcher", "-f", "{connection_file}",
            "--HistoryManager.enabled=False", "--IPKernelApp.quiet=True",
        ]
        if iso.sandboxed:
            # In its own PID namespace the kernel's parent is PID 1, which ipykernel reads as
            # "my parent exited". bwrap --die-with-parent ties its life to ours instead.
            argv.append("--IPKernelApp.parent_handle=1")
        kspec = KernelSpec(argv=argv, display_name="codesearch verifier", language="python")

        class _OneSpec(KernelSpecManager):
            def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
                return kspec

        home = "/tmp/home" if iso.sandboxed else os.path.join(runtime, f"home-{self.number}")
        os.makedirs(home, exist_ok=True) if not iso.sandboxed else None
        self.km = AsyncKernelManager(
            kernel_name="codesearch",
            kernel_spec_manager=_OneSpec(),
            transport="ipc",
            connection_file=os.path.join(runtime, f"k{self.number}-{os.getpid()}.json"),
        )
        env = iso.kernel_env(home, runtime)
        try:
            await self.km.start_kernel(env=env, cwd=runtime)
        except (OSError, RuntimeError) as e:
            raise SandboxError(
                f"could not start a verification kernel with {iso.python}: {e}. Check that this "
                "interpreter exists and has ipykernel installed."
            ) from None
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            await self.kc.wait_for_ready(timeout=_START_TIMEOUT)
        except RuntimeError as e:
            raise SandboxError(f"a verification kernel did not start: {e}") from None
        process = getattr(self.km.provisioner, "process", None)
        if iso.sandboxed and process is not None:  # the rlimit does not hold for root: a cgroup
            self.cgroup = limit_processes(process.pid, f"k{self.number}-{process.pid}")
        cfg: KernelConfig = {
            "python": iso.python,
            "zygote_prefix": iso.zygote_prefix(),
            "zygote_env": iso.kernel_env("/tmp/home" if iso.sandboxed else home, "/nonexistent"),
            "zygote_boot": zygote_boot(),
            "tmp": "/tmp" if iso.sandboxed else home,
            "context_timeout": CONTEXT_S,
            "cpu": _core_for(self.number),
        }
        code = bootstrap(KERNEL_MODULES, f"__cs__ = {REMOTE_PACKAGE}._evaluator.Evaluator({cfg!r})")
        await self.execute(code, lambda _: None, timeout=_START_TIMEOUT)
        self.loaded.clear()

    async def stop(self) -> None:
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
        if self.km is not None:
            try:
                await asyncio.wait_for(self.km.shutdown_kernel(now=True), 20)
            except Exception:
                with contextlib.suppress(Exception):
                    await self.km.kill_kernel()
            with contextlib.suppress(Exception):
                await self.km.cleanup_resources()
        release(self.cgroup)
        self.km = self.kc = self.cgroup = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def execute(
        self,
        code: str,
        on_report: Callable[[Any], None],
        timeout: float,
        progress_timeout: float | None = None,
    ) -> None:
        """Run ``code``; pass each published verdict to ``on_report``.

        Raises :class:`TimeoutError` when nothing arrives for ``progress_timeout`` seconds (or the
        whole thing takes longer than ``timeout``), and :class:`SandboxError` when the kernel
        dies or the code raises.
        """
        kc = self.kc
        msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        started = last = time.monotonic()
        error: str | None = None
        spec_error: str | None = None
        while True:
            now = time.monotonic()
            if now - started > timeout or (progress_timeout and now - last > progress_timeout):
                raise TimeoutError
            try:
                msg = await kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                if not await self.km.is_alive():
                    raise SandboxError("the verification kernel died") from None
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            content = msg["content"]
            if kind == "display_data" and MIME in content.get("data", {}):
                last = time.monotonic()
                data: Published = json.loads(content["data"][MIME])
                if "spec_error" in data:
                    spec_error = data["spec_error"]
                for report in data.get("verdicts", data.get("probes", [])):
                    on_report(report)
            elif kind == "error":
                error = f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        with contextlib.suppress(queue.Empty):
            await kc.get_shell_msg(timeout=5)
        if spec_error is not None:
            raise SpecError(f"the spec cannot be run: {spec_error}")
        if error is not None:
            raise SandboxError(f"verification kernel error: {error}")


class KernelPool:
    """Verification kernels, started on entry and always cleaned up on exit.

    Use as ``async with KernelPool(isolation, workers=2) as pool: await pool.verify(...)``.
    """

    def __init__(self, isolation: Isolation, workers: int) -> None:
        self.isolation = isolation
        self.workers = max(1, workers)
        self.runtime_dir = ""
        self._kernels: list[_Kernel] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._queue = _Queue()
        self._started = False
        self.started_in: float | None = None

    async def __aenter__(self) -> KernelPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start every kernel (concurrently). On failure, nothing is left running."""
        if self._started:
            return
        t0 = time.monotonic()
        _sweep_stale_runtime_dirs()
        sweep_stale()
        # Short, private (0700) and outside the user's directories: IPC socket paths live here.
        # The owner's pid in the name lets a later pool clean up after one that was killed.
        self.runtime_dir = tempfile.mkdtemp(prefix=f"codesearch-{os.getpid()}-")
        self._kernels = [_Kernel(self, i) for i in range(self.workers)]
        try:
            await asyncio.gather(*(k.start() for k in self._kernels))
        except BaseException:
            await self.close()
            raise
        self._tasks = [asyncio.create_task(self._work(k)) for k in self._kernels]
        self._started = True
        self.started_in = time.monotonic() - t0

    async def close(self) -> None:
        """Stop all kernels and remove every file the pool created."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        self._tasks = []
        await asyncio.gather(*(k.stop() for k in self._kernels), return_exceptions=True)
        self._kernels = []
        for waiting in (self._queue.verify, self._queue.probe):
            while waiting:
                job = waiting.popleft()
                if not job.future.done():
                    job.future.set_exception(SandboxError("the verification pool was closed"))
        if self.runtime_dir:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            self.runtime_dir = ""
        self._started = False

    def submit(self, spec: Spec, index: int, source: str, limits: Limits) -> asyncio.Future[Verdict]:
        """Queue one candidate; the future resolves to its verdict."""
        if not self._started:
            raise SandboxError("the verification pool is not running")
        fut: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        self._queue.put(_Job(spec, index, source, limits, fut))
        return fut

    def submit_probes(
        self, spec: Spec, index: int, source: str, probes: tuple[Any, ...], limits: Limits, urgent: bool = False
    ) -> asyncio.Future[tuple[Behaviour, ...]]:
        """Queue a run of one candidate on probe inputs (argument-list trees, plain data).

        The future resolves to one :class:`Behaviour` per probe. Pass the same ``probes`` object for every
        candidate of a run so their jobs can share batches.
        """
        if not self._started:
            raise SandboxError("the verification pool is not running")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put(_Job(spec, index, source, limits, fut, probes, urgent))
        return fut

    async def verify(
        self,
        spec: Spec,
        sources: list[str],
        limits: Limits,
        on_verdict: Callable[[Verdict], None] | None = None,
    ) -> list[Verdict]:
        """Verify every source; verdicts in input order, ``on_verdict`` as each one arrives."""
        futures = [self.submit(spec, i, s, limits) for i, s in enumerate(sources)]
        if on_verdict is not None:
            for fut in futures:
                fut.add_done_callback(lambda f: f.cancelled() or f.exception() or on_verdict(f.result()))
        try:
            return list(await asyncio.gather(*futures))
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise

    async def _work(self, kernel: _Kernel) -> None:
        while True:
            batch = await self._queue.take(self.workers)
            batch = [j for j in batch if not j.future.done()]  # cancelled while queued
            if not batch:
                continue
            try:
                if kernel.kc is None:  # a restart failed earlier: try again before giving up
                    await kernel.start()
                await self._run_batch(kernel, batch)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # never let a worker die with jobs waiting on it
                error = e if isinstance(e, SandboxError) else SandboxError(f"verification failed: {e}")
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(error)

    async def _run_batch(self, kernel: _Kernel, batch: list[_Job]) -> None:
        spec, limits = batch[0].spec, batch[0].limits
        pending = {job.uid: job for job in batch}
        order = [job.uid for job in batch]

        probes = batch[0].probes
        tests = {t.line: (t.source, t.hidden) for t in spec.tests}

        def on_report(report: VerdictReport | ProbeReport) -> None:
            job = pending.pop(int(report["index"]), None)
            if job is not None and not job.future.done():
                if probes is None:
                    verdict = verdict_from_report(cast(VerdictReport, report), tests)
                    job.future.set_result(replace(verdict, index=job.index))
                else:
                    behaviours = cast(ProbeReport, report)["behaviours"]
                    job.future.set_result(tuple(behaviour_from_report(b) for b in behaviours))

        try:
            if spec.key not in kernel.loaded:
                load = json.dumps(spec_payload(spec))
                await kernel.execute(
                    f"__cs__.{Op.LOAD_SPEC}({load!r}, {limits.timeout!r})", on_report,
                    timeout=CONTEXT_S + limits.timeout + 30,
                )
                kernel.loaded.add(spec.key)
            payload, method = _batch_payload(spec, batch, limits, probes)
            # Each candidate reports within its timeout (the evaluator enforces it); allow
            # generous slack for start-up of a fresh zygote before declaring the kernel stuck.
            await kernel.execute(
                f"__cs__.{method}({payload!r})", on_report,
                timeout=len(batch) * (limits.timeout + 5) + 60,
                progress_timeout=limits.timeout + 30,
            )
        except SpecError as e:  # the spec's own code cannot run: nobody's verdict, the caller's error
            for job in pending.values():
                if not job.future.done():
                    job.future.set_exception(e)
            return
        except (TimeoutError, SandboxError) as e:
            # The candidate in flight is the first one without a verdict; it pays for the loss.
            in_flight = next((i for i in order if i in pending), None)
            if in_flight is not None:
                _lost(pending.pop(in_flight), e)
            try:
                await kernel.restart()
            except Exception as err:  # cannot restart: fail what is left rather than hang
                for job in pending.values():
                    if not job.future.done():
                        job.future.set_exception(SandboxError(f"verification kernel restart failed: {err}"))
                return
        except asyncio.CancelledError:
            for job in pending.values():
                if not job.future.done():
                    job.future.cancel()
            raise
        for index in order:  # not reported: back in the queue, in order
            unreported = pending.get(index)
            if unreported is not None and not unreported.future.done():
                self._queue.put(unreported)


def _lost(job: _Job, e: Exception) -> None:
    """The job whose kernel was lost under it: a timeout or a crash, for every probe too."""
    if job.future.done():
        return
    timed_out = isinstance(e, TimeoutError)
    if job.probes is None:
        status: Status = "timeout" if timed_out else "crashed"
        job.future.set_result(Verdict.lost(job.index, status, f"the verification kernel was lost ({e})"))
    else:
        job.future.set_result((Behaviour("timeout" if timed_out else "crashed"),) * len(job.probes))


def _core_for(number: int) -> int | None:
    """The core kernel ``number`` keeps to: kernels spread over the cores this process may use."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    return cores[number % len(cores)] if cores else None


def _sweep_stale_runtime_dirs() -> None:
    """Remove runtime dirs of pools whose process is gone (killed before it could clean up)."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        parts = name.split("-")
        if len(parts) != 3 or parts[0] != "codesearch" or not parts[1].isdigit():
            continue
        path = os.path.join(base, name)
        try:
            if os.stat(path).st_uid != os.getuid():
                continue
            os.kill(int(parts[1]), 0)  # still alive (or not ours to signal): leave it
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def zygote_boot() -> str:
    """Python source that starts a zygote: installs its modules, serves the fd in ``argv[1]``."""
    return bootstrap(
        ZYGOTE_MODULES,
        f"import sys\nfrom {REMOTE_PACKAGE}._sandbox import zygote_main\nzygote_main(int(sys.argv[1]))",
    )


def _batch_payload(spec: Spec, batch: list[_Job], limits: Limits, probes: tuple[Any, ...] | None) -> tuple[str, Op]:
    """The JSON payload of one batch and the Evaluator method that takes it."""
    verify: BatchPayload = {
        "key": spec.key,
        "candidates": [{"index": j.uid, "source": j.source} for j in batch],
        "limits": {"timeout": limits.timeout, "memory_mb": limits.memory_mb},
    }
    if probes is None:
        return json.dumps(verify), Op.RUN_BATCH
    probe: ProbeBatchPayload = {**verify, "probes": list(probes)}
    return json.dumps(probe), Op.RUN_PROBES
