"""Rollouts on Kubernetes, end to end except for the cluster itself: galeractl talks to an
HTTP-level Kubernetes API double whose pods are real mariadbd members of a sandbox, and a
kubelet stand-in replaces every pod galeractl deletes (the new container joins, as the
rendered StatefulSet's agent does). The tests assert the requests galeractl made."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kmock
import pytest

from galera.controller import members
from galera.render import manifests
from tests.helpers import Result, events, galeractl, kill_after, of
from tests.integration.conftest import SandboxHandle, _up
from tests.kubernetes import apiserver
from tests.kubernetes.apiserver import (
    CONFIGMAPS,
    EVENTS,
    NAMESPACE,
    PODS,
    SECRETS,
    STATEFULSETS,
    Emulator,
    Kubelet,
)

pytestmark = pytest.mark.cluster
NAMES = ["galera-0", "galera-1", "galera-2"]
PROGRESS = "galera-galeractl-rolling"
FAKE_KUBECTL = Path(__file__).parents[1] / "kubernetes" / "bin" / "kubectl-port-forward"


@pytest.fixture(scope="module")
def sandbox_kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Three members behind the API double (ports from 23800). Plaintext: the rollout
    mechanics are what this module tests; TLS on Kubernetes is tested in tests/kubernetes."""
    yield from _up(
        tmp_path_factory.mktemp("kube"), "--nodes", "3", "--base-port", "23800", "--no-tls"
    )


@pytest.fixture
def cluster(sandbox_kube: SandboxHandle) -> Iterator[tuple[Emulator, str, Kubelet]]:
    """The rendered objects of a 3-member cluster, with pods at the sandbox's members."""
    sandbox_kube.wait_synced()
    spec = sandbox_kube.spec
    credentials = spec.credentials()
    with apiserver.serving() as (emu, url):
        objs = manifests.objects({"namespace": NAMESPACE, "tls": {"enabled": False}})
        sts = next(o for o in objs if o["kind"] == "StatefulSet")
        emu.seed(STATEFULSETS, sts)
        client_cnf = f"[client]\nuser = {credentials.user}\npassword = {credentials.password}\n"
        files = {"client.cnf": client_cnf, "agent-token": spec.agent_token() or ""}
        emu.seed(SECRETS, apiserver.secret("galera-secrets", files))
        ports = {
            m.name: {"mysql": m.port, "agent": int(m.agent.rsplit(":", 1)[1])}
            for m in spec.members
            if not m.arbitrator
        }
        for ordinal, name in enumerate(NAMES):
            emu.seed(PODS, apiserver.pod_for(sts, ordinal, "127.0.0.1", ports[name]))
        with Kubelet(emu, "galera", members.agents(spec), ports) as kubelet:
            yield emu, url, kubelet


def kube(url: str, command: str, *args: str) -> Result:
    return galeractl(
        command, "--kube", "--kube-api", url, "-n", NAMESPACE, "--drain-seconds", "0.5", *args
    )


def deleted_pods(emu: Emulator) -> list[str]:
    return [r.name for r in apiserver.requests(emu, "DELETE", PODS)]


def test_rolling_restart_replaces_pods_one_at_a_time_in_the_safe_order(
    sandbox_kube: SandboxHandle, cluster: tuple[Emulator, str, Kubelet]
) -> None:
    emu, url, kubelet = cluster
    ssts = sandbox_kube.sandbox.full_ssts()
    # The second write of the record loses a compare-and-swap race once: handled.
    (
        emu["put", kmock.resource(CONFIGMAPS), kmock.name(PROGRESS)][1:2]
        << 409
        << {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "reason": "Conflict",
            "code": 409,
            "message": "the object has been modified",
        }
    )
    with sandbox_kube.writer() as writer:
        writer.wait_for_acks(100)
        result = kube(url, "rolling-restart", "--yes", "-o", "json")
        writer.wait_for_acks(len(writer.stats.acked) + 50)
    assert result.code == 0, result.stderr + result.stdout
    order = of(events(result), "plan")[0]["order"]
    assert sorted(order) == NAMES
    assert deleted_pods(emu) == order
    assert kubelet.replaced == order
    # One at a time: a pod is deleted only after the previous member was recorded Synced.
    sequence = list(emu)
    for before, after in itertools.pairwise(order):
        delete_at = next(
            i for i, r in enumerate(sequence) if r.method == "DELETE" and r.name == after
        )
        recorded = [
            i
            for i, r in enumerate(sequence)
            if r.method == "PUT"
            and r.name == PROGRESS
            and before in (r.data.get("data", {}).get("progress.json") or "")
            and '"done"' in r.data["data"]["progress.json"]
            and f'"{before}"' in r.data["data"]["progress.json"].split('"done"')[1].split("]")[0]
        ]
        assert recorded and recorded[0] < delete_at, f"{after} deleted before {before} was Synced"
    writes = apiserver.requests(emu, "PUT", CONFIGMAPS)
    versions = [w.data["metadata"]["resourceVersion"] for w in writes]
    assert all(versions)
    # The write that lost the race was re-read and sent again with the same version.
    assert versions[1] == versions[2]
    record = emu.current(CONFIGMAPS, PROGRESS)
    assert record is not None and '"state": "done"' in record["data"]["progress.json"]
    reasons = [r.data["reason"] for r in apiserver.requests(emu, "POST", EVENTS)]
    assert reasons.count("PodDeleted") == 3 and "Summary" in reasons
    assert sandbox_kube.sandbox.full_ssts() == ssts, "a member rejoined by full SST"
    check = sandbox_kube.check(writer.stats.acked)
    assert check.ok, check.message


