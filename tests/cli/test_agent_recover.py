"""Looking changes nothing: a position recovery leaves what the member was asked to be.

A dry run or a refused decision recovers the positions of crashed members; before, that
turned the agent's restart off and held them down. The agent here supervises a stand-in
for mariadbd (a script: a server that sleeps, or with --wsrep-recover one that prints the
recovered position), so no database is needed."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

from galera.agent.supervisor import Supervisor
from galera.config.agent import parse
from tests.unit.builders import UUID_A, agent_data

STAND_IN = f"""#!/bin/sh
case "$*" in
  *--wsrep-recover*) echo "[Note] WSREP: Recovered position: {UUID_A}:42"; exit 0 ;;
  *) exec sleep 600 ;;
esac
"""


def supervisor(tmp_path: Path, stand_in: str = STAND_IN, restart: str = "always") -> Supervisor:
    """An agent's supervisor whose mariadbd is the script ``stand_in``, in ``tmp_path``."""
    script = tmp_path / "mariadbd"
    script.write_text(stand_in)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "token").write_text("t\n")
    (tmp_path / "data").mkdir(exist_ok=True)
    server = {
        **agent_data()["server"],
        "datadir": str(tmp_path / "data"),
        "log_error": str(tmp_path / "err"),
        "socket": str(tmp_path / "sock"),
        "pid_file": str(tmp_path / "pid"),
    }
    data = agent_data(listen="127.0.0.1:1", start="none", restart=restart, server=server)
    data["mariadbd"] = str(script)
    return Supervisor(parse(data, tmp_path / "a.yaml"))


def test_a_recovery_leaves_a_crashed_member_wanting_to_run(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    sup.start("join")
    pid = sup.state()["pid"]
    assert isinstance(pid, int)
    os.kill(pid, signal.SIGKILL)  # a crash: the agent still wants it running
    os.waitpid(pid, 0)
    position = sup.recover()
    assert str(position) == f"{UUID_A}:42"
    assert sup.state()["desired"] == "running"  # the restart policy will start it again


def test_a_recovery_leaves_a_stopped_member_stopped(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    sup.start("join")
    sup.stop(timeout=5)
    sup.recover()
    assert sup.state()["desired"] == "stopped"


def test_a_discard_makes_the_next_join_a_full_sst_and_keeps_the_old_file(tmp_path: Path) -> None:
    import pytest

    from galera.errors import UnsafeOperation

    sup = supervisor(tmp_path)
    old = (
        f"# GALERA saved state\nversion: 2.1\nuuid:    {UUID_A}\nseqno:   321\n"
        "safe_to_bootstrap: 0\n"
    )
    (tmp_path / "data" / "grastate.dat").write_text(old)
    sup.start("join")
    with pytest.raises(UnsafeOperation, match="running"):
        sup.discard()  # never under a running server
    sup.stop(timeout=5)
    assert str(sup.discard()) == f"{UUID_A}:321"
    state = sup.data.grastate()
    assert state is not None and state.empty  # zero UUID: Galera asks for a full SST
    assert (tmp_path / "data" / "grastate.dat.discarded").read_text() == old
