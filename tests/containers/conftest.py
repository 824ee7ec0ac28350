"""Container fixtures: a Docker engine (started here when none runs, stopped again by whoever
started it), the images built once per session from a local Debian base, and a sandbox of
node containers, always torn down.

Only a machine where no container engine can start skips these tests (the reason is given);
a failing image build or sandbox is a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from galera.config import clusterfile
from galera.controller import waiting
from galera.domain.snapshot import Observation
from galera.platforms import docker
from galera.platforms.containers import ContainerSandbox
from tests.helpers import ROOT, galeractl

NODE_IMAGE = "galeractl/galera-node:dev"
CONTROLLER_IMAGE = "galeractl/galeractl:dev"


def _start_dockerd(log: Path) -> tuple[subprocess.Popen[bytes] | None, str | None]:
    """Start dockerd (overlay2) when none answers: (the process we started, or None; why an
    engine cannot run here, or None)."""
    if shutil.which("dockerd") is None:
        return None, "dockerd is not installed (scripts/setup installs docker.io)"
    if os.geteuid() != 0:
        return None, "starting dockerd needs root"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            ["dockerd", "--storage-driver", "overlay2"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:]
            return None, f"dockerd exited with {proc.returncode}: {tail[0] if tail else ''}"
        if docker.available() is None:
            return proc, None
        time.sleep(0.5)
    proc.terminate()
    return None, "dockerd did not answer within 60 s"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A Docker engine that answers; skips only when none can run here."""
    if shutil.which(docker.client()) is None:
        pytest.skip(f"{docker.client()} is not installed (scripts/setup installs docker.io)")
    started = None
    if docker.available() is not None:
        started, problem = _start_dockerd(tmp_path_factory.mktemp("dockerd") / "dockerd.log")
        if problem:
            pytest.skip(f"no container engine can start here: {problem}")
    yield
    if started is not None:
        started.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            started.wait(60)


@pytest.fixture(scope="session")
def images(engine: None) -> tuple[str, str]:
    """The node and controller images of this checkout, built once per session (layers are
    cached: about a second when nothing changed, seconds when only galera/ did)."""
    result = subprocess.run(
        ["bash", "scripts/build-images", "--local-base"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, f"scripts/build-images failed:\n{result.stderr[-3000:]}"
    return NODE_IMAGE, CONTROLLER_IMAGE


class Handle:
    """A container sandbox for tests: its directory, cluster file and helpers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cluster_file = root / "cluster.yaml"

    @property
    def sandbox(self) -> ContainerSandbox:
        return ContainerSandbox.load(self.root)

    @property
    def spec(self) -> clusterfile.ClusterSpec:
        return clusterfile.load(self.cluster_file)

    def container(self, name: str) -> str:
        return self.sandbox.member(name).container

    def exec(self, name: str, *cmd: str) -> tuple[int, str]:
        return docker.exec_in(self.container(name), list(cmd))

    def status(self) -> dict[str, object]:
        result = galeractl("status", "-c", str(self.cluster_file), "-o", "json")
        return dict(result.json())

    def wait_synced(self, names: list[str] | None = None, timeout: float = 180) -> None:
        names = names or [m.name for m in self.spec.members if not m.arbitrator]
        waiting.wait_for(self.spec, names, timeout=timeout)

    def wait(
        self,
        names: list[str],
        condition: Callable[[Observation], bool],
        what: str,
        timeout: float = 90,
    ) -> None:
        """Wait until every member in ``names`` satisfies ``condition`` (the product's waiter)."""
        waiting.wait_for(self.spec, names, condition=condition, what=what, timeout=timeout)


@pytest.fixture(scope="package")
def containers3(
    images: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Handle]:
    """Three node containers formed as a first installation (``sandbox up --containers``),
    shared by every container test (each leaves it Synced), and removed once they ran:
    three running members left for the rest of the session slowed every later test on a
    2-core machine until some failed."""
    root = tmp_path_factory.mktemp("containers") / "sb"
    try:
        started = time.monotonic()
        result = galeractl("sandbox", "up", "--containers", "--dir", str(root), timeout=600)
        assert result.code == 0, f"sandbox up --containers failed: {result.stderr}"
        print(f"sandbox up --containers: all Synced in {time.monotonic() - started:.1f}s")
        yield Handle(root)
    finally:
        if (root / "sandbox.json").exists():
            galeractl("sandbox", "down", "--purge", "--dir", str(root), timeout=300)
