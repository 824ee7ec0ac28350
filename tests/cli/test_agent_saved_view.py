"""A Primary view saved by a join that never reached Synced is never re-formed.

A joiner belongs to the Primary component before it holds the component's state; when its
donor leaves cleanly, Galera leaves it alone in a Primary view and saves that view
(``gvwstate.dat``). Started again, pc.recovery would form a Primary component from it at
the joiner's old position, beside the real one. The agent marks a join-mode start until
the member is Synced and removes the saved view before the next start when the mark is
still there; a view saved by a member that was Synced stays for pc.recovery.

The agent here supervises a stand-in for mariadbd (a script that says in the error log
whether it reached Synced, saves a view, and records whether it found one at its start),
so no database is needed; the real case is in tests/integration/test_bootstrap.py.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from galera.agent.supervisor import Supervisor
from galera.domain.grastate import JOIN_UNFINISHED, SAVED_VIEW
from tests.cli.test_agent_recover import supervisor as stand_in_supervisor

# What it found is recorded last: once "seen" says so, the run saved its view and logged.
STAND_IN = """#!/bin/sh
dir={dir}
saved=fresh; [ -e "$dir/data/gvwstate.dat" ] && saved=restored
if [ -e "$dir/synced" ]; then
  echo "[Note] WSREP: Shifting JOINED -> SYNCED (TO: 7)" >> "$dir/err"
else
  echo "[Note] WSREP: Requesting state transfer failed: Not in primary component." >> "$dir/err"
fi
echo "my_uuid: saved by this run" > "$dir/data/gvwstate.dat"
echo $saved >> "$dir/seen"
exec sleep 600
"""


def supervisor(tmp_path: Path) -> Supervisor:
    return stand_in_supervisor(tmp_path, STAND_IN.format(dir=tmp_path), restart="never")


def found(tmp_path: Path) -> list[str]:
    """What each start found: ``restored`` (a saved view) or ``fresh`` (none)."""
    deadline = time.monotonic() + 10
    while True:
        seen = (tmp_path / "seen").read_text().split() if (tmp_path / "seen").exists() else []
        if seen or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)


def run_once(sup: Supervisor, tmp_path: Path) -> None:
    """One join-mode start and a clean stop, once the start recorded what it found."""
    (tmp_path / "seen").unlink(missing_ok=True)
    sup.start("join")
    assert found(tmp_path)
    sup.stop(timeout=5)


def test_a_view_saved_by_a_join_that_never_synced_is_removed_before_the_next_start(
    tmp_path: Path,
) -> None:
    sup = supervisor(tmp_path)
    marker = tmp_path / "data" / JOIN_UNFINISHED
    (tmp_path / "data" / SAVED_VIEW).write_text("my_uuid: saved while Synced\n")
    run_once(sup, tmp_path)
    assert found(tmp_path) == ["restored"]  # no unfinished join before: pc.recovery may use it
    assert marker.exists()  # this join never reached Synced
    run_once(sup, tmp_path)
    assert found(tmp_path) == ["fresh"]  # the view that join saved was removed first


def test_a_view_saved_once_synced_is_kept_for_pc_recovery(tmp_path: Path) -> None:
    (tmp_path / "synced").touch()
    sup = supervisor(tmp_path)
    marker = tmp_path / "data" / JOIN_UNFINISHED
    sup.run_in_background()
    try:
        (tmp_path / "seen").unlink(missing_ok=True)
        sup.start("join")
        deadline = time.monotonic() + 10
        while marker.exists():
            assert time.monotonic() < deadline, "the mark outlived the member reaching Synced"
            time.sleep(0.05)
        sup.stop(timeout=5)
        run_once(sup, tmp_path)
        assert found(tmp_path) == ["restored"]
    finally:
        sup.shutdown()


def test_a_stop_right_after_synced_clears_the_mark(tmp_path: Path) -> None:
    """No turn of the policy loop between Synced and the stop: the exit still reads the
    log's last lines."""
    (tmp_path / "synced").touch()
    sup = supervisor(tmp_path)  # its loop is not running
    run_once(sup, tmp_path)
    assert not (tmp_path / "data" / JOIN_UNFINISHED).exists()
    run_once(sup, tmp_path)
    assert found(tmp_path) == ["restored"]


def test_an_interrupted_state_transfer_counts_as_an_unfinished_join(tmp_path: Path) -> None:
    """A full transfer empties the data directory, the mark with it, but leaves its own
    marker (sst_in_progress) until it completes."""
    sup = supervisor(tmp_path)
    (tmp_path / "data" / SAVED_VIEW).write_text("my_uuid: saved by a joiner\n")
    (tmp_path / "data" / "sst_in_progress").touch()
    run_once(sup, tmp_path)
    assert found(tmp_path) == ["fresh"]


def test_a_start_that_forms_the_cluster_clears_the_mark(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    run_once(sup, tmp_path)  # a join that never reached Synced
    assert (tmp_path / "data" / JOIN_UNFINISHED).exists()
    (tmp_path / "data" / "mysql").mkdir()  # system tables: nothing to install
    (tmp_path / "seen").unlink()
    sup._want_running = True  # what a bootstrap start sets and runs once its checks passed
    sup._spawn("new-cluster", [])
    assert found(tmp_path)
    sup.stop(timeout=5)
    assert not (tmp_path / "data" / JOIN_UNFINISHED).exists()


def test_the_mark_outlives_the_agent(tmp_path: Path) -> None:
    """An agent that dies with its server (a container restart) leaves the mark in the data
    directory: the next agent's first start removes the view that join saved."""
    sup = supervisor(tmp_path)
    sup.start("join")
    assert found(tmp_path) == ["fresh"]
    pid = sup.state()["pid"]
    assert isinstance(pid, int)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert (tmp_path / "data" / SAVED_VIEW).exists()
    again = supervisor(tmp_path)  # a new agent on the same data directory
    run_once(again, tmp_path)
    assert found(tmp_path) == ["fresh"]
