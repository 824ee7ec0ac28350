"""The NetworkPolicies of ``galeractl render`` and of the chart, checked by what they admit:
the rendered policies are evaluated against the labels of the rendered pods (the members'
StatefulSets, garbd, the chart's controller), the way a network plugin that enforces the
NetworkPolicy API decides, so that a renamed label or a narrowed selector shows up as a member
that can no longer reach another, or a stranger that can."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import kubernetes_validate
import pytest
import yaml

from galera.render import manifests
from tests.kubernetes import test_chart
from tests.kubernetes.test_render import KUBE_VERSIONS, of_kind, rendered

NAMESPACE = test_chart.NAMESPACE  # also where policies without a namespace are applied
GALERA, IST, SST, AGENT, MYSQL, METRICS = 4567, 4568, 4444, 8008, 3306, 9104
PRIVATE = (GALERA, IST, SST, AGENT)


@dataclass(frozen=True)
class Pod:
    """What a NetworkPolicy sees of a pod: its labels and its namespace (whose only label
    here is the one every namespace has, its name)."""

    labels: Mapping[str, str]
    namespace: str = NAMESPACE

    def namespace_labels(self) -> Mapping[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A LabelSelector: every matchLabels pair and every matchExpressions term ({}: all)."""
    if not (selector.get("matchLabels") or {}).items() <= labels.items():
        return False
    for term in selector.get("matchExpressions") or []:
        key, values = term["key"], term.get("values") or []
        holds = {
            "In": key in labels and labels[key] in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[term["operator"]]
        if not holds:
            return False
    return True


def peer_admits(peer: Mapping[str, Any], policy_namespace: str, source: Pod) -> bool:
    """One ``from`` entry. An ipBlock never admits a pod here: pods have no addresses in
    these tests, and a pod's address is not what an ipBlock is meant for."""
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], source.namespace_labels()):
            return False
    elif source.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector") or {}, source.labels)


def admits(policies: list[dict[str, Any]], source: Pod, target: Pod, port: int) -> bool:
    """Whether ``target`` accepts a TCP connection from ``source`` on ``port``: a pod no
    Ingress policy selects accepts everything; a selected one what some rule allows."""
    isolating = [
        p
        for p in policies
        if (p["metadata"].get("namespace") or NAMESPACE) == target.namespace
        and "Ingress" in p["spec"]["policyTypes"]
        and selects(p["spec"]["podSelector"], target.labels)
    ]
    if not isolating:
        return True
    for policy in isolating:
        namespace = policy["metadata"].get("namespace") or NAMESPACE
        for rule in policy["spec"].get("ingress") or []:
            ports = rule.get("ports") or [{}]
            if not any(
                p.get("protocol", "TCP") == "TCP" and p.get("port", port) == port for p in ports
            ):
                continue
            peers = rule.get("from")
            if not peers or any(peer_admits(peer, namespace, source) for peer in peers):
                return True
    return False


def template_pod(workload: dict[str, Any]) -> Pod:
    return Pod(workload["spec"]["template"]["metadata"]["labels"])


def members(objs: list[dict[str, Any]]) -> list[Pod]:
    return [template_pod(s) for s in of_kind(objs, "StatefulSet")]


def garbd(objs: list[dict[str, Any]]) -> Pod:
    (deployment,) = of_kind(objs, "Deployment")
    return template_pod(deployment)


def policies(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return of_kind(objs, "NetworkPolicy")


STRANGER = Pod({"app": "random"})
CASES = ["default", "multisite"]


def test_the_evaluator_follows_the_selector_semantics() -> None:
    """The evaluator itself, on the cases the assertions below rely on."""
    assert selects({}, {})
    assert selects({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {})
    assert not selects({"matchLabels": {"a": "x"}, "matchExpressions": []}, {"a": "y"})
    db = Pod({"role": "db"})
    only_web = {
        "metadata": {"name": "p"},
        "spec": {
            "podSelector": {"matchLabels": {"role": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"role": "web"}}}],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                }
            ],
        },
    }
    web, elsewhere = Pod({"role": "web"}), Pod({"role": "web"}, namespace="other")
    assert admits([only_web], web, db, 5432)
    assert not admits([only_web], web, db, 5433)
    assert not admits([only_web], elsewhere, db, 5432)
    assert admits([only_web], STRANGER, web, 1)  # web is selected by no policy
    assert not admits([only_web], STRANGER, db, 5432)


