"""What the agent refuses before it forms a new Primary component, on real Galera (issue 12:
nothing lost without a person's explicit say-so), and its status answering while a position
recovery runs.

A start that forms a cluster never runs a recovery of its own: the member's position must
have been confirmed equal to the marked one before (grastate.dat, or a recovery of the same
history). Every refusal changes nothing: the mark stays, grastate.dat is untouched, no server
starts. One module-scoped sandbox of three members; each test leaves it healthy.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from galera import proc
from galera.domain.position import ZERO_UUID
from galera.errors import GaleraError, UnsafeOperation
from tests.helpers import galeractl
from tests.integration.conftest import SandboxHandle, _up
from tests.unit.builders import UUID_B

pytestmark = pytest.mark.cluster
MEMBER = "galera-2"
NEW = ("--start", "new-cluster")


@pytest.fixture(scope="module")
def guards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Three members (ports from 26100); galera-0 started with new-cluster, as always."""
    yield from _up(tmp_path_factory.mktemp("guards"), "--nodes", "3", "--base-port", "26100")


def take_down(handle: SandboxHandle, signame: str) -> None:
    """Stop (TERM: a clean leave) or crash (KILL) MEMBER's server; its agent holds it down."""
    result = galeractl("sandbox", "kill", MEMBER, "--signal", signame, "--dir", str(handle.root))
    assert result.code == 0, result.stderr


def grastate_file(handle: SandboxHandle) -> Path:
    return handle.sandbox.member(MEMBER).datadir / "grastate.dat"


def bring_back(handle: SandboxHandle) -> None:
    """No mark left; MEMBER joins again (through its agent, relaunched if a test ended it)."""
    sandbox = handle.sandbox
    if not sandbox.agent_alive(MEMBER):
        sandbox.state["agent_pids"].pop(MEMBER, None)
        sandbox.save()
        sandbox.launch_agent(MEMBER, "none")
        deadline = time.monotonic() + 30
        while not _answers(handle):
            assert time.monotonic() < deadline, "the relaunched agent does not answer"
            time.sleep(0.2)
    client = handle.sandbox.client(MEMBER, timeout=120)
    if client.status()["process"]["state"] != "stopped":  # a failed test started it
        client.stop()
    client.unmark()
    client.start("join")
    handle.wait_synced(timeout=180)


def _answers(handle: SandboxHandle) -> bool:
    try:
        handle.sandbox.client(MEMBER).live()
    except GaleraError:
        return False
    return True


def assert_unchanged(handle: SandboxHandle, grastate: str, mark: str) -> None:
    """The refusal changed nothing: the mark is still there, grastate.dat as it was, and no
    server runs."""
    status = handle.sandbox.client(MEMBER).status()
    assert (status["process"]["bootstrap_mark"] or {}).get("position") == mark
    assert grastate_file(handle).read_text() == grastate
    assert status["process"]["state"] == "stopped"
    assert handle.sandbox.mariadbd_pid(MEMBER) is None


def test_a_discarded_member_never_forms_a_cluster_whatever_its_recovered_position(
    guards: SandboxHandle,
) -> None:
    """Its grastate.dat says "new member" (a person gave its data up): --wsrep-recover still
    finds a position in its InnoDB files, but that confirms nothing about a history."""
    take_down(guards, "TERM")
    client = guards.sandbox.client(MEMBER, timeout=120)
    client.discard()
    recovered = str(client.recover()["position"])
    client.mark(recovered)
    grastate = grastate_file(guards).read_text()
    assert ZERO_UUID in grastate
    try:
        with pytest.raises(UnsafeOperation, match="position is unknown"):
            client.start("bootstrap")
        assert_unchanged(guards, grastate, recovered)
    finally:
        bring_back(guards)  # by a full SST: its data was given up


def test_a_crashed_member_whose_position_was_not_recovered_keeps_its_mark_and_stays_down(
    guards: SandboxHandle,
) -> None:
    take_down(guards, "KILL")
    client = guards.sandbox.client(MEMBER, timeout=120)
    grastate = grastate_file(guards).read_text()
    assert "seqno:   -1" in grastate
    uuid = guards.status()["members"][0]["cluster_state_uuid"]
    mark = f"{uuid}:1"
    client.mark(mark)
    try:
        with pytest.raises(UnsafeOperation, match="position is unknown") as refused:
            client.start("bootstrap")
        assert "recovers it first" in str(refused.value)
        assert_unchanged(guards, grastate, mark)
    finally:
        bring_back(guards)


