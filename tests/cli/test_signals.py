"""Long-running commands stop cleanly on SIGTERM however many arrive and however fast.

A second signal used to interrupt the first handler while it held a lock and wait for that
lock forever (the agent then never stopped its server). Each command here is sent one, two,
and bursts of signals, many times over, to catch the race; every run must end within
seconds with exit code 0.
"""

from __future__ import annotations

import functools
import os
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.integration.conftest import free_port

PATTERNS = {
    "one": (1, 0.0),
    "two-at-once": (2, 0.0),
    "two-spaced": (2, 0.002),
    "burst": (50, 0.0),
    "burst-spaced": (20, 0.0005),
}
ROUNDS = 4  # per pattern: 20 runs per command


def spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "galera", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def http_ready(url: str) -> Callable[[subprocess.Popen[bytes]], None]:
    def ready(proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                urllib.request.urlopen(url, timeout=2).read()
                return
            except OSError:
                assert time.monotonic() < deadline, f"{url} never answered"
                time.sleep(0.05)

    return ready


def first_output(proc: subprocess.Popen[bytes]) -> None:
    """Ready once the command printed its first event (its handlers are installed by then)."""
    assert proc.stdout is not None
    readable, _, _ = select.select([proc.stdout], [], [], 30)
    assert readable, "no output within 30 s"
    assert proc.stdout.readline(), proc.stderr.read() if proc.stderr else ""


def stop_with_signals(
    start: Callable[[], subprocess.Popen[bytes]],
    ready: Callable[[subprocess.Popen[bytes]], None],
    count: int,
    gap: float,
) -> int:
    """Signal a started command ``count`` times; its exit code (it must end within 10 s)."""
    proc = start()
    try:
        ready(proc)
        for _ in range(count):
            os.kill(proc.pid, signal.SIGTERM)
            if gap:
                time.sleep(gap)
        try:
            code = proc.wait(10)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running 10 s after {count} SIGTERM") from None
        if code != 0 and proc.stderr:
            print(proc.stderr.read().decode(errors="replace"))
        return code
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def agent_config(tmp_path: Path) -> tuple[Path, str]:
    port = free_port()
    config = tmp_path / "agent.yaml"
    config.write_text(
        f"""\
name: galera-0
listen: 127.0.0.1:{port}
start: none
server:
  cluster_name: signals
  datadir: {tmp_path}/data
  socket: {tmp_path}/mysqld.sock
  pid_file: {tmp_path}/mysqld.pid
  log_error: {tmp_path}/mysqld.err
  peers: ["127.0.0.1:4567"]
  node_address: 127.0.0.1
"""
    )
    return config, f"http://127.0.0.1:{port}/health/live"


@pytest.fixture
def cluster_file(tmp_path: Path) -> Path:
    """Members nobody answers for: the commands still run (and must still stop)."""
    (tmp_path / "client.cnf").write_text("[client]\nuser=root\npassword=x\n")
    ports = [free_port() for _ in range(4)]
    path = tmp_path / "cluster.yaml"
    path.write_text(
        f"""\
name: signals
credentials: {{file: client.cnf}}
members:
  - {{name: db-0, host: 127.0.0.1, port: {ports[0]}, agent: "http://127.0.0.1:{ports[1]}"}}
  - {{name: db-1, host: 127.0.0.1, port: {ports[2]}, agent: "http://127.0.0.1:{ports[3]}"}}
"""
    )
    return path


@pytest.mark.parametrize(("count", "gap"), PATTERNS.values(), ids=PATTERNS.keys())
def test_agent_stops_on_repeated_sigterm(
    agent_config: tuple[Path, str], count: int, gap: float
) -> None:
    config, url = agent_config
    codes = [
        stop_with_signals(
            lambda: spawn("agent", "--config", str(config)), http_ready(url), count, gap
        )
        for _ in range(ROUNDS)
    ]
    assert codes == [0] * ROUNDS


@pytest.mark.parametrize(("count", "gap"), PATTERNS.values(), ids=PATTERNS.keys())
def test_exporter_stops_on_repeated_sigterm(cluster_file: Path, count: int, gap: float) -> None:
    codes = []
    for _ in range(ROUNDS):
        port = free_port()
        codes.append(
            stop_with_signals(
                functools.partial(
                    spawn, "exporter", "-c", str(cluster_file), "--listen", f"127.0.0.1:{port}"
                ),
                http_ready(f"http://127.0.0.1:{port}/metrics"),
                count,
                gap,
            )
        )
    assert codes == [0] * ROUNDS


@pytest.mark.parametrize(("count", "gap"), PATTERNS.values(), ids=PATTERNS.keys())
def test_controller_stops_on_repeated_sigterm(cluster_file: Path, count: int, gap: float) -> None:
    codes = [
        stop_with_signals(
            lambda: spawn("controller", "-c", str(cluster_file), "-o", "json", "--interval", "1"),
            first_output,
            count,
            gap,
        )
        for _ in range(ROUNDS)
    ]
    assert codes == [0] * ROUNDS