@pytest.mark.parametrize("case", CASES)
def test_members_reach_every_member_on_every_galera_port(case: str) -> None:
    objs = rendered(case)
    pods = members(objs)  # one pod template per group: multisite checks across groups
    assert pods
    for source in pods:
        for target in pods:
            for port in (*PRIVATE, MYSQL):
                assert admits(policies(objs), source, target, port), (source, target, port)


@pytest.mark.parametrize("values", [{"replicas": 2}, {"arbitrator": {"enabled": True}}])
def test_garbd_and_the_members_reach_each_other_on_replication_only(
    values: dict[str, Any],
) -> None:
    """SQL closed to the namespace (clients: []), so that garbd's own access shows."""
    objs = manifests.objects({**values, "networkPolicy": {"clients": []}})
    arbitrator = garbd(objs)
    for member in members(objs):
        assert admits(policies(objs), arbitrator, member, GALERA)
        assert admits(policies(objs), member, arbitrator, GALERA)
        for port in (IST, SST, AGENT, MYSQL):
            assert not admits(policies(objs), arbitrator, member, port), port
    assert not admits(policies(objs), STRANGER, arbitrator, GALERA)


@pytest.mark.parametrize("case", CASES)
def test_a_stranger_reaches_no_galera_or_agent_port(case: str) -> None:
    """Not an unlabelled pod, not half of a member's labels, not a member of another
    cluster in the same namespace, not a pod of the same labels in another namespace."""
    objs = rendered(case)
    name = objs[0]["metadata"]["labels"][manifests.CLUSTER_LABEL]
    member = members(objs)[0]
    strangers = [
        STRANGER,
        Pod({manifests.CLUSTER_LABEL: name}),
        Pod({**member.labels, manifests.CLUSTER_LABEL: "other"}),
        Pod(member.labels, namespace="elsewhere"),
    ]
    for source in strangers:
        for port in PRIVATE:
            assert not admits(policies(objs), source, member, port), (source, port)


def test_sql_is_open_to_the_namespace_by_default_and_to_the_clients_given() -> None:
    default = rendered("default")
    member = members(default)[0]
    assert admits(policies(default), STRANGER, member, MYSQL)
    assert not admits(policies(default), Pod({"app": "x"}, namespace="shop"), member, MYSQL)
    closed = manifests.objects({"networkPolicy": {"clients": []}})
    assert not admits(policies(closed), STRANGER, members(closed)[0], MYSQL)
    # multisite: two applications of the namespace shop, and a Job of the DBAs for the agents.
    objs = rendered("multisite")
    member = members(objs)[0]
    checkout, other = Pod({"app": "checkout"}, "shop"), Pod({"app": "search"}, "shop")
    assert admits(policies(objs), checkout, member, MYSQL)
    assert not admits(policies(objs), other, member, MYSQL)
    assert not admits(policies(objs), STRANGER, member, MYSQL)
    assert not admits(policies(objs), checkout, member, AGENT)
    dba = Pod({"app.kubernetes.io/name": "dba-jobs"})
    assert admits(policies(objs), dba, member, AGENT)
    assert not admits(policies(objs), dba, member, GALERA)


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("case", CASES)
def test_every_policy_is_valid_for_the_kubernetes_schemas(case: str, version: str) -> None:
    found = policies(rendered(case))
    assert len(found) == (2 if case == "multisite" else 1)  # multisite: garbd's too
    for policy in found:
        kubernetes_validate.validate(policy, version, strict=True)
        assert policy["spec"]["policyTypes"] == ["Ingress"]  # outbound stays open