def test_a_bootstrap_start_refuses_a_recovered_position_grastate_does_not_confirm(
    guards: SandboxHandle,
) -> None:
    """grastate.dat names another history than the data's recovered position. Before, the
    bootstrap start ran --wsrep-recover again itself, and had that failed it would have
    started --wsrep-new-cluster without any start position: a new history."""
    take_down(guards, "KILL")
    client = guards.sandbox.client(MEMBER, timeout=120)
    original = grastate_file(guards).read_text()
    recovered = str(client.recover()["position"])
    uuid = recovered.rpartition(":")[0]
    edited = original.replace(uuid, UUID_B)
    assert edited != original
    grastate_file(guards).write_text(edited)
    client.mark(recovered)
    try:
        with pytest.raises(UnsafeOperation, match="disagree") as refused:
            client.start("bootstrap")
        assert UUID_B in str(refused.value) and recovered in str(refused.value)
        assert_unchanged(guards, edited, recovered)
    finally:
        grastate_file(guards).write_text(original)
        bring_back(guards)


def test_new_cluster_is_refused_while_another_member_answers_even_if_marked_safe(
    guards: SandboxHandle,
) -> None:
    """The classic hand fix for "It may not be safe to bootstrap" (safe_to_bootstrap: 1 in
    grastate.dat) on a member while the others run: `galeractl agent --start new-cluster`
    would make a second Primary component of the same history. It refuses and exits."""
    sandbox = guards.sandbox
    take_down(guards, "TERM")
    path = grastate_file(guards)
    path.write_text(path.read_text().replace("safe_to_bootstrap: 0", "safe_to_bootstrap: 1"))
    grastate = path.read_text()
    assert "safe_to_bootstrap: 1" in grastate
    agent_pid = sandbox.state["agent_pids"][MEMBER]
    os.kill(agent_pid, signal.SIGTERM)
    _wait_gone(agent_pid)
    home = sandbox.member(MEMBER).home
    first = sandbox.member("galera-0")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "galera", "agent", "--config", str(home / "agent.yaml"), *NEW],
            cwd=home,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0, result.stderr[-2000:]
        last = result.stderr.strip().splitlines()[-1]
        assert "new-cluster refused" in last and "Traceback" not in result.stderr
        assert f"{first.address}:{first.galera_port}" in last and "answer" in last
        assert path.read_text() == grastate
        assert sandbox.mariadbd_pid(MEMBER) is None
    finally:
        bring_back(guards)
    assert len({m["cluster_state_uuid"] for m in guards.status()["members"]}) == 1


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 60
    while proc.alive(pid):
        assert time.monotonic() < deadline, f"process {pid} did not exit"
        time.sleep(0.1)


def states_while(action: Callable[[], Any], handle: SandboxHandle) -> list[str]:
    """Run ``action`` in a thread and read MEMBER's status meanwhile, each read with a
    5-second timeout: the process states seen (a read that waited would fail)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as e:  # reported below
            errors.append(e)

    worker = threading.Thread(target=run)
    worker.start()
    reader = handle.sandbox.client(MEMBER, timeout=5)
    seen = []
    while worker.is_alive():
        seen.append(str(reader.status()["process"]["state"]))
        time.sleep(0.05)
    worker.join()
    assert not errors, errors
    return seen


def test_a_status_read_answers_while_a_recovery_runs(guards: SandboxHandle) -> None:
    take_down(guards, "KILL")
    client = guards.sandbox.client(MEMBER, timeout=120)
    try:
        seen = states_while(client.recover, guards)
        assert "recovering" in seen, seen
    finally:
        bring_back(guards)


def test_a_status_read_answers_while_a_join_start_recovers_its_position_first(
    guards: SandboxHandle,
) -> None:
    """A crashed member's join recovers its position first (so that it joins by IST); the
    recovery no longer holds the supervisor's lock, so its status answers meanwhile."""
    take_down(guards, "KILL")
    client = guards.sandbox.client(MEMBER, timeout=120)
    seen = states_while(lambda: client.start("join"), guards)
    assert "recovering" in seen, seen
    guards.wait_synced(timeout=180)


def test_a_stop_asked_while_a_join_recovers_its_position_is_honoured(
    guards: SandboxHandle,
) -> None:
    take_down(guards, "KILL")
    client = guards.sandbox.client(MEMBER, timeout=120)
    reader = guards.sandbox.client(MEMBER, timeout=5)
    outcome: list[BaseException | None] = []

    def start() -> None:
        try:
            client.start("join")
            outcome.append(None)
        except GaleraError as e:
            outcome.append(e)

    worker = threading.Thread(target=start)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while reader.status()["process"]["state"] != "recovering":
            assert worker.is_alive() and time.monotonic() < deadline, "no recovery seen"
            time.sleep(0.02)
        reader.stop()  # answered at once: the recovery does not hold the lock
        worker.join(120)
        assert isinstance(outcome[0], UnsafeOperation), outcome
        assert "a stop came while the position was recovered" in str(outcome[0])
        assert reader.status()["process"]["desired"] == "stopped"
        assert guards.sandbox.mariadbd_pid(MEMBER) is None
    finally:
        worker.join(120)
        bring_back(guards)
