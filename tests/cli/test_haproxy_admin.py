"""A real HAProxy told where writes go through its runtime API (``proxy.admin``).

HAProxy runs here with galeractl's sandbox configuration in front of three stand-in
members: each a TCP server (its "SQL port") and an HTTP server answering the proxy's
``/health/writer`` check as the test says (its "agent"). Nothing here needs a database;
tests/integration/test_writer.py runs the same through real members and switchovers.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from galera import fence, poll
from galera.errors import InvalidInput, LeaseLost, OperationFailed
from galera.platforms import haproxy_admin, proxy
from galera.platforms.haproxy_admin import Server, plan
from galera.platforms.static import Static

NAMES = ("galera-0", "galera-1", "galera-2")
ALL_OUT = dict.fromkeys(NAMES, False)
OPERATOR_SOCKET = "operator.sock"  # a second runtime API socket, at HAProxy's default level


@dataclass
class Member:
    """A stand-in member: a TCP listener that keeps every connection open, and a health
    endpoint answering 200 while ``writer`` is set."""

    name: str
    sql: socket.socket
    health: http.server.ThreadingHTTPServer
    writer: threading.Event = field(default_factory=threading.Event)
    accepted: list[socket.socket] = field(default_factory=list)

    @property
    def sql_port(self) -> int:
        return int(self.sql.getsockname()[1])

    @property
    def agent_port(self) -> int:
        return int(self.health.server_address[1])


def _member(name: str) -> Member:
    listener = socket.create_server(("127.0.0.1", 0))
    member: Member

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/health/writer" and member.writer.is_set()
            self.send_response(200 if ok else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    health = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    member = Member(name, listener, health)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            member.accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    threading.Thread(target=health.serve_forever, daemon=True).start()
    return member


def _free_ports(count: int) -> list[int]:
    sockets = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    ports = [int(s.getsockname()[1]) for s in sockets]
    for s in sockets:
        s.close()
    return ports


@dataclass
class Proxy:
    home: Path
    members: dict[str, Member]
    process: subprocess.Popen[bytes]
    writer_port: int

    @property
    def socket(self) -> Path:
        return self.home / proxy.ADMIN_SOCKET

    def pool(self) -> dict[str, bool]:
        """Which servers are in the writer pool."""
        return {n: s.running for n, s in haproxy_admin.pool(self.socket).items()}

    def settled(self, expected: dict[str, bool]) -> None:
        """Wait until the proxy's own checks give ``expected``."""
        poll.until(
            lambda: True if self.pool() == expected else None,
            timeout=10,
            interval=0.05,
            what=f"the writer pool {expected}",
        )

    def log(self) -> str:
        return (self.home / "haproxy.log").read_text(errors="replace")

    def session_to(self, name: str) -> socket.socket:
        """A client connected through the writer frontend, once ``name`` accepted it."""
        conn = socket.create_connection(("127.0.0.1", self.writer_port), timeout=5)
        conn.settimeout(5)
        poll.until(
            lambda: True if self.members[name].accepted else None,
            timeout=5,
            interval=0.05,
            what=f"a session through the proxy to {name}",
        )
        return conn


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[Proxy]:
    members = {n: _member(n) for n in NAMES}
    # A directory deeper than a socket address may name (108 bytes): HAProxy binds the
    # socket relative to where it runs, galeractl reaches it through the directory.
    home = tmp_path / ("d" * 60) / ("e" * 60)
    home.mkdir(parents=True)
    plans = [
        SimpleNamespace(name=n, address="127.0.0.1", sql_port=m.sql_port, agent_port=m.agent_port)
        for n, m in members.items()
    ]
    writer_port, reader_port = _free_ports(2)
    text = proxy.config(plans, writer_port, reader_port, None, "127.0.0.1", Path("admin.sock"))
    text = text.replace("global\n", f"global\n  stats socket unix@{OPERATOR_SOCKET} mode 600\n")
    (home / "haproxy.cfg").write_text(text)
    log = (home / "haproxy.log").open("wb")
    process = subprocess.Popen(
        [proxy.HAPROXY, "-db", "-f", "haproxy.cfg"], cwd=home, stdout=log, stderr=log
    )
    handle = Proxy(home, members, process, writer_port)

    try:
        haproxy_admin.wait_until_listening(
            handle.socket, lambda: process.poll() is None, home / "haproxy.log"
        )
        assert len(os.fsencode(handle.socket)) > 108
        members["galera-0"].writer.set()
        handle.settled({**ALL_OUT, "galera-0": True})
        yield handle
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        log.close()
        for m in members.values():
            m.health.shutdown()
            m.health.server_close()
            m.sql.shutdown(socket.SHUT_RDWR)
            m.sql.close()
            for conn in m.accepted:
                conn.close()