@pytest.mark.parametrize("values", [{}, {"replicas": 2}])
def test_disabled_renders_no_policy(values: dict[str, Any]) -> None:
    objs = manifests.objects({**values, "networkPolicy": {"enabled": False}})
    assert not policies(objs)
    assert objs == [o for o in manifests.objects(values) if o["kind"] != "NetworkPolicy"]


# -- the chart: the controller reaches the members; its own policy ---------------------------


def chart_objects(helm: str, *args: str) -> tuple[Pod, list[dict[str, Any]]]:
    """The chart's controller pod and its policies, and what the controller applies."""
    objs = test_chart.template(helm, *args)
    controller = template_pod(test_chart.one(objs, "Deployment"))
    [config] = [o for o in of_kind(objs, "ConfigMap") if o["metadata"]["name"].endswith("-values")]
    values = yaml.safe_load(config["data"]["values.yaml"])
    return controller, policies(objs) + manifests.objects(values)


@pytest.mark.parametrize("case", ["default", "nontrivial"])
def test_the_charts_controller_reaches_the_agents_and_sql_only(helm: str, case: str) -> None:
    controller, objs = chart_objects(helm, *test_chart.CASES[case])
    assert members(objs)
    for member in members(objs):
        assert admits(policies(objs), controller, member, AGENT)
        assert admits(policies(objs), controller, member, MYSQL)
        for port in (GALERA, IST, SST):
            assert not admits(policies(objs), controller, member, port)


@pytest.mark.parametrize("case", ["default", "nontrivial"])
def test_the_charts_policy_opens_only_the_metrics_port_to_the_namespace(
    helm: str, case: str
) -> None:
    controller, objs = chart_objects(helm, *test_chart.CASES[case])
    (own,) = [p for p in policies(objs) if selects(p["spec"]["podSelector"], controller.labels)]
    assert own["spec"]["policyTypes"] == ["Ingress"]
    assert admits([own], STRANGER, controller, METRICS)
    assert not admits([own], STRANGER, controller, AGENT)
    prometheus = Pod({"app.kubernetes.io/name": "prometheus"}, namespace="monitoring")
    assert not admits([own], prometheus, controller, METRICS)
    for member in members(objs):  # the members' policy does not select the controller
        assert not selects(own["spec"]["podSelector"], member.labels)


MONITORING_NAMESPACE = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
}


@pytest.mark.parametrize(
    ("peers", "prometheus_admitted"), [([MONITORING_NAMESPACE], True), ([], False)]
)
def test_the_charts_metrics_clients_are_configurable(
    helm: str, peers: list[dict[str, Any]], prometheus_admitted: bool
) -> None:
    """A Prometheus in its own namespace; [] admits nobody (not everybody)."""
    setting = f"networkPolicy.metricsClients={json.dumps(peers)}"
    controller, objs = chart_objects(helm, "--set-json", setting)
    (own,) = [p for p in policies(objs) if selects(p["spec"]["podSelector"], controller.labels)]
    for version in test_chart.KUBE_VERSIONS:
        kubernetes_validate.validate(own, version, strict=True)
    prometheus = Pod({"app.kubernetes.io/name": "prometheus"}, namespace="monitoring")
    assert admits([own], prometheus, controller, METRICS) is prometheus_admitted
    assert not admits([own], STRANGER, controller, METRICS)


def test_the_charts_two_switches_are_independent(helm: str) -> None:
    """networkPolicy: the controller's own policy; galera.networkPolicy: the cluster's."""
    controller, objs = chart_objects(helm, "--set", "networkPolicy.enabled=false")
    assert not [p for p in policies(objs) if selects(p["spec"]["podSelector"], controller.labels)]
    assert policies(objs)
    controller, objs = chart_objects(helm, "--set", "galera.networkPolicy.enabled=false")
    (own,) = policies(objs)
    assert selects(own["spec"]["podSelector"], controller.labels)
