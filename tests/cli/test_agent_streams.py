"""The agent's streaming endpoints over its real HTTP server (its server not started: a
backup is refused past the token check; a restore needs none): the backup-only token, and
a restore received as a chunked tar stream with its checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from galera.agent import guard
from galera.agent.api import make_handler
from galera.agent.server import Agent
from galera.agent.supervisor import Supervisor
from galera.agent_client import AgentClient
from galera.config.agent import parse
from galera.controller.restore import _tar_chunks
from galera.errors import AccessDenied, InvalidInput, UnsafeOperation
from tests.cli.test_agent_hardening import exchange, local_server
from tests.unit.builders import agent_data

POSITION = "6c2b4d3e-0000-11ef-8000-000000000001:1234"


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[str, Supervisor]]:
    server = local_server(tmp_path)
    (tmp_path / "token").write_text("agent-token\n")
    (tmp_path / "backup-token").write_text("backup-only\n")
    data = agent_data(
        listen="127.0.0.1:1", start="none", server=server, backup_token_file="backup-token"
    )
    config = parse(data, tmp_path / "a.yaml")
    supervisor = Supervisor(config)
    tokens = guard.Tokens(config.token, config.token_source())
    backups = guard.Tokens(config.backup_token, config.backup_token_file)
    handler = make_handler(Agent(config, supervisor), tokens, backups)
    httpd = guard.BoundedServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", supervisor
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_the_backup_token_takes_a_backup_and_nothing_else(
    agent: tuple[str, Supervisor],
) -> None:
    url, _supervisor = agent
    scoped = AgentClient(url, "backup-only", "galera-0")
    with pytest.raises(UnsafeOperation, match="mariadbd is not running: nothing to back up"):
        scoped.backup(lambda _chunk: None)  # past the token: refused for what it is
    for change in (scoped.stop, scoped.reinit, scoped.unmark):
        with pytest.raises(AccessDenied, match="a valid bearer token is required"):
            change()
    with pytest.raises(AccessDenied):
        scoped.restore(POSITION, "b1", check=True)
    with pytest.raises(UnsafeOperation, match="nothing to back up"):  # the agent token too
        AgentClient(url, "agent-token", "galera-0").backup(lambda _chunk: None)


def test_a_restore_is_received_checked_and_never_over_data(
    agent: tuple[str, Supervisor], tmp_path: Path
) -> None:
    url, supervisor = agent
    backup = tmp_path / "backup"
    (backup / "shop").mkdir(parents=True)
    (backup / "ibdata1").write_bytes(b"\1" * 70000)
    (backup / "shop" / "t.ibd").write_bytes(b"rows")
    client = AgentClient(url, "agent-token", "galera-0")
    assert client.restore(POSITION, "b1", check=True)["restored"]["accepted"]
    assert not supervisor.data.datadir.exists()  # a check writes nothing
    with pytest.raises(InvalidInput, match="this agent serves galera-0, not 'galera-1'"):
        AgentClient(url, "agent-token", "galera-1").restore(POSITION, "b1", check=True)
    answer = client.restore(POSITION, "b1", _tar_chunks(backup))["restored"]
    assert (answer["files"], answer["bytes"], answer["position"]) == (2, 70004, POSITION)
    assert (supervisor.data.datadir / "shop" / "t.ibd").read_bytes() == b"rows"
    grastate = client.status()["grastate"]
    assert grastate["seqno"] == 1234 and grastate["restored"]["backup"] == "b1"
    with pytest.raises(UnsafeOperation, match="holds data"):
        client.restore(POSITION, "b2", check=True)
    assert client.reinit()["emptied"]["entries"] >= 3  # emptied again: another may come
    assert client.restore(POSITION, "b2", check=True)["restored"]["accepted"]


def test_a_malformed_chunk_size_is_an_error_not_a_read_of_everything(
    agent: tuple[str, Supervisor],
) -> None:
    url, _supervisor = agent
    port = int(url.rsplit(":", 1)[1])
    raw = (
        b"POST /v1/restore HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer agent-token\r\n"
        b"Transfer-Encoding: chunked\r\nX-Galera-Member: galera-0\r\n"
        b"X-Galera-Position: " + POSITION.encode() + b"\r\n\r\n-1\r\nabc\r\n0\r\n\r\n"
    )
    answer = exchange(port, raw)
    assert answer.startswith("HTTP/1.0 500") or answer.startswith("HTTP/1.1 500"), answer
    assert "not well-formed chunks" in answer