def test_image_upgrade_patches_the_statefulset_before_any_pod_is_deleted(
    sandbox_kube: SandboxHandle, cluster: tuple[Emulator, str, Kubelet]
) -> None:
    emu, url, _kubelet = cluster
    image = "registry.example.com/galera-node:2.0"
    result = kube(url, "upgrade", "--image", image, "--yes", "-o", "json")
    assert result.code == 0, result.stderr + result.stdout
    sequence = list(emu)
    patch_at = next(i for i, r in enumerate(sequence) if r.method == "PATCH")
    first_delete = next(i for i, r in enumerate(sequence) if r.method == "DELETE")
    assert patch_at < first_delete
    assert len(deleted_pods(emu)) == 3
    for name in NAMES:
        pod = emu.current(PODS, name)
        assert pod is not None and pod["spec"]["containers"][0]["image"] == image
    sandbox_kube.wait_synced()


def test_a_failed_gate_deletes_no_pod_and_patches_nothing(
    sandbox_kube: SandboxHandle, cluster: tuple[Emulator, str, Kubelet]
) -> None:
    emu, url, _kubelet = cluster
    down = galeractl(
        "sandbox", "kill", "galera-2", "--signal", "TERM", "--dir", str(sandbox_kube.root)
    )
    assert down.code == 0, down.stderr
    try:
        result = kube(url, "upgrade", "--image", "x/y:3", "--yes", "-o", "json")
        assert result.code == 1, result.stderr + result.stdout
        assert "refused before touching anything" in result.stderr
        assert not deleted_pods(emu)
        assert not apiserver.requests(emu, "PATCH", STATEFULSETS)
    finally:
        up = galeractl("sandbox", "start", "galera-2", "--dir", str(sandbox_kube.root))
        assert up.code == 0, up.stderr
        sandbox_kube.wait_synced()


def test_killed_mid_rollout_then_resumed_never_replaces_a_pod_twice(
    sandbox_kube: SandboxHandle, cluster: tuple[Emulator, str, Kubelet]
) -> None:
    emu, url, kubelet = cluster
    args = ["--kube", "--kube-api", url, "-n", NAMESPACE, "--drain-seconds", "0.5", "--yes"]
    first = kill_after("pod_deleted", "rolling-restart", *args)
    sandbox_kube.wait_synced()
    resumed = galeractl("rolling-restart", *args, "--resume", "-o", "json")
    assert resumed.code == 0, resumed.stderr + resumed.stdout
    deleted = deleted_pods(emu)
    assert sorted(deleted) == NAMES, deleted
    assert deleted[0] == first["member"]
    assert kubelet.replaced == deleted
    skipped_or_resumed: list[dict[str, Any]] = of(events(resumed), "resuming")
    assert [e["member"] for e in skipped_or_resumed] == [first["member"]]


