"""The failures the classic `-0 bootstraps` StatefulSet gets wrong, on a real kind cluster."""

from __future__ import annotations

import time

from tests.e2e.conftest import Kind


def test_chart_installs_a_healthy_three_member_cluster(kind_cluster: Kind) -> None:
    status = kind_cluster.status()
    assert status["cluster"]["verdict"] == "healthy"
    assert sorted(m["name"] for m in status["members"]) == ["galera-0", "galera-1", "galera-2"]


def test_pod_zero_restarting_alone_rejoins_and_never_forms_a_second_primary(
    kind_cluster: Kind,
) -> None:
    before = kind_cluster.pod_uids()
    kind_cluster.kubectl("delete", "pod", "galera-0", "--wait=false")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = kind_cluster.status()
        assert status["cluster"]["verdict"] != "split_brain"
        uids = kind_cluster.pod_uids()
        if uids.get("galera-0") not in (None, before["galera-0"]) and (
            status["cluster"]["verdict"] == "healthy"
        ):
            break
        time.sleep(3)
    final = kind_cluster.wait_healthy()
    uuids = {m["cluster_state_uuid"] for m in final["members"]}
    assert len(uuids) == 1


def test_full_outage_is_recovered_from_the_most_advanced_member(kind_cluster: Kind) -> None:
    uuid_before = kind_cluster.status()["members"][0]["cluster_state_uuid"]
    kind_cluster.kubectl(
        "delete",
        "pods",
        "-l",
        "galeractl.io/cluster=galera,app.kubernetes.io/component=database",
        "--grace-period=0",
        "--force",
    )
    status = kind_cluster.wait_healthy(timeout=1200)
    assert {m["cluster_state_uuid"] for m in status["members"]} == {uuid_before}


def test_rolling_restart_replaces_every_pod_once_and_stays_healthy(kind_cluster: Kind) -> None:
    before = kind_cluster.pod_uids()
    result = kind_cluster.galeractl(
        "upgrade", "--set", "max_connections=321", "--yes", "--drain-seconds", "2", "-o", "json"
    )
    assert '"event": "summary"' in str(result)
    after = kind_cluster.pod_uids()
    assert set(after) == set(before)
    assert all(after[name] != before[name] for name in before), "a pod was not replaced"
    kind_cluster.wait_healthy()


def test_status_from_outside_the_cluster_through_port_forwards(kind_cluster: Kind) -> None:
    """galeractl on the host: the Secret read through the API, members through kubectl."""
    from tests.e2e.conftest import NAMESPACE, TOOLS
    from tests.helpers import galeractl

    result = galeractl(
        "status",
        "--kube",
        "--context",
        f"kind-{kind_cluster.name}",
        "-n",
        NAMESPACE,
        "--statefulset",
        "galera",
        "--port-forward",
        "-o",
        "json",
        env={"GALERACTL_KUBECTL": str(TOOLS / "kubectl")} if (TOOLS / "kubectl").exists() else {},
    )
    assert result.code == 0, result.stderr
    assert result.json()["cluster"]["verdict"] == "healthy"
