"""Run the synthesizer in a process of its own, streaming programs as JSON lines.

A separate process keeps its CPU-bound search from holding the GIL of the user's kernel, and
stopping it is a kill. Input (stdin): one ``_protocol.SynthRequest`` line. Output (stdout): one
``_protocol.SynthLine`` per line: ``{"program": src}``, ``{"progress": {...}}``,
``{"unsupported": reason}``, finally ``{"done": true}``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from typing import cast

from ..execute._codec import from_tree
from ..execute._protocol import SynthLine, SynthRequest
from ._synth import SynthProgress, SynthUnsupported, synthesize


def main() -> None:
    request = cast(SynthRequest, json.loads(sys.stdin.readline()))
    examples: list[tuple[tuple[object, ...], object]] = [
        (tuple(from_tree(a)), from_tree(e)) for a, e in request["examples"]  # type: ignore[arg-type]
    ]
    last = [0.0]

    def emit(line: SynthLine) -> None:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    def progress(p: SynthProgress) -> None:
        if time.monotonic() - last[0] >= 0.25:
            last[0] = time.monotonic()
            emit({"progress": asdict(p)})

    try:
        programs = synthesize(
            examples, request["params"], request["name"],
            time_limit=float(request["time_limit"]), max_programs=int(request["max_programs"]),
            on_progress=progress,
        )
        for source in programs:
            emit({"program": source})
    except SynthUnsupported as e:
        emit({"unsupported": str(e)})
    emit({"done": True})


if __name__ == "__main__":
    main()
