"""The agent answers whoever calls it and tells only the token holder: no log line or option
without the token, bounded bodies checked before they are read, slow clients that cannot
hold it up, and a rotated token that never breaks automation mid-work.

The agent's real HTTP server runs here on loopback with a real supervisor whose server is
not started (nothing here needs a database)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from galera.agent import guard
from galera.agent.api import make_handler
from galera.agent.server import Agent
from galera.agent.supervisor import Supervisor
from galera.config.agent import parse
from tests.unit.builders import agent_data

SECRET_LINE = "UPDATE accounts SET balance = 0 WHERE owner = 'marker-7f3a'"


def local_server(tmp_path: Path) -> dict[str, object]:
    """An agent's ``server`` section whose files are all under ``tmp_path``."""
    return {
        **agent_data()["server"],
        "datadir": str(tmp_path / "data"),
        "log_error": str(tmp_path / "mariadbd.err"),
        "socket": str(tmp_path / "mysqld.sock"),
        "pid_file": str(tmp_path / "mysqld.pid"),
    }


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[int, Path, Supervisor]]:
    server = local_server(tmp_path)
    (tmp_path / "token").write_text("first-token\n")
    (tmp_path / "mariadbd.err").write_text(f"2026-12-02 [Note] WSREP: conflict: {SECRET_LINE}\n")
    config = parse(
        agent_data(listen="127.0.0.1:1", start="none", server=server), tmp_path / "a.yaml"
    )
    supervisor = Supervisor(config)
    supervisor.data.set_overrides({"max_connections": "500"})
    tokens = guard.Tokens(config.token, config.token_source())
    httpd = guard.BoundedServer(("127.0.0.1", 0), make_handler(Agent(config, supervisor), tokens))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield httpd.server_address[1], tmp_path / "token", supervisor
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    source: str = "127.0.0.1",
) -> tuple[int, dict[str, object]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def exchange(port: int, raw: bytes) -> str:
    """Send ``raw`` and read the answer until the agent closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        chunks = []
        while chunk := s.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_status_without_the_token_carries_no_log_line_and_no_option(
    agent: tuple[int, Path, Supervisor],
) -> None:
    port, _token, _sup = agent
    code, body = request(port, "GET", "/v1/status")
    assert code == 200
    assert "marker-7f3a" not in json.dumps(body)
    assert "500" not in json.dumps(body["process"])
    assert body["grastate"] is not None  # what probes and galeractl need is still there
    code, body = request(port, "GET", "/v1/status", headers=bearer("first-token"))
    assert code == 200
    process = body["process"]
    assert isinstance(process, dict)
    assert any("marker-7f3a" in line for line in process["error_log_tail"])
    assert process["overrides"] == {"max_connections": "500"}


def test_bodies_are_bounded_and_checked_before_they_are_read(
    agent: tuple[int, Path, Supervisor],
) -> None:
    port, _token, _sup = agent
    huge = {"Content-Length": str(50 * 2**20), **bearer("first-token")}
    # Only the headers are sent: the agent answers without waiting for 50 MB.
    head = "".join(f"{k}: {v}\r\n" for k, v in huge.items())
    answer = exchange(port, f"POST /v1/drain HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
    assert answer.startswith("HTTP/1.1 413") and "at most 65536 bytes" in answer
    for garbage in ("-5", "12abc", "1e9"):
        code, body = request(port, "POST", "/v1/drain", headers={"Content-Length": garbage})
        assert code == 400 and "Content-Length" in str(body["error"])
    # Without the token nothing of the body is read: 401 at once, the connection closed.
    answer = exchange(port, b"POST /v1/stop HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
    assert answer.startswith("HTTP/1.1 401") and "Connection: close" in answer


def silent(port: int, source: str) -> socket.socket:
    """A client that connects and sends nothing."""
    return socket.create_connection(("127.0.0.1", port), source_address=(source, 0))


def test_one_client_cannot_hold_up_the_probes(agent: tuple[int, Path, Supervisor]) -> None:
    port, _token, _sup = agent
    hogs = [silent(port, "127.0.0.2") for _ in range(guard.PER_CLIENT)]
    try:
        code, body = request(port, "GET", "/health/live", source="127.0.0.2")
        assert (code, body) == (503, {"error": "agent is busy"})  # its own share is used up
        code, body = request(port, "GET", "/health/live")  # the kubelet, from elsewhere
        assert code in (200, 503) and "live" in body
    finally:
        for s in hogs:
            s.close()


def test_a_full_agent_answers_busy_at_once_and_serves_again_after_the_deadline(
    agent: tuple[int, Path, Supervisor],
) -> None:
    port, _token, _sup = agent
    sources = [f"127.0.0.{i}" for i in range(10, 10 + guard.MAX_WORKERS // guard.PER_CLIENT)]
    hogs = [silent(port, src) for src in sources for _ in range(guard.PER_CLIENT)]
    try:
        code, body = request(port, "GET", "/health/live", source="127.0.0.99")
        assert (code, body) == (503, {"error": "agent is busy"})
        for s in hogs:  # each was cut off at the request deadline
            s.settimeout(guard.REQUEST_TIMEOUT + 5)
            assert s.recv(1) == b""
        code, body = request(port, "GET", "/health/live", source="127.0.0.99")
        assert code in (200, 503) and "live" in body
    finally:
        for s in hogs:
            s.close()


def test_a_trickling_client_is_cut_off_at_the_request_deadline(
    agent: tuple[int, Path, Supervisor],
) -> None:
    port, _token, _sup = agent
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"POST /v1/drain HTTP/1.1\r\n")
        sent = 0
        with pytest.raises(OSError):  # a broken pipe or reset once the agent has cut it
            for _ in range(int(guard.REQUEST_TIMEOUT) * 4):
                time.sleep(0.5)
                s.sendall(f"X-Header-{sent}: 1\r\n".encode())
                sent += 1
        assert sent < int(guard.REQUEST_TIMEOUT) * 4


def test_chunked_bodies_and_conflicting_lengths_are_refused(
    agent: tuple[int, Path, Supervisor],
) -> None:
    port, _token, sup = agent
    chunked = (
        b"POST /v1/stop HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer first-token\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n10\r\n{"timeout": -1}\r\n0\r\n\r\n'
    )
    assert exchange(port, chunked).startswith("HTTP/1.1 411")
    double = (
        b"POST /v1/drain HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer first-token\r\n"
        b"Content-Length: 2\r\nContent-Length: 20\r\n\r\n{}"
    )
    assert exchange(port, double).startswith("HTTP/1.1 400")
    smuggled = b"GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nGET /"
    answer = exchange(port, smuggled)
    assert answer.startswith("HTTP/1.1 400") and answer.count("HTTP/1.1") == 1
    assert not sup.draining


def test_a_rotated_token_is_taken_and_the_previous_one_kept_for_a_grace(tmp_path: Path) -> None:
    file = tmp_path / "token"
    file.write_text("old\n")
    now = [100.0]

    def read() -> str:
        return file.read_text().strip()

    tokens = guard.Tokens(read, file, grace=60, clock=lambda: now[0])
    assert tokens.accepts("Bearer old") and not tokens.accepts("Bearer new")
    time.sleep(0.01)
    file.write_text("new-and-longer\n")  # a Secret update
    assert tokens.accepts("Bearer new-and-longer")
    assert tokens.accepts("Bearer old")  # automation in the middle of its work
    now[0] += 61
    assert not tokens.accepts("Bearer old")
    assert tokens.accepts("Bearer new-and-longer")
    file.write_text("")  # half-written: the current token stays
    assert tokens.accepts("Bearer new-and-longer")
    assert not tokens.accepts("") and not tokens.accepts("Bearer ")


def test_the_log_tail_reads_only_the_end_of_a_large_log(tmp_path: Path) -> None:
    log = tmp_path / "big.err"
    with open(log, "w") as f:
        for i in range(200_000):  # ~8 MB
            f.write(f"2026-12-02 [Note] line {i:06d} padding padding\n")
    assert guard.tail(log, 3) == [
        f"2026-12-02 [Note] line {i:06d} padding padding" for i in (199_997, 199_998, 199_999)
    ]
    assert guard.tail(tmp_path / "missing.err", 3) == []


def test_one_request_per_connection(agent: tuple[int, Path, Supervisor]) -> None:
    """A second request on the same connection is never read (the deadline covered the
    first only): the agent answers once and closes."""
    two = (
        b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\nGET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    answer = exchange(agent[0], two)
    assert answer.count("HTTP/1.1 ") == 1 and "Connection: close" in answer


def test_over_https_silent_and_plaintext_clients_hold_nothing_up(tmp_path: Path) -> None:
    """TLS handshakes run in the workers under the request deadline: clients that connect
    and never handshake, or speak plain HTTP to the HTTPS port, leave the agent answering,
    and only a client trusting the cluster CA gets an answer."""
    import ssl

    from galera import tls
    from galera.config import certdir

    certdir.create(tmp_path / "tls", "c", {"galera-0": ["127.0.0.1"]})
    files = certdir.files(tmp_path / "tls", "galera-0")
    server = {**agent_data()["server"], "node_address": "127.0.0.1"}
    server.update(datadir=str(tmp_path / "data"), log_error=str(tmp_path / "err"))
    data = agent_data(listen="127.0.0.1:1", start="none", server=server)
    data["tls"] = {"ca": str(files.ca), "cert": str(files.cert), "key": str(files.key)}
    (tmp_path / "token").write_text("a-token\n")
    config = parse(data, tmp_path / "a.yaml")
    tokens = guard.Tokens(config.token, config.token_source())
    handler = make_handler(Agent(config, Supervisor(config)), tokens)
    httpd = guard.BoundedServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}).start()
    port = httpd.server_address[1]
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
    try:
        try:  # plain HTTP: no answer (the handshake fails; the agent may reset)
            answer = exchange(port, b"GET /health/live HTTP/1.1\r\n\r\n")
        except ConnectionResetError:
            answer = ""
        assert "HTTP/1.1" not in answer
        context = tls.client_context(tls.Files(files.ca))
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
        conn.request("GET", "/health/live")
        assert conn.getresponse().status in (200, 503)
        conn.close()
        untrusting = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=10, context=ssl.create_default_context()
        )
        with pytest.raises(ssl.SSLCertVerificationError):
            untrusting.request("GET", "/health/live")
    finally:
        for s in silent:
            s.close()
        httpd.shutdown()
        httpd.server_close()


def test_a_drain_expires_and_can_be_released(agent: tuple[int, Path, Supervisor]) -> None:
    port, _token, supervisor = agent
    auth = {"Authorization": "Bearer first-token", "Content-Type": "application/json"}
    for bad in (b'{"seconds": 0}', b'{"seconds": "x"}', b'{"seconds": 4000}'):
        code, body = request(port, "POST", "/v1/drain", bad, auth)
        assert code == 400 and "seconds must" in str(body["error"])
    assert request(port, "POST", "/v1/drain", b'{"seconds": 1}', auth)[0] == 200
    assert supervisor.draining
    time.sleep(1.2)
    assert not supervisor.draining  # nobody followed it up: back in service
    assert request(port, "POST", "/v1/drain", b"{}", auth)[0] == 200
    assert supervisor.draining
    assert request(port, "POST", "/v1/undrain", b"{}", auth)[0] == 200
    assert not supervisor.draining
