"""Real-cluster fixtures: sandboxes of real mariadbd + Galera processes, always torn down."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from galera import sql
from galera.config import clusterfile
from galera.config.endpoints import of_member
from galera.controller import waiting
from galera.domain.snapshot import Observation
from galera.platforms.sandbox import Sandbox
from galera.testing import workload
from tests.helpers import ROOT, free_port, galeractl

HAVE_GALERA = all(
    Path(p).exists() for p in ("/usr/sbin/mariadbd", "/usr/lib/galera/libgalera_smm.so")
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Galera installed, real-cluster tests skip locally but fail in CI."""
    if HAVE_GALERA:
        return
    for item in items:
        if "cluster" in item.keywords:
            if os.environ.get("CI"):
                raise pytest.UsageError(
                    "CI must install mariadb-server and galera-4 (scripts/setup)"
                )
            item.add_marker(pytest.mark.skip(reason="mariadb-server/galera-4 not installed"))


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@contextlib.contextmanager
def running_exporter(cluster_file: Path, *args: str) -> Iterator[str]:
    """``galeractl exporter`` on a free port, labelled cluster=test; yields the metrics URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "galera",
            "exporter",
            "-c",
            str(cluster_file),
            "--listen",
            f"127.0.0.1:{port}",
            "--label",
            "cluster=test",
            *args,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, f"the exporter exited ({proc.returncode})"
            try:
                page = urllib.request.urlopen(url, timeout=5).read()
                if b"galera_exporter_scrape_duration_seconds" in page:  # ours, not another's
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "exporter did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def scrape(url: str) -> Samples:
    """One scrape, as {(name, sorted labels): value}; asserts HTTP 200."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


class RunningController:
    """``galeractl controller -o json`` in the background; every event with its time."""

    def __init__(self, proc: subprocess.Popen[str], log: Path) -> None:
        self.proc = proc
        self.log = log
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.append((time.monotonic(), json.loads(line)))

    def of(self, kind: str, action: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for _t, e in list(self.events)
            if e["event"] == kind and (action is None or e.get("action") == action)
        ]

    def wait_for(self, kind: str, timeout: float = 60) -> dict[str, Any]:
        """The first ``kind`` event, waiting for it up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not (found := self.of(kind)):
            assert self.proc.poll() is None, f"the controller ended\n{self.dump()}"
            assert time.monotonic() < deadline, f"no {kind!r} event\n{self.dump()}"
            time.sleep(0.2)
        return found[0]

    def dump(self) -> str:
        events = "\n".join(json.dumps(e) for _t, e in list(self.events))
        return f"{events[-6000:]}\n--- controller log ---\n{self.log.read_text()[-4000:]}"


@contextlib.contextmanager
def running_controller(handle: SandboxHandle, *args: str) -> Iterator[RunningController]:
    """The controller on ``handle``'s cluster; stopped (SIGTERM) when the block ends, and
    its events and log printed when the block fails."""
    log = handle.root / "controller.log"
    command = [sys.executable, "-m", "galera", "controller", "-c", str(handle.cluster_file)]
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [*command, "-o", "json", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    running = RunningController(proc, log)
    try:
        yield running
    except BaseException:
        print(running.dump())
        raise
    finally:
        proc.terminate()
        proc.wait(30)
        running._reader.join(5)


def _kill_leftovers(root: Path) -> None:
    """Last resort: kill any process whose command line mentions the sandbox directory."""
    out = subprocess.run(["pgrep", "-f", str(root)], capture_output=True, text=True).stdout
    for pid in out.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


class SandboxHandle:
    """A running sandbox for tests: its directory, cluster file and helpers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cluster_file = root / "cluster.yaml"

    @property
    def sandbox(self) -> Sandbox:
        return Sandbox.load(self.root)

    @property
    def spec(self) -> clusterfile.ClusterSpec:
        return clusterfile.load(self.cluster_file)

    def cli(self, *args: str) -> object:
        return galeractl(*args)

    def status(self) -> dict[str, object]:
        return galeractl("status", "-c", str(self.cluster_file), "-o", "json").json()

    def wait(
        self,
        names: list[str],
        condition: Callable[[Observation], bool],
        what: str,
        timeout: float = 90,
    ) -> None:
        """Wait until every member in ``names`` satisfies ``condition`` (the product's waiter)."""
        waiting.wait_for(self.spec, names, condition=condition, what=what, timeout=timeout)

    def endpoints(self) -> list[sql.Endpoint]:
        return [of_member(self.spec, m) for m in self.spec.members if not m.arbitrator]

    def writer(self, threads: int = 3) -> workload.Writer:
        return workload.Writer(self.endpoints(), self.spec.credentials(), threads=threads)

    def check(self, acked: set[str]) -> workload.CheckResult:
        return workload.check(self.endpoints(), self.spec.credentials(), acked)

    def kill_all(self, signame: str = "KILL") -> None:
        for name in [m.name for m in self.spec.members if not m.arbitrator]:
            result = galeractl(
                "sandbox", "kill", name, "--signal", signame, "--dir", str(self.root)
            )
            assert result.code == 0, result.stderr

    def wait_synced(self, names: list[str] | None = None, timeout: float = 120) -> None:
        names = names or [m.name for m in self.spec.members if not m.arbitrator]
        waiting.wait_for(self.spec, names, timeout=timeout)


