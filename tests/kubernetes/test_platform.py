"""The Kubernetes platform against an HTTP-level API double: discovery, the operation record
with compare-and-swap, the Lease, Events, and clear errors. No database here: the real
Galera side is tested with a sandbox in test_rollout.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from galera import fence, tls
from galera.controller import certs, fencing
from galera.controller.progress import Progress
from galera.domain.events import Kind
from galera.domain.events import of as make_event
from galera.errors import InvalidInput, LeaseLost, UnsafeOperation
from galera.platforms.kubernetes import Kubernetes, Target
from galera.render import manifests
from tests.helpers import events, galeractl, of, one_line_error
from tests.kubernetes import apiserver
from tests.kubernetes.apiserver import (
    CONFIGMAPS,
    DEPLOYMENTS,
    EVENTS,
    LEASES,
    NAMESPACE,
    PODS,
    SECRETS,
    STATEFULSETS,
    Emulator,
)

CLIENT_CNF = "[client]\nuser = monitor\npassword = s3cret-Pw\n"


def seed_cluster(emu: Emulator, values: dict[str, Any], pods: bool = True) -> list[dict[str, Any]]:
    """What `galeractl render | kubectl apply` plus the StatefulSet controller would create,
    with the TLS Secret of `galeractl certs secret` (TLS is on by default)."""
    values = {"namespace": NAMESPACE, **values}
    objs = manifests.objects(values)
    resources = {"StatefulSet": STATEFULSETS, "Deployment": DEPLOYMENTS, "ConfigMap": CONFIGMAPS}
    for obj in objs:
        if obj["kind"] in resources:
            emu.seed(resources[obj["kind"]], obj)
    secret_name = values.get("secretName", "galera-secrets")
    emu.seed(
        SECRETS, apiserver.secret(secret_name, {"client.cnf": CLIENT_CNF, "agent-token": "tok"})
    )
    if manifests.validate(values)["tls"]["enabled"]:
        emu.seed(SECRETS, certs.kubernetes_secret(values, None, 30, None)[0])
    if pods:
        for i, sts in enumerate(o for o in objs if o["kind"] == "StatefulSet"):
            for ordinal in range(sts["spec"]["replicas"]):
                emu.seed(PODS, apiserver.pod_for(sts, ordinal, f"127.0.{i}.{ordinal + 10}"))
    return objs


@pytest.fixture
def api() -> Iterator[tuple[Emulator, str]]:
    with apiserver.serving() as (emu, url):
        yield emu, url


def kube(url: str, cluster: str = "galera", **kw: Any) -> Kubernetes:
    return Kubernetes(Target(cluster=cluster, namespace=NAMESPACE, api_url=url, **kw))


def test_members_are_the_pods_of_every_group_with_their_weights_and_the_arbitrator(
    api: tuple[Emulator, str],
) -> None:
    emu, url = api
    seed_cluster(
        emu,
        {
            "name": "orders",
            "groups": [
                {"name": "a", "replicas": 2, "weight": 2},
                {"name": "b", "replicas": 2, "segment": 1},
            ],
        },
    )
    spec = kube(url, "orders").spec()
    data = [m for m in spec.members if not m.arbitrator]
    assert [m.name for m in data] == ["orders-a-0", "orders-a-1", "orders-b-0", "orders-b-1"]
    assert [m.host for m in data] == ["127.0.0.10", "127.0.0.11", "127.0.1.10", "127.0.1.11"]
    assert [m.weight for m in data] == [2, 2, 1, 1]
    assert {m.port for m in data} == {3306}
    assert data[0].agent == "https://127.0.0.10:8008"
    assert data[0].tls_name == "orders-a-0.orders-peers.db.svc"
    assert [m.name for m in spec.members if m.arbitrator] == ["orders-arbitrator"]
    assert spec.credentials().user == "monitor"
    assert spec.agent_token() == "tok"
    assert "s3cret-Pw" not in repr(spec)
    selectors = [r.params.get("labelSelector") for r in apiserver.requests(emu, "GET", PODS)]
    assert selectors == ["galeractl.io/cluster=orders,app.kubernetes.io/component=database"]


def test_a_missing_pod_is_still_an_expected_member(api: tuple[Emulator, str]) -> None:
    emu, url = api
    seed_cluster(emu, {})
    emu.remove(PODS, "galera-1")
    spec = kube(url).spec()
    assert [m.name for m in spec.members] == ["galera-0", "galera-1", "galera-2"]
    assert spec.member("galera-1").host == "galera-1.galera-peers"


def test_secrets_from_a_mounted_directory_instead_of_the_api(
    api: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, url = api
    seed_cluster(emu, {})
    (tmp_path / "client.cnf").write_text("[client]\nuser = dir-user\npassword = x\n")
    (tmp_path / "admin.cnf").write_text("[client]\nuser = dir-operator\npassword = y\n")
    (tmp_path / "agent-token").write_text("dir-token\n")
    (tmp_path / "ca.crt").write_bytes(tls.new_ca("galera").cert)
    spec = kube(url, secrets_dir=tmp_path).spec()
    assert spec.credentials().user == "dir-user"
    assert spec.admin_credentials().user == "dir-operator"
    assert spec.agent_token() == "dir-token"
    assert spec.tls_ca == tmp_path / "ca.crt"
    assert not apiserver.requests(emu, "GET", SECRETS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--statefulset", "nope"], "no StatefulSet of cluster 'nope' in namespace 'db'"),
        (["-c", "x.yaml"], "-c FILE and --kube exclude each other"),
    ],
)
def test_cli_with_kube_reports_bad_input_in_one_line(
    api: tuple[Emulator, str], args: list[str], message: str
) -> None:
    emu, url = api
    seed_cluster(emu, {})
    result = galeractl("status", "--kube", "--kube-api", url, "-n", NAMESPACE, *args)
    assert result.code == 2
    assert message in one_line_error(result)


def test_port_forward_without_kubectl_is_one_line(api: tuple[Emulator, str]) -> None:
    emu, url = api
    seed_cluster(emu, {})
    result = galeractl(
        "status",
        "--kube",
        "--kube-api",
        url,
        "-n",
        NAMESPACE,
        "--port-forward",
        env={"GALERACTL_KUBECTL": "/nonexistent/kubectl"},
    )
    assert result.code == 2
    assert "--port-forward needs kubectl" in one_line_error(result)


def test_upgrade_set_is_refused_on_kubernetes(api: tuple[Emulator, str]) -> None:
    emu, url = api
    seed_cluster(emu, {})
    result = galeractl(
        "upgrade",
        "--kube",
        "--kube-api",
        url,
        "-n",
        NAMESPACE,
        "--set",
        "max_connections=9",
        "--yes",
    )
    assert result.code == 2
    assert "mariadb.options in the values" in one_line_error(result)
    assert not [r for r in emu if r.method in ("POST", "PUT", "PATCH", "DELETE")]


def test_unreachable_api_server_is_one_line() -> None:
    result = galeractl("status", "--kube", "--kube-api", "http://127.0.0.1:9", "-n", "db")
    assert result.code != 0
    assert "Kubernetes API http://127.0.0.1:9" in one_line_error(result)


def test_secret_without_client_cnf_is_named(api: tuple[Emulator, str]) -> None:
    emu, url = api
    seed_cluster(emu, {})
    emu.seed(SECRETS, apiserver.secret("galera-secrets", {"agent-token": "t"}))
    with pytest.raises(InvalidInput, match=r"Secret galera-secrets has no client\.cnf"):
        kube(url).spec()


# -- the operation record: compare-and-swap ----------------------------------------------


def test_progress_is_written_with_the_resource_version_it_read(api: tuple[Emulator, str]) -> None:
    emu, url = api
    seed_cluster(emu, {})
    spec = kube(url)
    spec.spec()  # discovered first, as every command does
    progress = Progress.load(spec, "rolling")
    progress.start(order=["galera-0"], done=[])
    progress.step("gate")
    progress.finish("done")
    creates = apiserver.requests(emu, "POST", CONFIGMAPS)
    updates = apiserver.requests(emu, "PUT", CONFIGMAPS)
    assert [r.data["metadata"]["name"] for r in creates] == ["galera-galeractl-rolling"]
    assert len(updates) == 2
    assert all(r.data["metadata"]["resourceVersion"] for r in updates)
    assert Progress.load(spec, "rolling").data["state"] == "done"


def test_a_lost_answer_to_our_own_write_is_retried(api: tuple[Emulator, str]) -> None:
    """A 409 whose stored record is still this run's (e.g. a retried request): write again."""
    emu, url = api
    seed_cluster(emu, {})
    spec = kube(url)
    spec.spec()  # discovered first, as every command does
    progress = Progress.load(spec, "rolling")
    progress.start(order=["galera-0"], done=[])
    emu["put", kmock_resource(CONFIGMAPS)][:1] << 409 << conflict_status()
    progress.step("gate")
    assert len(apiserver.requests(emu, "PUT", CONFIGMAPS)) == 2
    assert Progress.load(spec, "rolling").data["steps"][-1]["step"] == "gate"


