"""The history with real processes: a kernel killed mid-run, two writers at once, a resume
counted on the fake LLM server."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_codesearch import SearchConfig
from jupyter_codesearch.run import search
from jupyter_codesearch.store import open_store
from jupyter_codesearch.store._read import list_runs, load_run
from tests.support.fake_llm import FakeLLM
from tests.test_search_seams import SPEC, FakeVerifier

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


# A display in the kernel, as the widget does it: read the run, wait for the history, show.
KERNEL_CODE = '''
import threading, time
from jupyter_codesearch import SearchConfig
from jupyter_codesearch.run import search
from tests.test_search_seams import RIGHT, SPEC, FakeSource, FakeVerifier
texts = [f"def inc(x):\\n    return x + {{i % 2}} + 0 * {{i}}\\n" for i in range(5000)]
run = search(SPEC, SearchConfig(history={history!r}, n=5000, confident=False, cluster=False),
             source=FakeSource({{1: texts}}, delay=0.005), verifier=FakeVerifier(), wait=False)
print("RUN", run.history_id, flush=True)
while not run.done:
    seen = [c.id for c in run.candidates if c.verdict is not None]
    run.recorded()
    print("SHOWN", " ".join(map(str, seen)), flush=True)
    time.sleep(0.05)
'''


def test_a_kernel_killed_mid_run_leaves_every_shown_verdict_in_an_intact_history(tmp_path: Path) -> None:
    from jupyter_client.manager import KernelManager

    history = tmp_path / "h.sqlite"
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(REPO), env={**os.environ, "PYTHONPATH": str(REPO)})
    kc = km.client()
    kc.start_channels()
    shown: set[int] = set()
    run_id = None
    try:
        kc.wait_for_ready(timeout=60)
        msg_id = kc.execute(KERNEL_CODE.format(history=str(history)))
        deadline = time.monotonic() + 60
        while len(shown) < 200 and time.monotonic() < deadline:
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "error":
                pytest.fail("\n".join(msg["content"]["traceback"]))
            for line in msg["content"].get("text", "").splitlines() if msg["msg_type"] == "stream" else []:
                word, _, rest = line.partition(" ")
                if word == "RUN":
                    run_id = rest.strip()
                elif word == "SHOWN":
                    shown |= {int(x) for x in rest.split()}
        assert len(shown) >= 200 and run_id, "the run did not get going in the kernel"
        os.kill(km.provisioner.pid, signal.SIGKILL)  # type: ignore[union-attr]
        time.sleep(0.5)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert _integrity(history) == "ok"
    store = open_store(history)
    past = load_run(store, run_id)
    judged = {c.id for c in past.candidates if c.verdict is not None}
    assert shown <= judged, f"{len(shown - judged)} shown verdicts missing"
    assert past.summary["status"] == "running"  # it never ended: `show` says it can be resumed
    from jupyter_codesearch.run._past import restored

    again = restored(past)
    assert again.progress.state == "stopped" and any("--resume" in n for n in again.notices)


WRITER = '''
import sys
from jupyter_codesearch import SearchConfig
from jupyter_codesearch.run import search
from tests.test_search_seams import SPEC, FakeSource, FakeVerifier
tag, history, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
import time
time.sleep(max(0.0, start - time.time()))  # both processes begin writing at the same moment
texts = [f"def inc(x):\\n    return x + {i % 2} - {i} + {i} + 0 * {len(tag)}\\n" for i in range(1000)]
run = search(SPEC, SearchConfig(history=history, n=1000, confident=False, cluster=False, seed=len(tag)),
             source=FakeSource({1: texts}), verifier=FakeVerifier(), wait=False).wait(120)
assert run.recorded(60)
print(run.history_id, run.progress.verified)
'''


def test_two_processes_recording_at_once_lose_nothing(tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite"
    start = time.time() + 3  # time for both interpreters to import
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, tag, str(history), str(start)], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for tag in ("a", "bb")]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err.lower() and "busy" not in err.lower(), err
    ids = {out.split()[0] for out, _ in outs}
    store = open_store(history)
    runs = {r["id"]: r for r in list_runs(store)}
    assert set(runs) == ids
    with store.read() as conn:
        for run_id in ids:
            counts = [conn.execute(f"SELECT count(*) FROM {t} WHERE run_id = ?", (run_id,)).fetchone()[0]
                      for t in ("candidates", "verdicts", "test_results")]
            assert counts == [1000, 1000, 2000], (run_id, counts)
            assert runs[run_id]["status"] == "done" and runs[run_id]["verified"] == 1000
    assert _integrity(history) == "ok"


INC = "```python\ndef inc(x):\n    return x + {k}\n```"


def test_resume_after_a_stop_makes_only_the_missing_requests(tmp_path: Path) -> None:
    history = str(tmp_path / "h.sqlite")
    options = dict(model="openai/gpt-4o-mini", n=8, concurrency=1, cluster=False, confident=False, cache=False,
                   history=history, timeout=5.0)
    # Sample i (its seed) gets program i: what a resumed run draws is told apart by its reply.
    with FakeLLM(lambda req: INC.format(k=(req.seed or 0) + 1), latency=0.15) as fake:
        run = search(SPEC, SearchConfig(api_base=fake.url, **options), verifier=FakeVerifier(), wait=False)
        deadline = time.monotonic() + 30
        while run.progress.generated < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        run.stop()
        run.wait(10)
        assert run.progress.state == "stopped" and run.recorded(10)
        first = len(fake.completion_requests)
        drawn = run.progress.generated
        assert 3 <= drawn < 8
        verifier = FakeVerifier()
        again = search("", SearchConfig(api_base=fake.url, **options), verifier=verifier, resume=run.history_id,
                       wait=False).wait(60)
        assert again.recorded(10) and again.error is None
        resumed = fake.completion_requests[first:]
    # A request in flight at the stop was made but its reply never taken: it is asked again.
    assert len(resumed) == 8 - drawn
    assert again.progress.generated == 8 and len(again.candidates) == 8
    assert len(verifier.verified) == 8 - drawn  # what the first run judged is not judged again
    assert sorted(r.seed or 0 for r in resumed) == list(range(drawn, 8))  # the samples not drawn, not again the first
    [summary] = list_runs(open_store(Path(history)))
    assert summary["status"] == "done" and summary["candidates"] == 8
