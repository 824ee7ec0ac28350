"""A real three-member Galera sandbox: health, a crashed member, the agent and bad input.

The tests share one module-scoped sandbox and leave it healthy for the next test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from galera import tls
from galera.controller import waiting
from galera.domain import grastate
from tests.helpers import free_port, galeractl, one_line_error
from tests.integration.conftest import SandboxHandle

pytestmark = pytest.mark.cluster


def _ca(handle: SandboxHandle) -> ssl.SSLContext:
    """The sandbox's CA: its agents serve HTTPS (TLS is on by default)."""
    return tls.client_context(tls.Files(handle.root / "tls" / "ca.pem"))


def _agent_get(url: str, context: ssl.SSLContext) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _agent_post(
    url: str, body: dict[str, object], token: str | None, context: ssl.SSLContext
) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_fresh_sandbox_is_healthy_with_one_member_of_margin(sandbox3: SandboxHandle) -> None:
    result = galeractl("status", "-c", str(sandbox3.cluster_file), "-o", "json")
    assert result.code == 0, result.stderr
    report = result.json()
    cluster = report["cluster"]
    assert cluster["verdict"] == "healthy"
    assert cluster["expected_size"] == 3 and cluster["size"] == 3
    assert cluster["quorum_margin"] == {"members": 1, "weight": 1}
    uuids = {m["cluster_state_uuid"] for m in report["members"]}
    assert len(uuids) == 1
    for member in report["members"]:
        assert member["reachable"] is True
        assert member["cluster_status"] == "Primary"
        assert member["local_state"] == 4
        assert member["ready"] is True
        assert member["host"] == "127.0.0.1" and member["port"] > 0
        assert member["last_committed"] >= 0
    assert [m["name"] for m in report["members"]] == ["galera-0", "galera-1", "galera-2"]


def test_list_is_a_member_table_like_patronictls(sandbox3: SandboxHandle) -> None:
    listed = galeractl("-c", str(sandbox3.cluster_file), "list", "-o", "json")
    assert listed.code == 0, listed.stderr
    members = listed.json()["members"]
    assert [m["role"] for m in members] == ["reader", "reader", "reader"]  # no writer chosen
    for m in members:
        assert m["primary"] is True and m["segment"] == 0 and m["weight"] == 1
        assert m["recv_queue"] == 0 and m["local_state_comment"] == "Synced"
    table = galeractl("list", "-c", str(sandbox3.cluster_file)).stdout.splitlines()
    assert table[0] == "cluster sandbox: healthy"
    assert table[1].split() == [
        "MEMBER", "ADDRESS", "ROLE", "STATE", "PRIMARY", "SEQNO", "SEGMENT", "WEIGHT", "RECV",
        "Q", "FC", "PAUSED",
    ]  # fmt: skip
    assert table[2].split()[:5] == [
        "galera-0", members[0]["host"] + f":{members[0]['port']}", "reader", "Synced", "yes",
    ]  # fmt: skip