def test_a_record_changed_by_another_run_stops_this_one(api: tuple[Emulator, str]) -> None:
    emu, url = api
    seed_cluster(emu, {})
    spec = kube(url)
    spec.spec()
    mine = Progress.load(spec, "rolling")
    mine.start(order=["galera-0"], done=[])
    other = Progress.load(spec, "rolling")
    other.start(order=["galera-2"], done=[])  # a second galeractl took over
    with pytest.raises(UnsafeOperation, match="changed by another run"):
        mine.step("gate")
    assert Progress.load(spec, "rolling").data["order"] == ["galera-2"]


def kmock_resource(resource: str) -> Any:
    import kmock

    return kmock.resource(resource)


def conflict_status() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "status": "Failure",
        "reason": "Conflict",
        "code": 409,
        "message": "the object has been modified",
    }


# -- the Lease -------------------------------------------------------------------------


def lease(holder: str, renewed: str, duration: int = 30) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "galera-galeractl", "namespace": NAMESPACE},
        "spec": {
            "holderIdentity": holder,
            "renewTime": renewed,
            "leaseDurationSeconds": duration,
            "leaseTransitions": 3,
        },
    }


def test_a_free_lease_is_created_and_then_renewed(api: tuple[Emulator, str]) -> None:
    emu, url = api
    seed_cluster(emu, {})
    k = kube(url)
    assert k.acquire_lease() == (True, k.identity)
    assert k.acquire_lease() == (True, k.identity)
    (created,) = apiserver.requests(emu, "POST", LEASES)
    assert created.data["spec"]["holderIdentity"] == k.identity
    (renewed,) = apiserver.requests(emu, "PUT", LEASES)
    assert renewed.data["metadata"]["resourceVersion"]