def test_reinit_empties_a_member_through_its_agent_never_by_deleting_a_pod_or_volume(
    sandbox_kube: SandboxHandle, cluster: tuple[Emulator, str, Kubelet]
) -> None:
    emu, url, _kubelet = cluster
    ssts = sandbox_kube.sandbox.full_ssts()
    result = galeractl(
        "reinit", "galera-1", "--kube", "--kube-api", url, "-n", NAMESPACE, "--yes", "-o", "json"
    )
    assert result.code == 0, result.stderr + result.stdout
    (emptied,) = of(events(result), "emptied")
    assert emptied["member"] == "galera-1" and emptied["bytes"] > 0
    assert sandbox_kube.sandbox.full_ssts() == ssts + 1
    deletes = [r for r in emu if r.method == "DELETE"]
    assert not deletes, [(r.method, r.name) for r in deletes]  # no pod, no volume claim
    sandbox_kube.wait_synced()


def test_a_scheduled_backup_needs_the_agent_token_only_and_keeps_the_newest(
    sandbox_kube: SandboxHandle, cluster: tuple[Emulator, str, Kubelet], tmp_path: Path
) -> None:
    """What the rendered CronJob runs: `backup --into DIR --keep N` with a secrets directory
    that holds the agent token and no database account."""
    _emu, url, _kubelet = cluster
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "agent-token").write_text(sandbox_kube.spec.agent_token() or "")
    series = tmp_path / "backups"
    args = ("backup", "--kube", "--kube-api", url, "-n", NAMESPACE, "--secrets-dir", str(secrets))
    for _ in range(3):
        result = galeractl(*args, "--into", str(series), "--keep", "2", "-o", "json", timeout=300)
        assert result.code == 0, result.stderr
        assert of(events(result), "backup_taken")
        time.sleep(1.1)  # one backup directory per second
    kept = sorted(p.name for p in series.iterdir() if p.name.startswith("backup-"))
    assert len(kept) == 2
    assert all((series / name / "galeractl-backup.json").is_file() for name in kept)
    assert galeractl("backup", "verify", str(series / kept[-1])).code == 0
    # Without a database account a command that reads SQL says so in one line.
    status = galeractl("status", *args[1:], "-o", "json")
    assert status.code == 2
    assert "no SQL account" in status.stderr


def test_initialize_is_refused_on_a_member_that_holds_data(sandbox_kube: SandboxHandle) -> None:
    """The first-installation path can never re-form a cluster that has data."""
    from galera.errors import UnsafeOperation

    agent = members.agents(sandbox_kube.spec)["galera-1"]
    agent.stop()
    try:
        with pytest.raises(UnsafeOperation, match="data directory is not empty"):
            agent.start("initialize")
    finally:
        agent.start("join")
    sandbox_kube.wait_synced()


def test_full_outage_bootstrap_keeps_its_record_in_a_configmap_and_reports_events(
    sandbox_kube: SandboxHandle, cluster: tuple[Emulator, str, Kubelet]
) -> None:
    emu, url, _kubelet = cluster
    sandbox_kube.kill_all()
    result = galeractl(
        "bootstrap", "--kube", "--kube-api", url, "-n", NAMESPACE, "--yes", "-o", "json"
    )
    assert result.code == 0, result.stderr + result.stdout
    assert of(events(result), "summary")[0]["verdict"] == "healthy"
    record = emu.current(CONFIGMAPS, "galera-galeractl-bootstrap")
    assert record is not None
    assert '"state": "done"' in record["data"]["progress.json"]
    writes = apiserver.requests(emu, "PUT", CONFIGMAPS)
    assert writes and all(w.data["metadata"]["resourceVersion"] for w in writes)
    reasons = [r.data["reason"] for r in apiserver.requests(emu, "POST", EVENTS)]
    assert {"Plan", "BootstrapMark", "PrimaryFormed", "Summary"} <= set(reasons)
    assert not deleted_pods(emu), "a bootstrap never deletes pods"
    status = galeractl("status", "--kube", "--kube-api", url, "-n", NAMESPACE, "-o", "json")
    assert status.code == 0, status.stdout