def _flag(p: Proxy, name: str | None) -> dict[str, bool]:
    """Set the stand-in agents' flags (only ``name`` answers 200); the pool they make."""
    for member in p.members.values():
        if member.name == name:
            member.writer.set()
        else:
            member.writer.clear()
    return {n: n == name for n in NAMES}


UP, DOWN, MAINT = Server(True, False), Server(False, False), Server(False, True)


@pytest.mark.parametrize(
    ("servers", "member", "admit", "expected"),
    [
        ({"a": UP, "b": DOWN}, "a", True, []),
        ({"a": UP, "b": DOWN}, "b", False, ["down a"]),
        ({"a": UP, "b": DOWN}, "b", True, ["down a", "up b"]),
        ({"a": UP, "b": UP}, None, True, ["down a", "down b"]),
        ({"a": DOWN, "b": MAINT}, "b", True, []),  # a person disabled it: left so
        ({"a": UP, "b": DOWN}, "c", True, ["down a"]),
    ],
    ids=["already", "others-out-only", "moved", "nobody", "maintenance", "not-in-the-pool"],
)
def test_the_commands_planned_for_a_pool(
    servers: dict[str, Server], member: str | None, admit: bool, expected: list[str]
) -> None:
    words = {"down": "health down", "up": "health up"}
    wanted = []
    for item in expected:
        verb, name = item.split()
        wanted.append(f"set server writers/{name} {words[verb]}")
        if verb == "down":
            wanted.append(f"shutdown sessions server writers/{name}")
    assert plan(servers, member, admit) == wanted


def test_the_old_writer_leaves_the_pool_at_once_and_its_sessions_are_shut(
    haproxy: Proxy,
) -> None:
    client = haproxy.session_to("galera-0")
    _flag(haproxy, None)  # the old writer's flag cleared, as a switchover does first
    sent = haproxy_admin.route(haproxy.socket, None, NAMES)
    assert sent == [
        "set server writers/galera-0 health down",
        "shutdown sessions server writers/galera-0",
    ]
    # At once, not after the proxy's two failed checks (200-500 ms).
    assert haproxy.pool() == ALL_OUT
    assert client.recv(1) == b""  # the proxy closed the client's session
    client.close()
    assert "writers/galera-0 is DOWN, changed from CLI" in haproxy.log()
    assert haproxy_admin.route(haproxy.socket, None, NAMES) == []  # nothing left to do


def test_the_new_writer_enters_the_pool_once_its_agent_answers_the_writer_check(
    haproxy: Proxy,
) -> None:
    _flag(haproxy, None)
    haproxy_admin.route(haproxy.socket, None, NAMES)
    asked: list[str] = []

    def not_yet(name: str) -> bool:
        asked.append(name)
        return False

    # An agent that does not answer 200 (yet) is not put in the pool.
    assert haproxy_admin.route(haproxy.socket, "galera-2", NAMES, not_yet) == []
    assert asked == ["galera-2"] and haproxy.pool() == ALL_OUT
    # Told before the stand-in's own check could pass (it still answers 503 here).
    assert haproxy_admin.route(haproxy.socket, "galera-2", NAMES, lambda n: True) == [
        "set server writers/galera-2 health up"
    ]
    assert haproxy.pool() == _flag(haproxy, "galera-2")
    haproxy.session_to("galera-2").close()
    # Already so: nothing is sent, and the agent is not asked again.
    assert haproxy_admin.route(haproxy.socket, "galera-2", NAMES, not_yet) == []
    assert asked == ["galera-2"]


def test_without_a_writer_check_only_others_are_taken_out(haproxy: Proxy) -> None:
    """The controller's cycle: servers other than the recorded writer out, the writer
    left to the checks (galeractl's view of its agent may differ from the proxy's)."""
    _flag(haproxy, None)
    haproxy_admin.route(haproxy.socket, None, NAMES)
    assert haproxy_admin.route(haproxy.socket, "galera-1", NAMES) == []
    assert haproxy.pool() == ALL_OUT