def test_a_stopping_controller_releases_the_lease_for_the_next_one(
    api: tuple[Emulator, str],
) -> None:
    emu, url = api
    seed_cluster(emu, {})
    first, second = kube(url), kube(url)
    second.identity = "controller-c"
    assert first.acquire_lease()[0]
    assert second.acquire_lease() == (False, first.identity)
    first.release_lease()
    assert second.acquire_lease() == (True, "controller-c")
    first.release_lease()  # no longer ours: nothing is written
    holders = [r.data["spec"].get("holderIdentity") for r in apiserver.requests(emu, "PUT", LEASES)]
    assert holders == [None, "controller-c"]


def test_a_lease_held_by_another_live_controller_is_honoured(api: tuple[Emulator, str]) -> None:
    emu, url = api
    seed_cluster(emu, {})
    emu.seed(LEASES, lease("controller-b", apiserver.now()))
    k = kube(url)
    assert k.acquire_lease() == (False, "controller-b")
    assert not apiserver.requests(emu, "PUT", LEASES)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def observing(k: Kubernetes) -> Clock:
    clock = Clock()
    k.lease_observed.clock = clock
    return clock


def test_an_expired_lease_is_taken_over(api: tuple[Emulator, str]) -> None:
    """Expired by observation: unchanged for a whole term since this process first saw it
    (its renewTime, years ago by this host's clock, is never compared with the clock)."""
    emu, url = api
    seed_cluster(emu, {})
    emu.seed(LEASES, lease("controller-b", "2020-01-01T00:00:00Z"))
    k = kube(url)
    clock = observing(k)
    assert k.acquire_lease() == (False, "controller-b")
    clock.now += 29
    assert k.acquire_lease() == (False, "controller-b")
    clock.now += 1.5
    assert k.acquire_lease() == (True, k.identity)
    (taken,) = apiserver.requests(emu, "PUT", LEASES)
    assert taken.data["spec"]["holderIdentity"] == k.identity
    assert taken.data["spec"]["leaseTransitions"] == 4


def test_two_controllers_racing_for_an_expired_lease_only_one_wins(
    api: tuple[Emulator, str],
) -> None:
    emu, url = api
    seed_cluster(emu, {})
    emu.seed(LEASES, lease("controller-b", "2020-01-01T00:00:00Z"))
    first, second = kube(url), kube(url)
    second.identity = "controller-c"
    for k in (first, second):  # both have watched it stand unchanged for a whole term
        clock = observing(k)
        assert k.acquire_lease()[0] is False
        clock.now += 31
    # Both read the expired Lease; the first write wins, the second gets a 409.
    emu["put", kmock_resource(LEASES)][1:2] << 409 << conflict_status()
    results = [first.acquire_lease()[0], second.acquire_lease()[0]]
    assert results == [True, False]


