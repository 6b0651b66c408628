"""The trusted side's end of a candidate's channel, over a socket pair and a pipe (no kernel)."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator

import pytest

from jupyter_codesearch.execute._channel import Abort, Channel
from jupyter_codesearch.execute._protocol import Size

Ends = tuple[Channel, socket.socket, int]


@pytest.fixture
def ends() -> Iterator[Ends]:
    """The channel, the candidate's end of its socket, and the write end of its output pipe."""
    ours, theirs = socket.socketpair()
    out_r, out_w = os.pipe()
    chan = Channel(ours.detach(), out_r)
    yield chan, theirs, out_w
    chan.close()
    theirs.close()
    os.close(out_w)


def frame(obj: object) -> bytes:
    data = json.dumps(obj).encode()
    return len(data).to_bytes(4, "big") + data


def soon(seconds: float = 2.0) -> float:
    return time.monotonic() + seconds


def test_frames_arrive_as_messages_even_split_or_bunched(ends: Ends) -> None:
    chan, theirs, _ = ends
    both = frame({"value": 1, "t": 0.5}) + frame({"value": ["L", 2]})
    theirs.sendall(both[:3])
    theirs.sendall(both[3:])
    assert chan.recv(soon()) == {"value": 1, "t": 0.5}
    assert chan.recv(soon()) == {"value": ["L", 2]}


def test_what_the_trusted_side_sends_is_one_frame(ends: Ends) -> None:
    chan, theirs, _ = ends
    chan.send({"op": "call", "args": ["L", 1]}, soon())
    head = theirs.recv(4)
    body = theirs.recv(int.from_bytes(head, "big"))
    assert json.loads(body) == {"op": "call", "args": ["L", 1]}


def test_a_closed_socket_is_none_not_an_error(ends: Ends) -> None:
    chan, theirs, _ = ends
    theirs.sendall(frame({"ready": True}))
    theirs.close()
    assert chan.recv(soon()) == {"ready": True}
    assert chan.recv(soon()) is None
    chan.send({"op": "call"}, soon())  # to a dead candidate: noted, not raised
    assert chan.eof


def test_silence_past_the_deadline_is_a_timeout(ends: Ends) -> None:
    chan, _, _ = ends
    start = time.monotonic()
    with pytest.raises(Abort) as e:
        chan.recv(soon(0.2))
    assert e.value.status == "timeout" and 0.15 < time.monotonic() - start < 1.5


@pytest.mark.parametrize("data", [
    (Size.ANSWERS + 1).to_bytes(4, "big"),    # announces too much
    frame("a string, not an object"),
    (5).to_bytes(4, "big") + b"{nope",
    (2).to_bytes(4, "big") + b"\xff\xfe",
], ids=["oversized", "not-an-object", "malformed", "not-utf8"])
def test_anything_but_a_bounded_json_object_is_unserializable(ends: Ends, data: bytes) -> None:
    chan, theirs, _ = ends
    theirs.sendall(data)
    with pytest.raises(Abort) as e:
        chan.recv(soon())
    assert e.value.status == "unserializable"


def test_output_is_drained_while_waiting_and_kept_only_up_to_its_cap(ends: Ends) -> None:
    chan, theirs, out_w = ends
    printed = b"x" * (Size.OUTPUT_KEPT * 3)
    os.write(out_w, printed)
    theirs.sendall(frame({"value": None}))
    chan.recv(soon())
    chan.drain_output()
    assert chan.output_bytes == len(printed) and bytes(chan.output) == printed[: Size.OUTPUT_KEPT]


def test_the_watch_runs_while_waiting_and_can_end_the_run(ends: Ends) -> None:
    chan, _, _ = ends
    checks = []

    def watch() -> None:
        checks.append(1)
        if len(checks) == 2:
            raise Abort("memory", "too much")

    chan.watch = watch
    with pytest.raises(Abort) as e:
        chan.recv(soon(5))
    assert (e.value.status, e.value.detail, len(checks)) == ("memory", "too much", 2)