def test_credentials_are_private_and_never_printed(sandbox3: SandboxHandle) -> None:
    password = sandbox3.spec.credentials().password
    for name in ("client.cnf", "secrets.cnf", "agent.token"):
        mode = stat.S_IMODE((sandbox3.root / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
    outputs = [
        galeractl("status", "-c", str(sandbox3.cluster_file), "-o", "json"),
        galeractl("sandbox", "ls", "--dir", str(sandbox3.root), "-o", "json"),
    ]
    for out in outputs:
        assert password not in out.stdout + out.stderr
    for log in sandbox3.root.glob("members/*/agent.log"):
        assert password not in log.read_text()
    for pid in sandbox3.sandbox.state["agent_pids"].values():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        assert password not in cmdline


def test_quorum_if_down_on_a_healthy_cluster_keeps_quorum(sandbox3: SandboxHandle) -> None:
    result = galeractl(
        "quorum", "-c", str(sandbox3.cluster_file), "--if-down", "galera-1", "-o", "json"
    )
    assert result.code == 0
    answer = result.json()["if_down"]
    assert answer["keeps_quorum"] is True
    assert answer["remaining_weight"] == 2 and answer["previous_weight"] == 3


def test_sigkill_one_member_degrades_with_no_margin(sandbox3: SandboxHandle) -> None:
    result = galeractl("sandbox", "kill", "galera-2", "--dir", str(sandbox3.root))
    assert result.code == 0, result.stderr
    sandbox3.wait(["galera-0"], waiting.primary_of_size(2), "size 2")

    status = galeractl("status", "-c", str(sandbox3.cluster_file), "-o", "json")
    assert status.code == 1
    report = status.json()
    assert report["cluster"]["verdict"] == "degraded"
    assert report["cluster"]["quorum_margin"] == {"members": 0, "weight": 0}
    by_name = {m["name"]: m for m in report["members"]}
    assert by_name["galera-2"]["reachable"] is False
    assert by_name["galera-2"]["agent"]["process"]["state"] == "stopped"
    assert by_name["galera-0"]["cluster_status"] == "Primary"
    assert by_name["galera-1"]["cluster_status"] == "Primary"

    quorum = galeractl(
        "quorum", "-c", str(sandbox3.cluster_file), "--if-down", "galera-0", "-o", "json"
    )
    assert quorum.code == 1
    assert quorum.json()["if_down"]["keeps_quorum"] is False
    assert quorum.json()["if_down"]["keeps_quorum_if_graceful"] is True

    # Told to stay down: the agent must not restart it behind our back.
    time.sleep(3)
    assert sandbox3.sandbox.mariadbd_pid("galera-2") is None
    state = sandbox3.sandbox.client("galera-2").status()["process"]
    assert state["state"] == "stopped" and state["desired"] == "stopped"

    started = galeractl("sandbox", "start", "galera-2", "--dir", str(sandbox3.root))
    assert started.code == 0, started.stderr
    assert galeractl("status", "-c", str(sandbox3.cluster_file)).code == 0


def test_agent_restarts_a_server_that_crashed_by_itself(sandbox3: SandboxHandle) -> None:
    pid = sandbox3.sandbox.mariadbd_pid("galera-1")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = sandbox3.sandbox.client("galera-1").status()["process"]
        if state["restarts"] >= 1 and state["state"] == "running":
            break
        time.sleep(0.5)
    assert state["restarts"] >= 1
    assert state["mode"] == "join"
    sandbox3.wait_synced()


def test_agent_probes_and_token(sandbox3: SandboxHandle) -> None:
    member = sandbox3.sandbox.member("galera-0")
    ca = _ca(sandbox3)
    code, body = _agent_get(member.agent_url + "/health/ready", ca)
    assert code == 200 and body["ready"] is True
    code, body = _agent_get(member.agent_url + "/health/live", ca)
    assert code == 200 and body["live"] is True
    stop = member.agent_url + "/v1/stop"
    assert _agent_post(stop, {}, None, ca) == 401
    assert _agent_post(stop, {}, "not-the-token", ca) == 401
    assert sandbox3.sandbox.mariadbd_pid("galera-0") is not None
    code, body = _agent_get(member.agent_url + "/v1/nope", ca)
    assert code == 404


def test_agent_reports_a_corrupt_grastate_by_file_and_line(sandbox3: SandboxHandle) -> None:
    sandbox = sandbox3.sandbox
    ca = _ca(sandbox3)
    assert (
        galeractl(
            "sandbox", "kill", "galera-1", "--signal", "TERM", "--dir", str(sandbox3.root)
        ).code
        == 0
    )
    path = sandbox.member("galera-1").datadir / "grastate.dat"
    original = path.read_text()
    try:
        path.write_text(original.replace("seqno:", "seqno: x").replace("\nsafe", "\nsafe"))
        code, body = _agent_get(sandbox.member("galera-1").agent_url + "/v1/status", ca)
        assert code == 200
        error = body["grastate"]["error"]
        assert str(path) in error and "line" in error
        code, body = _agent_get(sandbox.member("galera-1").agent_url + "/health/ready", ca)
        assert code == 503 and "not running" in body["reason"]
        refused = galeractl("sandbox", "start", "galera-1", "--dir", str(sandbox3.root))
        assert refused.code == 2
        line = one_line_error(refused)
        assert str(path) in line and "line 4" in line
        assert sandbox.mariadbd_pid("galera-1") is None
        assert "seqno: x" in path.read_text()
    finally:
        path.write_text(original)
    assert galeractl("sandbox", "start", "galera-1", "--dir", str(sandbox3.root)).code == 0


def test_wrong_password_is_one_line_and_exit_2(sandbox3: SandboxHandle, tmp_path: Path) -> None:
    text = sandbox3.cluster_file.read_text().replace("file: client.cnf", "file: wrong.cnf")
    text = text.replace("ca: tls/ca.pem", f"ca: {sandbox3.root / 'tls' / 'ca.pem'}")
    (tmp_path / "cluster.yaml").write_text(text)
    (tmp_path / "wrong.cnf").write_text("[client]\nuser = galeractl\npassword = hunter2\n")
    result = galeractl("status", "-c", str(tmp_path / "cluster.yaml"))
    assert result.code == 2
    line = one_line_error(result)
    assert "refused" in line and "password" in line
    assert "hunter2" not in result.stdout + result.stderr


def test_unreachable_member_is_reported_while_the_rest_is_read(
    sandbox3: SandboxHandle, tmp_path: Path
) -> None:
    nobody = free_port()  # nothing listens there (an ephemeral one could be taken meanwhile)
    data = yaml.safe_load(sandbox3.cluster_file.read_text())
    data["credentials"]["file"] = str(sandbox3.root / "client.cnf")
    data["tls"]["ca"] = str(sandbox3.root / "tls" / "ca.pem")
    data["members"].append({"name": "galera-9", "host": "127.0.0.1", "port": nobody})
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump(data))
    result = galeractl("status", "-c", str(tmp_path / "cluster.yaml"), "-o", "json")
    assert result.code == 1
    report = result.json()
    by_name = {m["name"]: m for m in report["members"]}
    assert by_name["galera-9"]["reachable"] is False
    assert "cannot reach" in by_name["galera-9"]["error"]
    assert all(by_name[f"galera-{i}"]["healthy"] for i in range(3))
    assert report["cluster"]["verdict"] == "degraded"
    assert report["cluster"]["expected_size"] == 4


def test_unknown_member_names_are_refused(sandbox3: SandboxHandle) -> None:
    for args in (
        ["quorum", "-c", str(sandbox3.cluster_file), "--if-down", "galera-7"],
        ["sandbox", "kill", "galera-7", "--dir", str(sandbox3.root)],
        ["sandbox", "start", "galera-7", "--dir", str(sandbox3.root)],
    ):
        result = galeractl(*args)
        assert result.code == 2, args
        assert "unknown member 'galera-7'" in one_line_error(result)


def test_up_on_a_running_sandbox_is_refused_and_changes_nothing(sandbox3: SandboxHandle) -> None:
    before = (sandbox3.root / "sandbox.json").read_text()
    result = galeractl("sandbox", "up", "--dir", str(sandbox3.root), "--base-port", "23300")
    assert result.code != 0
    assert "already holds a running sandbox" in one_line_error(result)
    assert (sandbox3.root / "sandbox.json").read_text() == before
    assert galeractl("status", "-c", str(sandbox3.cluster_file)).code == 0


def test_ports_in_use_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        root = tmp_path / "sb"
        result = galeractl("sandbox", "up", "--dir", str(root), "--base-port", str(port))
    assert result.code == 2
    assert f"port {port} on 127.0.0.1 is in use" in one_line_error(result)
    assert not root.exists()


@pytest.mark.parametrize(("count", "gap"), [(2, 0.0), (2, 0.002), (30, 0.0)], ids=str)
def test_agent_stops_its_server_cleanly_on_repeated_sigterm(
    sandbox3: SandboxHandle, count: int, gap: float
) -> None:
    """SIGTERM twice or in a burst (Ctrl-C twice, a supervisor's escalation): the agent
    stops mariadbd gracefully (a valid grastate seqno) and exits within seconds."""
    for _ in range(3):
        sandbox = sandbox3.sandbox  # reloaded: each round starts a new agent
        member = sandbox.member("galera-2")
        agent = sandbox.state["agent_pids"]["galera-2"]
        server = sandbox.mariadbd_pid("galera-2")
        assert server is not None
        for _ in range(count):
            os.kill(agent, signal.SIGTERM)
            if gap:
                time.sleep(gap)
        deadline = time.monotonic() + 30
        while sandbox.agent_alive("galera-2") or sandbox.mariadbd_pid("galera-2"):
            assert time.monotonic() < deadline, f"agent or mariadbd alive 30 s after {count} TERM"
            time.sleep(0.1)
        state = grastate.parse((member.datadir / "grastate.dat").read_text())
        assert state.seqno >= 0, "mariadbd did not stop gracefully"
        started = galeractl("sandbox", "start", "galera-2", "--dir", str(sandbox3.root))
        assert started.code == 0, started.stderr
        sandbox3.wait_synced()


def test_sql_cannot_read_the_agents_files(sandbox3: SandboxHandle) -> None:
    """secure_file_priv confines LOAD_FILE to an empty directory of the agent's own: even
    root over the socket cannot read the agent token or the client credentials."""
    from galera import sql
    from galera.domain.credentials import Credentials

    member = sandbox3.sandbox.member("galera-0")
    conn = sql.connect(sql.Endpoint(unix_socket=str(member.socket)), Credentials("root", ""))
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT @@secure_file_priv")
            (confined,) = cursor.fetchone()
            assert confined and confined.rstrip("/").endswith("sql-files")
            for path in (sandbox3.sandbox.token_file, sandbox3.sandbox.client_cnf):
                cursor.execute("SELECT LOAD_FILE(%s)", (str(path),))
                assert cursor.fetchone() == (None,)
    finally:
        conn.close()