def test_controller_rolls_pods_whose_template_changed_only_when_healthy(
    sandbox_kube: SandboxHandle, cluster: tuple[Emulator, str, Kubelet]
) -> None:
    """`helm upgrade` changes the pod template (OnDelete: nothing restarts); the controller
    replaces the outdated pods itself, safely, and only while every member is in the Primary
    component."""
    emu, url, kubelet = cluster
    sts = emu.current(STATEFULSETS, "galera")
    assert sts is not None
    sts["spec"]["template"]["metadata"]["annotations"][manifests.CONFIG_HASH] = "changed"
    emu.seed(STATEFULSETS, sts)
    args = [*apiserver.kube_args(url, "controller"), "--interval", "0.2", "--cycles", "1"]

    down = galeractl(
        "sandbox", "kill", "galera-1", "--signal", "TERM", "--dir", str(sandbox_kube.root)
    )
    assert down.code == 0, down.stderr
    try:
        degraded = galeractl(*args, "--member-down-grace", "600")
        assert degraded.code == 0, degraded.stderr
        assert not [e for e in of(events(degraded), "decision") if e["action"] == "rollout"]
        assert not deleted_pods(emu)
    finally:
        up = galeractl("sandbox", "start", "galera-1", "--dir", str(sandbox_kube.root))
        assert up.code == 0, up.stderr
    sandbox_kube.wait_synced()

    healthy = galeractl(*args)
    assert healthy.code == 0, healthy.stderr + healthy.stdout
    (decision,) = [e for e in of(events(healthy), "decision") if e["action"] == "rollout"]
    assert sorted(decision["members"]) == NAMES
    assert sorted(deleted_pods(emu)) == NAMES
    assert kubelet.replaced == deleted_pods(emu)
    for name in NAMES:
        pod = emu.current(PODS, name)
        assert pod is not None
        assert pod["metadata"]["annotations"][manifests.CONFIG_HASH] == "changed"
    sandbox_kube.wait_synced()


def test_from_outside_the_cluster_members_are_reached_through_port_forwards(
    sandbox_kube: SandboxHandle, cluster: tuple[Emulator, str, Kubelet], tmp_path: Path
) -> None:
    """Pod IPs do not route from here (127.0.0.2: nothing listens): every member is reached
    through `kubectl port-forward`, reopened for each replaced pod."""
    emu, url, _kubelet = cluster
    for name in NAMES:
        pod = emu.current(PODS, name)
        assert pod is not None
        pod["status"]["podIP"] = "127.0.0.2"
        emu.seed(PODS, pod)
    log = tmp_path / "kubectl.log"
    env = {"GALERACTL_KUBECTL": str(FAKE_KUBECTL), "FAKE_KUBECTL_LOG": str(log)}
    args = ["--kube", "--kube-api", url, "-n", NAMESPACE]

    direct = galeractl("status", *args, "-o", "json")
    assert direct.code == 1  # nothing answers at the pod IPs
    status = galeractl("status", *args, "--port-forward", "-o", "json", env=env)
    assert status.code == 0, status.stderr + status.stdout
    assert log.read_text().count("port-forward") == 3  # one per pod

    roll = galeractl(
        "rolling-restart", *args, "--port-forward", "--yes", "--drain-seconds", "0.5", env=env
    )
    assert roll.code == 0, roll.stderr + roll.stdout
    forwarded = [line.split() for line in log.read_text().splitlines()]
    pods = [next(a for a in line if a.startswith("pod/")) for line in forwarded[3:]]
    # One forward per pod at the start of the rollout, and one more per replaced pod.
    assert sorted(pods) == sorted([f"pod/{n}" for n in NAMES] * 2)


def test_a_new_cluster_is_restored_from_a_backup_through_the_agents(
    sandbox_kube: SandboxHandle, cluster: tuple[Emulator, str, Kubelet], tmp_path: Path
) -> None:
    """`galeractl restore DIR --new-cluster --kube`: the pods' data directories emptied
    (through their agents, never by deleting a pod or a volume claim), every member receives
    the backup and the cluster forms at its position without a full SST."""
    emu, url, _kubelet = cluster
    args = ("--kube", "--kube-api", url, "-n", NAMESPACE)
    backup = tmp_path / "backup"
    taken = galeractl("backup", *args, "--to", str(backup), timeout=300)
    assert taken.code == 0, taken.stderr
    refused = galeractl("restore", str(backup), *args, "--new-cluster", "--yes")
    assert refused.code == 1 and "holds data" in refused.stderr
    clients = members.agents(sandbox_kube.spec)
    for client in clients.values():
        client.stop()
    for client in clients.values():
        client.reinit()
    ssts = sandbox_kube.sandbox.full_ssts()
    result = galeractl(
        "restore", str(backup), *args, "--new-cluster", "--yes", "-o", "json", timeout=600
    )
    assert result.code == 0, result.stderr + result.stdout
    evts = events(result)
    assert sorted(e["member"] for e in of(evts, "restored")) == NAMES
    assert of(evts, "summary")[-1]["verdict"] == "healthy"
    assert sandbox_kube.sandbox.full_ssts() == ssts
    assert not deleted_pods(emu)
    assert not [r for r in emu if r.method == "DELETE"]