def test_controller_without_the_lease_stands_by_and_changes_nothing(
    api: tuple[Emulator, str],
) -> None:
    emu, url = api
    seed_cluster(emu, {})
    emu.seed(LEASES, lease("controller-b", apiserver.now()))
    result = galeractl(
        *apiserver.kube_args(url, "controller"), "--cycles", "2", "--interval", "0.2"
    )
    assert result.code == 0, result.stderr
    standby = of(events(result), "standby")
    assert standby and standby[0]["holder"] == "controller-b"
    assert not of(events(result), "decision")
    mutations = [r for r in emu if r.method in ("POST", "PUT", "PATCH", "DELETE")]
    assert [(r.method, r.resource) for r in mutations] == [("POST", EVENTS)]
    assert mutations[0].data["reason"] == "Standby"
    assert "controller-b holds the lease" in mutations[0].data["message"]


def test_decisions_become_events_on_the_statefulset(api: tuple[Emulator, str]) -> None:
    emu, url = api
    (_cm, *_rest) = seed_cluster(emu, {})
    k = kube(url)
    k.spec()
    emit = k.emitter(lambda _e: None)
    emit(make_event(Kind.GATE, "galera-1", "galera-0 is not Synced", ok=False))
    emit(make_event(Kind.DRAINED, "galera-1", seconds=0.5))  # not a decision: no Event
    (event,) = apiserver.requests(emu, "POST", EVENTS)
    assert event.data["involvedObject"]["kind"] == "StatefulSet"
    assert event.data["involvedObject"]["name"] == "galera"
    assert event.data["type"] == "Warning"
    assert event.data["reason"] == "Gate"
    assert event.data["message"] == "galera-1: galera-0 is not Synced"


def test_image_patch_refuses_a_statefulset_that_is_not_on_delete(
    api: tuple[Emulator, str],
) -> None:
    emu, url = api
    objs = seed_cluster(emu, {})
    sts = next(o for o in objs if o["kind"] == "StatefulSet")
    sts["spec"]["updateStrategy"] = {"type": "RollingUpdate"}
    emu.seed(STATEFULSETS, sts)
    with pytest.raises(InvalidInput, match="updateStrategy RollingUpdate"):
        kube(url).set_image("mariadb:11.4", lambda _e: None)
    assert not apiserver.requests(emu, "PATCH", STATEFULSETS)


def test_image_patch_is_a_guarded_json_patch_of_the_database_container(
    api: tuple[Emulator, str],
) -> None:
    emu, url = api
    seed_cluster(emu, {})
    changed = kube(url).set_image("registry.example.com/galera-node:2.0", lambda _e: None)
    assert changed == ["galera"]
    (patch,) = apiserver.requests(emu, "PATCH", STATEFULSETS)
    assert patch.data[0] == {
        "op": "test",
        "path": "/spec/template/spec/containers/0/name",
        "value": "mariadb",
    }
    sts = emu.current(STATEFULSETS, "galera")
    assert sts is not None
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"].endswith("galera-node:2.0")
    assert not apiserver.requests(emu, "DELETE", PODS)


def test_outdated_pods_by_revision_catch_any_template_change(api: tuple[Emulator, str]) -> None:
    emu, url = api
    objs = seed_cluster(emu, {})
    sts = next(o for o in objs if o["kind"] == "StatefulSet")
    sts["status"] = {"replicas": 3, "updateRevision": "galera-7f9c"}
    emu.seed(STATEFULSETS, sts)
    for ordinal, revision in enumerate(["galera-5d1a", "galera-7f9c", "galera-7f9c"]):
        pod = apiserver.pod_for(sts, ordinal, f"127.0.0.{ordinal + 10}")
        pod["metadata"]["labels"]["controller-revision-hash"] = revision
        emu.seed(PODS, pod)
    assert kube(url).outdated() == ["galera-0"]


def test_outdated_pods_without_revisions_compare_image_and_configuration(
    api: tuple[Emulator, str],
) -> None:
    emu, url = api
    objs = seed_cluster(emu, {})
    assert kube(url).outdated() == []
    sts = next(o for o in objs if o["kind"] == "StatefulSet")
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = "x/y:2"
    emu.seed(STATEFULSETS, sts)
    assert kube(url).outdated() == ["galera-0", "galera-1", "galera-2"]