def test_the_checks_stay_the_judge_of_a_server_put_in(haproxy: Proxy) -> None:
    """A member put in the pool whose agent says 503 leaves it again by the proxy's own
    checks: the runtime API only makes the proxy know sooner."""
    _flag(haproxy, None)
    haproxy_admin.route(haproxy.socket, "galera-1", NAMES, lambda _name: True)  # wrong
    assert haproxy.pool()["galera-1"] is True
    haproxy.settled(ALL_OUT)


def test_a_pool_whose_servers_are_not_the_members_is_never_touched(haproxy: Proxy) -> None:
    with pytest.raises(InvalidInput, match="has servers galera-1, galera-2, not named after"):
        haproxy_admin.route(haproxy.socket, None, ("galera-0", "db-1"))
    assert haproxy.pool() == {**ALL_OUT, "galera-0": True}


def test_a_socket_that_may_only_look_is_an_error_and_nothing_changes(haproxy: Proxy) -> None:
    operator = haproxy.home / OPERATOR_SOCKET
    assert haproxy_admin.pool(operator)["galera-0"].running  # reading is allowed
    with pytest.raises(OperationFailed, match="refused 'set server writers/galera-0 health "):
        haproxy_admin.route(operator, "galera-1", NAMES)
    assert haproxy.pool() == {**ALL_OUT, "galera-0": True}


def _cluster_file(members: list[Any], directory: Path, *sockets: Path) -> Path:
    cluster = directory / "cluster.yaml"
    cluster.write_text(
        "credentials: {user: monitor, password_env: GALERACTL_TEST_PASSWORD}\n"
        f"proxy: {{admin: [{', '.join(str(s) for s in sockets)}]}}\n"
        "members:\n"
        + "".join(
            f"  - {{name: {m.name}, host: 127.0.0.1, port: {m.sql_port}, "
            f"agent: 'http://127.0.0.1:{m.agent_port}'}}\n"
            for m in members
        )
        + "agent: {token_env: GALERACTL_TEST_TOKEN}\n"
        + "tls: {enabled: false}\n"
    )
    return cluster


def test_a_proxy_that_cannot_be_reached_is_logged_and_the_others_are_told(
    haproxy: Proxy,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = tmp_path / "nowhere.sock"
    with pytest.raises(OperationFailed, match=f"HAProxy runtime API {missing}: "):
        haproxy_admin.route(missing, "galera-1", NAMES)
    with pytest.raises(InvalidInput, match="no backend 'readers-typo'"):
        haproxy_admin.pool(haproxy.socket, "readers-typo")
    monkeypatch.setenv("GALERACTL_TEST_TOKEN", "t")
    members = list(haproxy.members.values())
    platform = Static(_cluster_file(members, tmp_path, missing, haproxy.socket))
    expected = _flag(haproxy, "galera-1")
    platform.route_writer("galera-1", moved=True)
    assert haproxy.pool() == expected
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == [
        f"HAProxy runtime API {missing}: No such file or directory (its health checks will "
        "get there)"
    ]


def test_an_agent_that_does_not_answer_keeps_its_member_out_and_the_others_go(
    haproxy: Proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer check is asked once, with a short limit: a hung agent says no."""
    hung = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        members: list[Any] = list(haproxy.members.values())
        members[1] = SimpleNamespace(name="galera-1", sql_port=1, agent_port=hung.getsockname()[1])
        monkeypatch.setenv("GALERACTL_TEST_TOKEN", "t")
        cluster = _cluster_file(members, tmp_path, haproxy.socket, haproxy.socket)
        haproxy.members["galera-0"].writer.clear()
        Static(cluster).route_writer("galera-1", moved=True)
        assert haproxy.pool() == ALL_OUT
    finally:
        hung.close()


class _Lost:
    holder = "controller-1"
    named_to_agents = False

    def confirm(self, member: str | None = None) -> None:
        raise LeaseLost("the lease was lost: stopping before changing the cluster")


def test_nothing_is_sent_once_the_lease_is_lost(
    haproxy: Proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALERACTL_TEST_TOKEN", "t")
    platform = Static(_cluster_file(list(haproxy.members.values()), tmp_path, haproxy.socket))
    with fence.acting(_Lost()), pytest.raises(LeaseLost):
        platform.route_writer(None)
    assert haproxy.pool() == {**ALL_OUT, "galera-0": True}
