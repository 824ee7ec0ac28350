"""The node image run as the StatefulSet runs it: real containers, real MariaDB Galera.

One sandbox of three containers serves every module (``sandbox up --containers``); the tests
that stop or replace a member leave it Synced again.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from galera.config.endpoints import of_member
from galera.domain import grastate
from galera.platforms import docker
from galera.testing import workload
from tests.containers.conftest import Handle
from tests.helpers import galeractl

pytestmark = pytest.mark.containers


def _health(handle: Handle, name: str) -> str:
    state = docker.container_state(handle.container(name)) or {}
    return str((state.get("Health") or {}).get("Status"))


def test_fresh_cluster_is_healthy_and_docker_health_follows_readiness(containers3: Handle) -> None:
    status = containers3.status()
    assert status["cluster"]["verdict"] == "healthy", status["cluster"]  # type: ignore[index]
    deadline = time.monotonic() + 30
    names = [m.name for m in containers3.spec.members]
    while any(_health(containers3, n) != "healthy" for n in names):
        assert time.monotonic() < deadline, {n: _health(containers3, n) for n in names}
        time.sleep(1)
    spec = docker.inspect("container", containers3.container("galera-1")) or {}
    health = spec["Config"]["Healthcheck"]["Test"]
    assert "/health/ready" in " ".join(health)  # the StatefulSet's readinessProbe


def test_agent_is_pid_1_and_reaps_zombies(containers3: Handle) -> None:
    code, cmdline = containers3.exec("galera-1", "cat", "/proc/1/cmdline")
    assert code == 0
    assert cmdline.split("\0")[1:4] == ["/usr/local/bin/galeractl", "agent", "--config"], cmdline
    # Orphans of a shell: reparented to PID 1, they become zombies unless PID 1 reaps them.
    orphan = "for i in 1 2 3 4; do sleep 2 >/dev/null 2>&1 & done"
    code, out = containers3.exec("galera-1", "sh", "-c", orphan)
    assert code == 0, out

    def orphans() -> list[str]:
        _, ps = containers3.exec("galera-1", "ps", "-eo", "stat=,ppid=,comm=")
        return [line for line in ps.splitlines() if line.split()[-1] == "sleep"]

    seen = orphans()
    assert seen and all(line.split()[1] == "1" for line in seen), seen
    deadline = time.monotonic() + 10
    while orphans():
        assert time.monotonic() < deadline, f"PID 1 left zombies: {orphans()}"
        time.sleep(0.3)


def test_root_filesystem_is_read_only_while_agent_and_mariadbd_run(containers3: Handle) -> None:
    _, ps = containers3.exec("galera-2", "ps", "-eo", "uid=,comm=")
    processes = {line.split()[1]: line.split()[0] for line in ps.splitlines()}
    assert processes.get("mariadbd") == "999" and processes.get("galeractl") in (None, "999")
    _, agent_uid = containers3.exec("galera-2", "sh", "-c", "stat -c %u /proc/1")
    assert agent_uid.strip() == "999"
    for path in ("/x", "/etc/galeractl/config/x", "/usr/sbin/x", "/opt/galeractl/x"):
        code, out = containers3.exec("galera-2", "touch", path)
        assert code != 0 and "Read-only file system" in out, (path, out)
    code, out = containers3.exec("galera-2", "touch", "/var/lib/mysql/probe", "/tmp/probe")
    assert code == 0, out  # the data volume and the emptyDirs are writable
    _, caps = containers3.exec("galera-2", "grep", "^CapEff", "/proc/1/status")
    assert caps.split()[1] == "0000000000000000", caps
    assert containers3.status()["cluster"]["verdict"] == "healthy"  # type: ignore[index]


def test_docker_stop_is_graceful_within_the_grace_period(containers3: Handle) -> None:
    sandbox = containers3.sandbox
    ssts = sandbox.full_ssts()
    member = next(m for m in containers3.status()["members"] if m["name"] == "galera-2")  # type: ignore[union-attr]
    info = docker.inspect("container", containers3.container("galera-2")) or {}
    grace = int(info["Config"]["StopTimeout"])
    started = time.monotonic()
    docker.run(["stop", containers3.container("galera-2")], timeout=grace + 30)
    took = time.monotonic() - started
    state = docker.container_state(containers3.container("galera-2")) or {}
    assert state["ExitCode"] == 0, state  # 137 would be the SIGKILL at the end of the grace
    assert took < grace, f"docker stop took {took:.0f}s of a {grace}s grace period"
    saved = grastate.parse(sandbox.read_data_file("galera-2", "grastate.dat"), "grastate.dat")
    assert saved.seqno == member["last_committed"], saved
    assert saved.uuid == member["cluster_state_uuid"], saved
    result = galeractl("sandbox", "start", "galera-2", "--dir", str(containers3.root))
    assert result.code == 0, result.stderr
    assert containers3.sandbox.full_ssts() == ssts, "galera-2 rejoined by full SST"


def test_replacing_galera_0_alone_never_forms_a_second_primary_and_rejoins_by_ist(
    containers3: Handle,
) -> None:
    sandbox = containers3.sandbox
    ssts = sandbox.full_ssts()
    ists = sandbox.read_data_file("galera-0", "mariadb.err").count("IST received")
    history = containers3.status()["members"][1]["cluster_state_uuid"]  # type: ignore[index]
    old = (docker.inspect("container", containers3.container("galera-0")) or {})["Id"]
    spec = containers3.spec
    endpoints = [of_member(spec, m) for m in spec.members]
    samples: list[dict[str, Any]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            samples.append(containers3.status())
            done.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    with workload.Writer(endpoints, spec.credentials(), threads=2) as writer:
        writer.wait_for_acks(50)
        watcher.start()
        result = galeractl("sandbox", "replace", "galera-0", "--dir", str(containers3.root))
        assert result.code == 0, result.stderr
        acked = len(writer.stats.acked)
        writer.wait_for_acks(acked + 50)
    done.set()
    watcher.join(30)
    check = workload.check(endpoints, spec.credentials(), writer.stats.acked)
    assert check.ok, check.message

    new = (docker.inspect("container", containers3.container("galera-0")) or {})["Id"]
    assert new != old, "galera-0 was not replaced by a new container"
    assert samples, "no status was read during the replacement"
    for sample in samples:
        assert sample["cluster"]["verdict"] != "split_brain", sample["cluster"]
        for m in sample["members"]:
            if m.get("cluster_status") == "Primary":
                assert m["cluster_state_uuid"] == history, m  # never a new history
                assert m["cluster_size"] >= 2, m  # galera-0 never a Primary of its own
    log = sandbox.read_data_file("galera-0", "mariadb.err")
    assert log.count("IST received") > ists, "galera-0 did not rejoin by IST"
    assert sandbox.full_ssts() == ssts, "galera-0 rejoined by full SST"
    assert containers3.status()["cluster"]["verdict"] == "healthy"  # type: ignore[index]