def _up(tmp_root: Path, *args: str) -> Iterator[SandboxHandle]:
    root = tmp_root / "sb"
    # $GALERACTL_TEST_PORT_OFFSET moves every sandbox (two checkouts' suites side by side).
    offset = int(os.environ.get("GALERACTL_TEST_PORT_OFFSET", "0"))
    args = tuple(
        str(int(a) + offset) if i and args[i - 1] == "--base-port" else a
        for i, a in enumerate(args)
    )
    try:
        result = galeractl("sandbox", "up", "--dir", str(root), *args, timeout=400)
        assert result.code == 0, f"sandbox up failed: {result.stderr}"
        yield SandboxHandle(root)
    finally:
        if (root / "sandbox.json").exists():
            galeractl("sandbox", "down", "--dir", str(root), timeout=300)
        _kill_leftovers(root)
        # $GALERACTL_TEST_KEEP names a directory the sandbox is moved to (logs, data) for a
        # post-mortem instead of being removed.
        keep = os.environ.get("GALERACTL_TEST_KEEP")
        if keep and root.exists():
            shutil.move(str(root), str(Path(keep) / tmp_root.name))
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def sandbox3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Three members on loopback, ports from 23300."""
    yield from _up(tmp_path_factory.mktemp("three"), "--nodes", "3", "--base-port", "23300")


@pytest.fixture(scope="module")
def sandbox_recovery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Three members for full-outage tests (ports from 23500)."""
    yield from _up(tmp_path_factory.mktemp("recovery"), "--nodes", "3", "--base-port", "23500")


@pytest.fixture(scope="module")
def sandbox_rolling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Three members for rolling restarts (ports from 23600)."""
    yield from _up(tmp_path_factory.mktemp("rolling"), "--nodes", "3", "--base-port", "23600")


@pytest.fixture(scope="module")
def sandbox_autopilot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Three members for the controller's fault runs (ports from 24000)."""
    yield from _up(tmp_path_factory.mktemp("autopilot"), "--nodes", "3", "--base-port", "24000")


@pytest.fixture(scope="module")
def sandbox_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Two members and no arbitrator: no member can go down without risking quorum."""
    yield from _up(tmp_path_factory.mktemp("pair"), "--nodes", "2", "--base-port", "23700")


@pytest.fixture(scope="module")
def sandbox_arbitrator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Two data members and garbd: the two-sites-plus-witness shape."""
    yield from _up(
        tmp_path_factory.mktemp("arb"), "--nodes", "2", "--arbitrator", "--base-port", "23400"
    )


def netns_problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    if shutil.which("ip") is None or shutil.which("iptables") is None:
        return "needs iproute2 and iptables"
    probe = subprocess.run(
        ["ip", "netns", "add", "gctl-pytest-probe"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return f"ip netns unavailable: {probe.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", "gctl-pytest-probe"], capture_output=True)
    return None


@pytest.fixture(scope="module")
def sandbox_netns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Three members, each in its own network namespace."""
    problem = netns_problem()
    if problem:
        pytest.skip(problem)
    yield from _up(tmp_path_factory.mktemp("netns"), "--nodes", "3", "--netns")
