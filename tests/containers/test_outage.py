"""The controller image against container members: ``galeractl`` in its own container on
the sandbox's network, and full outages while a writer runs: every container crashing at once
(brought back by its restart policy, as the kubelet restarts a pod's container) and every
container stopped at once then started again (pods evicted and scheduled back). Nothing
acknowledged is lost and the members end identical."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from galera.config.endpoints import of_member
from galera.platforms import docker
from galera.testing import workload
from tests.containers.conftest import Handle

pytestmark = pytest.mark.containers


@pytest.fixture(scope="module")
def controller(containers3: Handle) -> Iterator[str]:
    """``galeractl controller`` in a container of the controller image, short graces."""
    args = ["controller", "-o", "json", "--interval", "1", "--no-primary-grace", "5"]
    name = containers3.sandbox.galeractl([*args, "--member-down-grace", "5"], detach=True)
    yield name
    docker.remove("container", name)


def _events(container: str) -> list[dict[str, Any]]:
    logs = docker.run(["logs", container], check=False)
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


def _restarts(handle: Handle, name: str) -> int:
    info = docker.inspect("container", handle.container(name)) or {}
    return int(info.get("RestartCount") or 0)


def test_controller_image_reads_the_cluster_from_its_own_container(containers3: Handle) -> None:
    out = containers3.sandbox.galeractl(["status", "-o", "json"])
    status = json.loads(out)
    assert status["cluster"]["verdict"] == "healthy", status["cluster"]
    assert [m["host"] for m in status["members"]] == [m.host for m in containers3.spec.members]


def _outage(handle: Handle, cut: Any) -> float:
    """Run ``cut`` under a writer; the seconds until every member is Synced again."""
    spec = handle.spec
    endpoints = [of_member(spec, m) for m in spec.members]
    with workload.Writer(endpoints, spec.credentials(), threads=3) as writer:
        writer.wait_for_acks(100)
        started = time.monotonic()
        cut()
        acked = len(writer.stats.acked)
        handle.wait_synced(timeout=240)
        took = time.monotonic() - started
        writer.wait_for_acks(acked + 100, timeout=120)
    check = workload.check(endpoints, spec.credentials(), writer.stats.acked)
    assert check.ok, check.message
    assert handle.status()["cluster"]["verdict"] == "healthy"  # type: ignore[index]
    return took


def test_every_container_crashing_at_once_recovers_with_nothing_lost(
    containers3: Handle, controller: str
) -> None:
    sandbox = containers3.sandbox
    names = [m.name for m in sandbox.members]
    restarts = {n: _restarts(containers3, n) for n in names}

    def crash_all() -> None:
        for name in names:  # SIGKILL to each container's PID 1, from the host
            sandbox.kill(name, "KILL", container=True)

    took = _outage(containers3, crash_all)
    assert all(_restarts(containers3, n) > restarts[n] for n in names), "not restarted"
    print(f"every container crashed: Synced again in {took:.1f}s")


def test_every_container_stopped_at_once_the_controller_container_bootstraps(
    containers3: Handle, controller: str
) -> None:
    """A clean stop of every member leaves no saved Primary view (gvwstate.dat) for
    pc.recovery: only a bootstrap of the most advanced member brings the cluster back, and
    the controller in its container does it."""
    sandbox = containers3.sandbox
    before = len(_events(controller))

    def stop_and_start_all() -> None:
        docker.run(["stop", *(m.container for m in sandbox.members)], timeout=200)
        docker.run(["start", *(m.container for m in sandbox.members)])

    took = _outage(containers3, stop_and_start_all)
    events = _events(controller)[before:]
    bootstraps = [e for e in events if e.get("action") == "bootstrap"]
    assert bootstraps and any(e.get("event") == "primary" for e in events), events[-20:]
    print(f"every container stopped and started: Synced again in {took:.1f}s")
