"""What ``galeractl status`` waits on: only the imports it needs, and one timeout per member.

A command imports its own module and what that needs, never the agent's, the exporter's or
Kubernetes' dependencies. A member that accepts connections and never answers (its packets
go nowhere) is asked through SQL and through its agent at the same time, so its agent's view
is in the report after one SQL timeout rather than after an SQL and then an agent timeout.
No database here: the members are real sockets on loopback that never answer SQL.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from galera.cli import main
from tests.helpers import ROOT, free_port, galeractl

HEAVY = [
    "kubernetes",
    "jinja2",
    "prometheus_client",
    "jsonschema",
    "cryptography",
    "tenacity",
    "http.server",
    "urllib.request",
    "galera.agent",
    "galera.exporter",
    "galera.platforms.kubernetes",
    "galera.cli.sandbox",
    "galera.cli.recovery",
    "galera.cli.exporter",
]


def cluster_file(tmp_path: Path, members: list[tuple[int, str]], read_timeout: int = 5) -> Path:
    """A cluster file of loopback members: (SQL port, agent URL or "")."""
    lines = [
        "name: speed",
        "credentials: {file: client.cnf}",
        f"timeouts: {{connect: 2, read: {read_timeout}}}",
        "members:",
    ]
    for index, (port, agent) in enumerate(members):
        entry = f"  - {{name: db-{index}, host: 127.0.0.1, port: {port}"
        lines.append(entry + (f", agent: '{agent}'}}" if agent else "}"))
    (tmp_path / "client.cnf").write_text("[client]\nuser=u\npassword=p\n")
    path = tmp_path / "cluster.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def refused_port() -> int:
    """A loopback port nothing listens on (connections to it are refused at once)."""
    return free_port()


# Runs galeractl as its entry point does, and prints every module it imported at exit.
PROBE = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: print('MODULES', json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
    "from galera.cli.main import main\n"
    "main()\n"
)


def imported_modules(*args: str, cache: Path | None = None) -> set[str]:
    """Every module ``galeractl ARGS`` imported, from start to exit."""
    env = {**os.environ, **({"XDG_CACHE_HOME": str(cache)} if cache else {})}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    line = next(x for x in proc.stderr.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def loaded(modules: set[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_status_imports_no_heavy_module(tmp_path: Path) -> None:
    path = cluster_file(tmp_path, [(refused_port(), ""), (refused_port(), "")])
    args = ("status", "-c", str(path), "-o", "json")
    first = imported_modules(*args, cache=tmp_path / "cache")
    # A cluster file never seen is parsed and checked by its schema; read again unchanged,
    # neither (the YAML parser and jsonschema are most of the time a status takes).
    assert loaded(first, "jsonschema") and loaded(first, "yaml")
    modules = imported_modules(*args, cache=tmp_path / "cache")
    assert not loaded(modules, "yaml")
    assert "galera.cli.status" in modules  # the command ran
    assert "pymysql" in modules  # and read its members
    assert [name for name in HEAVY if loaded(modules, name)] == []


def test_help_lists_every_command_without_loading_heavy_modules() -> None:
    result = galeractl("--help")
    assert result.code == 0
    listed = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line}
    assert listed == set(main.COMMANDS)
    modules = imported_modules("--help")
    assert [n for n in ("kubernetes", "jinja2", "prometheus_client") if loaded(modules, n)] == []


@pytest.mark.parametrize("name", sorted(main.COMMANDS))
def test_every_lazy_command_loads_under_its_own_name(name: str) -> None:
    command = main.cli.get_command(None, name)  # type: ignore[arg-type]
    assert command is not None
    assert command.name == name


class SilentMember:
    """A member whose SQL port accepts connections and never answers; its agent answers
    only while an SQL connection is open and unanswered (both asked at once)."""

    STATUS = {"process": {"state": "running"}, "grastate": {"present": True, "seqno": 42}}

    def __init__(self) -> None:
        self.sql = self._listener()
        self.agent = self._listener()
        self.open_sql: list[socket.socket] = []
        self.agent_saw_sql_waiting: list[bool] = []
        self._stop = threading.Event()

    @staticmethod
    def _listener() -> socket.socket:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        s.settimeout(0.1)
        return s

    @property
    def sql_port(self) -> int:
        return int(self.sql.getsockname()[1])

    @property
    def agent_url(self) -> str:
        return f"http://127.0.0.1:{self.agent.getsockname()[1]}"

    def sql_waiting(self) -> bool:
        """Whether an SQL connection is open and the client has not given up on it."""
        for conn in self.open_sql:
            try:
                if conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    continue  # the client closed it: that SQL call is over
            except BlockingIOError:
                return True  # open, nothing sent: still waiting for our greeting
            except OSError:
                continue
        return False

    def _serve_sql(self) -> None:
        while not self._stop.is_set():
            try:
                self.open_sql.append(self.sql.accept()[0])
            except TimeoutError:
                continue

    def _serve_agent(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.agent.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(4096) or b"\r\n\r\n"
                waiting = self.sql_waiting()
                self.agent_saw_sql_waiting.append(waiting)
                body = json.dumps(self.STATUS if waiting else {"error": "asked too late"})
                code = "200 OK" if waiting else "503 Service Unavailable"
                conn.sendall(
                    f"HTTP/1.1 {code}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}".encode()
                )

    @contextmanager
    def running(self) -> Iterator[SilentMember]:
        threads = [
            threading.Thread(target=t, daemon=True) for t in (self._serve_sql, self._serve_agent)
        ]
        for t in threads:
            t.start()
        try:
            yield self
        finally:
            self._stop.set()
            for t in threads:
                t.join()
            for s in (self.sql, self.agent, *self.open_sql):
                s.close()


def test_a_silent_member_is_asked_through_sql_and_its_agent_at_once(tmp_path: Path) -> None:
    with SilentMember().running() as member:
        path = cluster_file(tmp_path, [(member.sql_port, member.agent_url)], read_timeout=1)
        result = galeractl("status", "-c", str(path), "-o", "json", timeout=60)
    assert result.code == 1, result.stderr
    report = result.json()["members"][0]
    assert report["reachable"] is False
    assert report["error"].startswith("cannot reach SQL")
    assert member.agent_saw_sql_waiting == [True]
    assert report["agent"] == SilentMember.STATUS
