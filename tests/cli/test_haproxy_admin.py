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

import pytest

from galera import fence, poll
from galera.errors import LeaseLost, MemberUnreachable
from galera.platforms import haproxy_admin, proxy
from galera.platforms.static import Static

NAMES = ("galera-0", "galera-1", "galera-2")
BASE = 26300  # the writer frontend (the members' ports are any free ones)


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

    address = "127.0.0.1"


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


@dataclass
class Proxy:
    home: Path
    members: dict[str, Member]
    process: subprocess.Popen[bytes]

    @property
    def socket(self) -> Path:
        return self.home / proxy.ADMIN_SOCKET

    def pool(self) -> dict[str, bool]:
        return haproxy_admin.pool(self.socket)

    def settled(self, expected: dict[str, bool]) -> None:
        """Wait until the proxy's own checks give ``expected``."""
        poll.until(
            lambda: True if self.pool() == expected else None,
            timeout=10,
            interval=0.05,
            what=f"the writer pool {expected}",
        )


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[Proxy]:
    members = {n: _member(n) for n in NAMES}
    # A directory deeper than a socket address may name (108 bytes): HAProxy binds the
    # socket relative to where it runs, galeractl reaches it through the directory.
    home = tmp_path / ("d" * 60) / ("e" * 60)
    home.mkdir(parents=True)
    plans = [
        SimpleNamespace(
            name=m.name, address=m.address, sql_port=m.sql_port, agent_port=m.agent_port
        )
        for m in members.values()
    ]
    text = proxy.config(plans, BASE, BASE + 1, None, "127.0.0.1", Path(proxy.ADMIN_SOCKET))
    (home / "haproxy.cfg").write_text(text)
    log = (home / "haproxy.log").open("wb")
    process = subprocess.Popen(
        [proxy.HAPROXY, "-db", "-f", "haproxy.cfg"], cwd=home, stdout=log, stderr=log
    )
    handle = Proxy(home, members, process)
    try:
        poll.until(
            lambda: True if handle.socket.exists() else None,
            timeout=10,
            interval=0.05,
            what="HAProxy's runtime API",
        )
        assert len(os.fsencode(handle.socket)) > 108
        members["galera-0"].writer.set()
        handle.settled({"galera-0": True, "galera-1": False, "galera-2": False})
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


def _through_writer_frontend() -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", BASE), timeout=5)
    conn.settimeout(5)
    return conn


def _flag(p: Proxy, name: str | None) -> dict[str, bool]:
    """What the agents' flags say (the writer's answers 200), and so the checks too."""
    for member in p.members.values():
        if member.name == name:
            member.writer.set()
        else:
            member.writer.clear()
    return {n: n == name for n in NAMES}


def test_the_old_writer_leaves_the_pool_at_once_and_its_sessions_are_shut(
    haproxy: Proxy,
) -> None:
    client = _through_writer_frontend()
    poll.until(
        lambda: True if haproxy.members["galera-0"].accepted else None,
        timeout=5,
        interval=0.05,
        what="the session through the proxy",
    )
    _flag(haproxy, None)  # the old writer's flag cleared, as a switchover does first
    sent = haproxy_admin.route(haproxy.socket, None, lambda _name: True)
    assert sent == [
        "set server writers/galera-0 health down",
        "shutdown sessions server writers/galera-0",
    ]
    # At once, not after the proxy's two failed checks (300 + 200 ms at the least).
    assert haproxy.pool() == {"galera-0": False, "galera-1": False, "galera-2": False}
    assert client.recv(1) == b""  # the proxy closed the client's session
    client.close()
    assert haproxy_admin.route(haproxy.socket, None, lambda _name: True) == []  # nothing left


def test_the_new_writer_enters_the_pool_once_its_agent_answers_the_writer_check(
    haproxy: Proxy,
) -> None:
    _flag(haproxy, None)
    haproxy_admin.route(haproxy.socket, None, lambda _name: True)
    asked: list[str] = []

    def not_yet(name: str) -> bool:
        asked.append(name)
        return False

    # An agent that does not answer 200 (yet) is not put in the pool.
    assert haproxy_admin.route(haproxy.socket, "galera-2", not_yet) == []
    assert asked == ["galera-2"] and not any(haproxy.pool().values())
    expected = _flag(haproxy, "galera-2")
    assert haproxy_admin.route(haproxy.socket, "galera-2", lambda n: n == "galera-2") == [
        "set server writers/galera-2 health up"
    ]
    assert haproxy.pool() == expected
    client = _through_writer_frontend()
    poll.until(
        lambda: True if haproxy.members["galera-2"].accepted else None,
        timeout=5,
        interval=0.05,
        what="a session to the new writer",
    )
    client.close()
    # Already so: nothing is sent, and the agent is not asked again.
    assert haproxy_admin.route(haproxy.socket, "galera-2", not_yet) == []
    assert asked == ["galera-2"]


def test_the_checks_stay_the_judge_of_a_server_forced_in(haproxy: Proxy) -> None:
    """A member put in the pool whose agent then says 503 leaves it again by the proxy's
    own checks: the runtime API only makes the proxy know sooner."""
    _flag(haproxy, None)
    haproxy_admin.route(haproxy.socket, "galera-1", lambda _name: True)  # a wrong answer
    assert haproxy.pool()["galera-1"] is True
    haproxy.settled({"galera-0": False, "galera-1": False, "galera-2": False})


def test_a_proxy_that_cannot_be_reached_is_an_error_naming_it_and_the_platform_goes_on(
    haproxy: Proxy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "nowhere.sock"
    with pytest.raises(MemberUnreachable, match=f"HAProxy runtime API {missing}: "):
        haproxy_admin.route(missing, "galera-1", lambda _name: True)
    with pytest.raises(MemberUnreachable, match="no backend 'readers-typo'"):
        haproxy_admin.pool(haproxy.socket, "readers-typo")
    # The platform logs it and tells the proxies it reaches (the checks do the rest).
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(
        "credentials: {user: monitor, password_env: GALERACTL_TEST_PASSWORD}\n"
        f"proxy: {{admin: [{missing}, {haproxy.socket}]}}\n"
        "members:\n"
        + "".join(
            f"  - {{name: {m.name}, host: 127.0.0.1, port: {m.sql_port}, "
            f"agent: 'http://127.0.0.1:{m.agent_port}'}}\n"
            for m in haproxy.members.values()
        )
        + "agent: {token_env: GALERACTL_TEST_TOKEN}\n"
        + "tls: {enabled: false}\n"
    )
    os.environ["GALERACTL_TEST_TOKEN"] = "t"
    try:
        expected = _flag(haproxy, "galera-1")
        Static(cluster).route_writer("galera-1")
    finally:
        del os.environ["GALERACTL_TEST_TOKEN"]
    assert haproxy.pool() == expected
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == [
        f"HAProxy runtime API {missing}: No such file or directory (its health checks will "
        "get there)"
    ]


class _Lost:
    holder = "controller-1"
    named_to_agents = False

    def confirm(self, member: str | None = None) -> None:
        raise LeaseLost("the lease was lost: stopping before changing the cluster")


def test_nothing_is_sent_once_the_lease_is_lost(haproxy: Proxy) -> None:
    before = haproxy.pool()
    with fence.acting(_Lost()), pytest.raises(LeaseLost):
        haproxy_admin.route(haproxy.socket, None, lambda _name: True)
    assert haproxy.pool() == before
