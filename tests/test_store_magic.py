"""``%search_history``, ``%search_open`` and ``%%search --resume`` in a real IPython shell."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from jupyter_codesearch import SearchRun
from jupyter_codesearch.ui._magic import magics_for
from tests.test_magic import DOUBLE, only_message, run_magic


def line(ip: InteractiveShell, magic: str, text: str = "") -> object:
    with capture_output() as cap:
        ip.run_line_magic(magic, text)
    return cap


def test_history_lists_a_run_and_open_shows_it_again_with_insert_working(ip: InteractiveShell) -> None:
    run_magic(ip, "-n 2", DOUBLE)
    live = ip.user_ns["_search"]
    assert isinstance(live, SearchRun) and live.history_id is not None and live.recorded(5)
    cap = line(ip, "search_history")
    [out] = cap.outputs  # type: ignore[attr-defined]
    assert live.history_id in out.data["text/plain"] and "double" in out.data["text/plain"]
    cap = line(ip, "search_open", f"{live.history_id[:6]} --name past")
    past = ip.user_ns["past"]
    assert isinstance(past, SearchRun) and past.history_id == live.history_id and past.done
    assert [c.code for c in past.ranked()] == [c.code for c in live.ranked()]
    assert past.best is not None and past.best.code in cap.stdout  # type: ignore[attr-defined]
    magics = magics_for(ip)
    assert magics is not None and magics.candidate_code("") == past.best.code  # %search_insert: the opened run


def test_resume_of_a_finished_run_asks_for_nothing_more(ip: InteractiveShell) -> None:
    run_magic(ip, "-n 2", DOUBLE)
    first = ip.user_ns["_search"]
    assert first.history_id is not None and first.recorded(5)
    run_magic(ip, f"--resume {first.history_id}", "# the same spec\n")  # IPython refuses an empty cell
    again = ip.user_ns["_search"]
    assert again is not first and again.history_id == first.history_id and again.error is None
    assert again.progress.generated == first.progress.generated
    assert [c.code for c in again.candidates] == [c.code for c in first.candidates]


@pytest.mark.parametrize("magic, text, message", [
    ("search_open", "", "%search_open takes one run id"),
    ("search_open", "abc123", "no run abc123 in the search history"),
    ("search_history", "ten", "%search_history takes how many runs to list"),
])
def test_bad_history_input_is_one_message(ip: InteractiveShell, magic: str, text: str, message: str) -> None:
    assert message in only_message(line(ip, magic, text))


def test_resume_of_an_unknown_run_is_one_message(ip: InteractiveShell) -> None:
    assert "no run 0123ab in the search history" in only_message(run_magic(ip, "--resume 0123ab", "\n"))


def test_with_history_off_the_history_magics_say_so(ip: InteractiveShell) -> None:
    ip.run_line_magic("search_config", "history=off")
    try:
        assert "history is off" in only_message(line(ip, "search_history"))
    finally:
        ip.run_line_magic("search_config", "--reset")