def test_a_standby_whose_clock_runs_ahead_never_takes_a_lease_that_is_renewed(
    api: tuple[Emulator, str],
) -> None:
    """The holder's renewTime looks years old to this host; what counts is that the record
    keeps changing."""
    emu, url = api
    seed_cluster(emu, {})
    holder, standby = kube(url), kube(url)
    holder.identity = "controller-b"
    assert holder.acquire_lease(30)[0]
    clock = observing(standby)
    for _ in range(4):
        assert standby.acquire_lease(30) == (False, "controller-b")
        clock.now += 20  # more than a term in all, never a term without a renewal
        assert holder.acquire_lease(30)[0]
    lease = emu.current(LEASES, "galera-galeractl")
    assert lease is not None and lease["spec"]["holderIdentity"] == "controller-b"


def test_force_takes_a_live_lease_and_the_old_holder_stops_before_deleting_a_pod(
    api: tuple[Emulator, str],
) -> None:
    emu, url = api
    objs = seed_cluster(emu, {})
    sts = next(o for o in objs if o["kind"] == "StatefulSet")
    emu.seed(PODS, apiserver.pod_for(sts, 0, "127.0.0.10"))
    controller = kube(url)
    keeper = fencing.Keeper(controller, 30)
    try:
        assert keeper.renew()[0]
        person = kube(url)
        person.identity = "galeractl rolling-restart by dba@laptop"
        assert person.acquire_lease(30, force=True) == (True, person.identity)
        with fence.acting(keeper), pytest.raises(LeaseLost, match="dba@laptop holds"):
            controller.restart_member("galera-0", lambda _e: None, timeout=5)
    finally:
        keeper.stop()
    assert not apiserver.requests(emu, "DELETE", PODS)


def test_a_command_is_refused_at_its_first_change_while_a_controller_holds_the_lease(
    api: tuple[Emulator, str],
) -> None:
    emu, url = api
    seed_cluster(emu, {})
    controller = kube(url)
    controller.identity = "galera-controller-7d9f"
    assert controller.acquire_lease(30)[0]
    command = kube(url)
    with fencing.taken(command, "upgrade") as keeper:
        with pytest.raises(UnsafeOperation, match="galera-controller-7d9f holds the cluster's"):
            command.set_image("registry.example.com/galera-node:2.0", lambda _e: None)
        assert not keeper.held
    assert not apiserver.requests(emu, "PATCH", STATEFULSETS)
    lease = emu.current(LEASES, "galera-galeractl")
    assert lease is not None and lease["spec"]["holderIdentity"] == "galera-controller-7d9f"


def writer_pods(emu: Emulator) -> list[str]:
    pods = [emu.current(PODS, f"galera-{i}") for i in range(3)]
    return [
        p["metadata"]["name"]
        for p in pods
        if p and (p["metadata"].get("labels") or {}).get("galeractl.io/role") == "writer"
    ]


def test_exactly_one_pod_carries_the_writer_label_also_after_it_is_replaced(
    api: tuple[Emulator, str],
) -> None:
    emu, url = api
    objs = seed_cluster(emu, {})
    sts = next(o for o in objs if o["kind"] == "StatefulSet")
    for ordinal in range(3):
        emu.seed(PODS, apiserver.pod_for(sts, ordinal, f"127.0.0.{ordinal + 10}"))
    stale = emu.current(PODS, "galera-1")
    assert stale is not None
    stale["metadata"]["labels"]["galeractl.io/role"] = "writer"  # left by an earlier writer
    emu.seed(PODS, stale)
    k = kube(url)
    k.route_writer("galera-0")
    assert writer_pods(emu) == ["galera-0"]
    patched = [r.name for r in apiserver.requests(emu, "PATCH", PODS)]
    assert patched == ["galera-1", "galera-0"]  # taken off first, then put on
    emu.remove(PODS, "galera-0")  # the writer's pod replaced: the new one has no label
    emu.seed(PODS, apiserver.pod_for(sts, 0, "127.0.0.20"))
    assert writer_pods(emu) == []
    k.route_writer("galera-0")  # what the controller does every cycle
    assert writer_pods(emu) == ["galera-0"]
    k.route_writer("galera-0")
    assert len(apiserver.requests(emu, "PATCH", PODS)) == 3  # nothing to change: no request


def test_agents_are_not_asked_to_fence_a_kubernetes_lease_they_cannot_see(
    api: tuple[Emulator, str],
) -> None:
    # The agents grant no share of a Kubernetes Lease: a change names no holder to them
    # (they would refuse every holder as "nobody holds it"), while the Lease is still
    # confirmed live before it.
    emu, url = api
    seed_cluster(emu, {})
    keeper = fencing.Keeper(kube(url), 30)
    try:
        with fence.acting(keeper):
            assert fence.before_change("galera-0") is None
            assert keeper.held
    finally:
        keeper.stop()
