"""``galeractl render``: golden files, the official Kubernetes schemas, the safety properties
of the manifests, and clear errors for bad values."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from galera import tls
from galera.config import agent as agent_config
from galera.errors import InvalidInput
from galera.render import manifests, render_member_config
from tests.helpers import galeractl, one_line_error

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
VALUES = {
    "backup": HERE / "values" / "backup.yaml",
    "default": None,
    "multisite": HERE / "values" / "multisite.yaml",
    "plaintext": HERE / "values" / "plaintext.yaml",
}
# The Kubernetes versions the manifests are checked against (oldest and newest supported).
KUBE_VERSIONS = ("1.28", "1.31", "1.33", "1.35")
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "Certificate"}


def values_of(case: str) -> dict[str, Any]:
    path = VALUES[case]
    return {} if path is None else yaml.safe_load(path.read_text())


def rendered(case: str) -> list[dict[str, Any]]:
    return manifests.objects(values_of(case), case)


def of_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


@pytest.mark.parametrize("case", sorted(VALUES))
def test_output_matches_the_golden_file(case: str) -> None:
    """Any change to the manifests shows up as a reviewed diff of tests/kubernetes/golden/.

    Regenerate with GALERACTL_UPDATE_GOLDEN=1 after checking the change is intended.
    """
    text = manifests.dump(rendered(case))
    golden = GOLDEN / f"{case}.yaml"
    if os.environ.get("GALERACTL_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.read_text() == text


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("case", sorted(VALUES))
def test_every_object_is_valid_for_the_kubernetes_schemas(case: str, version: str) -> None:
    checked = 0
    for obj in rendered(case):
        if obj["kind"] in CRD_KINDS:
            continue  # CRDs (Prometheus operator, cert-manager): no official schema
        kubernetes_validate.validate(obj, version, strict=True)
        checked += 1
    assert checked >= 5


def test_cli_writes_the_same_stream_and_one_file_per_object(tmp_path: Path) -> None:
    values = VALUES["multisite"]
    stream = galeractl("render", "-f", str(values))
    assert stream.code == 0, stream.stderr
    assert stream.stdout == (GOLDEN / "multisite.yaml").read_text()
    out = tmp_path / "out"
    written = galeractl("render", "-f", str(values), "-o", str(out))
    assert written.code == 0, written.stderr
    files = sorted(p.name for p in out.iterdir())
    objs = rendered("multisite")
    assert files == sorted(manifests.file_name(o) for o in objs)
    assert (
        yaml.safe_load((out / "statefulset-orders-a.yaml").read_text())
        == of_kind(objs, "StatefulSet")[0]
    )


# -- the safety properties, for default and non-default values -----------------------------


@pytest.mark.parametrize("case", sorted(VALUES))
def test_no_member_is_ever_started_with_an_unconditional_bootstrap_flag(case: str) -> None:
    text = manifests.dump(rendered(case))
    assert "wsrep-new-cluster" not in text
    assert "wsrep_new_cluster" not in text
    assert "pc.bootstrap" not in text
    for sts in of_kind(rendered(case), "StatefulSet"):
        container = sts["spec"]["template"]["spec"]["containers"][0]
        assert container["command"][:2] == ["galeractl", "agent"]
        agent = yaml.safe_load(config_map_for(rendered(case), sts)["data"]["agent.yaml"])
        assert agent["start"] == "join"


def config_map_for(objs: list[dict[str, Any]], sts: dict[str, Any]) -> dict[str, Any]:
    volumes = sts["spec"]["template"]["spec"]["volumes"]
    name = next(v["configMap"]["name"] for v in volumes if "configMap" in v)
    return next(o for o in of_kind(objs, "ConfigMap") if o["metadata"]["name"] == name)


@pytest.mark.parametrize("case", sorted(VALUES))
def test_statefulsets_are_parallel_and_on_delete(case: str) -> None:
    sets = of_kind(rendered(case), "StatefulSet")
    assert sets
    for sts in sets:
        assert sts["spec"]["podManagementPolicy"] == "Parallel"
        assert sts["spec"]["updateStrategy"] == {"type": "OnDelete"}


@pytest.mark.parametrize("case", sorted(VALUES))
def test_peers_are_published_before_ready_and_clients_only_reach_ready_members(
    case: str,
) -> None:
    objs = rendered(case)
    services = {s["metadata"]["name"]: s for s in of_kind(objs, "Service")}
    name = values_of(case).get("name", "galera")
    peers = services[f"{name}-peers"]["spec"]
    assert peers["clusterIP"] == "None"
    assert peers["publishNotReadyAddresses"] is True
    assert not services[name]["spec"].get("publishNotReadyAddresses")
    for sts in of_kind(objs, "StatefulSet"):
        assert sts["spec"]["serviceName"] == f"{name}-peers"
        pod_labels = sts["spec"]["template"]["metadata"]["labels"]
        for svc in services.values():
            assert svc["spec"]["selector"].items() <= pod_labels.items() | {ROLE_WRITER}
    # The writer Service: only the pod galeractl labels as the writer, and only when ready.
    writer = services[f"{name}-writer"]["spec"]
    assert ROLE_WRITER in writer["selector"].items()
    assert not writer.get("publishNotReadyAddresses")


ROLE_WRITER = ("galeractl.io/role", "writer")


@pytest.mark.parametrize("case", sorted(VALUES))
def test_disruption_budget_allows_one_voting_member_down_across_groups_and_garbd(
    case: str,
) -> None:
    objs = rendered(case)
    (pdb,) = of_kind(objs, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    selector = pdb["spec"]["selector"]

    def selected(labels: dict[str, str]) -> bool:
        exprs = selector.get("matchExpressions", [])
        return selector["matchLabels"].items() <= labels.items() and all(
            labels.get(e["key"]) in e["values"] for e in exprs
        )

    voters = of_kind(objs, "StatefulSet") + of_kind(objs, "Deployment")
    assert voters
    for workload in voters:
        assert selected(workload["spec"]["template"]["metadata"]["labels"])


def test_garbd_never_shares_a_node_with_a_data_member() -> None:
    (garbd,) = of_kind(rendered("multisite"), "Deployment")
    affinity = garbd["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    (term,) = affinity["preferredDuringSchedulingIgnoredDuringExecution"]  # multisite: preferred
    labels = term["podAffinityTerm"]["labelSelector"]["matchLabels"]
    assert labels["app.kubernetes.io/component"] == "database"


@pytest.mark.parametrize("case", sorted(VALUES))
def test_probes_are_served_by_the_agent_with_liveness_independent_of_the_database(
    case: str,
) -> None:
    for sts in of_kind(rendered(case), "StatefulSet"):
        container = sts["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
        grace = sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        agent = yaml.safe_load(config_map_for(rendered(case), sts)["data"]["agent.yaml"])
        assert grace > agent["stop_timeout"]


@pytest.mark.parametrize("case", sorted(VALUES))
def test_no_secret_value_is_inline(case: str) -> None:
    objs = rendered(case)
    assert not of_kind(objs, "Secret")
    text = manifests.dump(objs).lower()
    assert "password" not in text
    assert "wsrep_sst_auth" not in text
    for sts in of_kind(objs, "StatefulSet"):
        spec = sts["spec"]["template"]["spec"]
        for env in spec["containers"][0]["env"]:
            assert "value" not in env
        secret = next(v["secret"] for v in spec["volumes"] if "secret" in v)
        assert secret["defaultMode"] == 0o440


def tls_secret_files(root: Path, names: list[str]) -> dict[str, str]:
    """What the kubelet puts in a pod from the TLS Secret: root:<fsGroup> 0440 files."""
    ca = tls.new_ca("orders")
    leaf = tls.new_leaf(ca, "orders", names)
    files = {}
    for party, data in (("ca", ca.cert), ("cert", leaf.cert), ("key", leaf.key)):
        path = root / manifests.TLS_KEYS[party]
        tls.write(path, data, private=True)
        os.chmod(path, 0o440)
        files[party] = str(path)
    return files


def test_agent_configuration_in_the_configmap_loads_in_the_agent_and_renders_wsrep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the Certificate's names in the mounted Secret, as the pod would have them: the
    agent's start check (the certificate names node_address) passes."""
    objs = rendered("multisite")
    monkeypatch.setenv("POD_NAME", "orders-b-1")
    monkeypatch.setenv("POD_IP", "10.1.2.3")
    monkeypatch.setenv("POD_NAMESPACE", "db")
    cm = next(o for o in of_kind(objs, "ConfigMap") if o["metadata"]["name"] == "orders-b-agent")
    agent = yaml.safe_load(cm["data"]["agent.yaml"])
    assert agent["tls"] == {
        party: f"{manifests.TLS_DIR}/{key}" for party, key in manifests.TLS_KEYS.items()
    }
    (certificate,) = of_kind(objs, "Certificate")
    agent["tls"] = tls_secret_files(tmp_path, certificate["spec"]["dnsNames"])
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(agent))
    cfg = agent_config.load(path)
    assert cfg.name == "orders-b-1"
    assert cfg.server.node_address == "orders-b-1.orders-peers.db.svc"
    assert cfg.server.weight == 1
    assert cfg.health.donor_ok is True
    text = render_member_config(cfg.server)
    assert "wsrep_node_address            = orders-b-1.orders-peers.db.svc:4567" in text
    assert "require_secure_transport      = ON" in text
    assert f"socket.ssl_key={tmp_path}/tls.key" in text
    assert "gmcast.segment=1" in text
    assert "evs.suspect_timeout=PT10S" in text
    assert "max_connections               = 800" in text
    assert (
        "gcomm://orders-a-0.orders-peers:4567,orders-a-1.orders-peers:4567,"
        "orders-b-0.orders-peers:4567,orders-b-1.orders-peers:4567" in text
    )


def test_without_tls_a_member_is_addressed_by_its_pod_ip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POD_NAME", "galera-1")
    monkeypatch.setenv("POD_IP", "10.1.2.3")
    (cm,) = of_kind(rendered("plaintext"), "ConfigMap")
    path = tmp_path / "agent.yaml"
    path.write_text(cm["data"]["agent.yaml"])
    cfg = agent_config.load(path)
    assert cfg.server.node_address == "10.1.2.3" and cfg.tls is None
    text = render_member_config(cfg.server)
    assert "wsrep_node_address            = 10.1.2.3:4567" in text
    assert "ssl" not in text


def test_agent_refuses_a_configmap_whose_pod_variables_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POD_NAME", raising=False)
    cm = of_kind(rendered("default"), "ConfigMap")[0]
    path = tmp_path / "agent.yaml"
    path.write_text(cm["data"]["agent.yaml"])
    with pytest.raises(InvalidInput, match="name: environment variable POD_NAME is not set"):
        agent_config.load(path)


def test_groups_give_each_site_its_segment_weight_and_zone() -> None:
    objs = rendered("multisite")
    sets = {s["metadata"]["name"]: s for s in of_kind(objs, "StatefulSet")}
    assert sorted(sets) == ["orders-a", "orders-b"]
    b = sets["orders-b"]["spec"]["template"]["spec"]
    assert b["nodeSelector"] == {"topology.kubernetes.io/zone": "eu-west-1b", "disk": "nvme"}
    agents = {
        cm["metadata"]["name"]: yaml.safe_load(cm["data"]["agent.yaml"])
        for cm in of_kind(objs, "ConfigMap")
    }
    assert agents["orders-a-agent"]["server"]["weight"] == 2
    # Across sites every member names its segment (0 too): it keeps Galera's WAN timers.
    assert agents["orders-a-agent"]["server"]["provider_options"]["gmcast.segment"] == "0"
    assert agents["orders-b-agent"]["server"]["provider_options"]["gmcast.segment"] == "1"


def test_groups_in_one_site_name_no_segment() -> None:
    """Zones of one site are one segment: nothing is named, the one-site timers apply."""
    values = {"groups": [{"name": "a", "replicas": 2}, {"name": "b", "replicas": 1}]}
    objs = manifests.objects(values, "one-site")
    for cm in of_kind(objs, "ConfigMap"):
        if "agent.yaml" in cm["data"]:
            options = yaml.safe_load(cm["data"]["agent.yaml"])["server"]["provider_options"]
            assert "gmcast.segment" not in options


@pytest.mark.parametrize(
    ("values", "arbitrator"),
    [
        ({}, False),
        ({"replicas": 2}, True),
        ({"replicas": 4, "arbitrator": {"enabled": False}}, False),
        ({"replicas": 3, "arbitrator": {"enabled": True}}, True),
    ],
)
def test_arbitrator_is_added_for_an_even_number_of_data_members(
    values: dict[str, Any], arbitrator: bool
) -> None:
    deployments = of_kind(manifests.objects(values), "Deployment")
    assert bool(deployments) is arbitrator
    if arbitrator:
        command = deployments[0]["spec"]["template"]["spec"]["containers"][0]["command"]
        assert command[0] == "garbd"
        assert command[command.index("--group") + 1] == "galera"


def test_prometheus_rule_carries_the_tested_alert_rules() -> None:
    (rule,) = of_kind(rendered("multisite"), "PrometheusRule")
    alerts = yaml.safe_load((Path("monitoring") / "galera-alerts.yaml").read_text())
    assert rule["spec"] == alerts
    (monitor,) = of_kind(rendered("multisite"), "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"][0]["interval"] == "15s"


def test_a_configuration_change_changes_the_pod_template() -> None:
    """So that the StatefulSet's revision moves and galeractl rolls the members."""

    def template_hash(values: dict[str, Any]) -> str:
        (sts,) = of_kind(manifests.objects(values), "StatefulSet")
        return str(sts["spec"]["template"]["metadata"]["annotations"][manifests.CONFIG_HASH])

    assert template_hash({}) == template_hash({})
    assert template_hash({}) != template_hash({"mariadb": {"options": {"max_connections": 9}}})


# -- bad values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("replicas: two\n", "replicas: must be an integer from 1 to 15 (got 'two')"),
        ("replicas: 0\n", "replicas: must be an integer from 1 to 15 (got 0)"),
        ("mariadb: {foo: 1}\n", "mariadb.foo: unknown key; allowed: gcacheSize, "),
        ("colour: blue\n", "colour: unknown key; allowed: name, namespace"),
        (
            "arbitrator: {enabled: maybe}\n",
            "arbitrator.enabled: must be one of auto, true, false (got 'maybe')",
        ),
        ("name: Bad_Name\n", "name: must be a DNS label: lower-case letters"),
        (
            "mariadb: {sstMethod: xtrabackup}\n",
            "mariadb.sstMethod: must be one of mariabackup, rsync, mysqldump (got 'xtrabackup')",
        ),
        (
            "storage: {size: lots}\n",
            "storage.size: must be a Kubernetes quantity, e.g. 500m, 1Gi (got 'lots')",
        ),
        ("groups: [{name: a}]\n", "groups[0].replicas: is required"),
        (
            "groups: [{name: a, replicas: 1}, {name: a, replicas: 2}]\n",
            "groups[1].name: 'a' appears twice",
        ),
        ("ports: {galera: 3306}\n", "ports.galera: 3306 is also used by mysql"),
        (
            "mariadb: {options: {wsrep_sst_auth: 'root:secret'}}\n",
            "mariadb.options.wsrep_sst_auth: not allowed: a secret",
        ),
        (
            "mariadb: {options: {wsrep_cluster_address: 'gcomm://'}}\n",
            "mariadb.options.wsrep_cluster_address: not allowed: galeractl sets it",
        ),
        (
            "mariadb: {providerOptions: {pc.ignore_sb: 'true'}}\n",
            "mariadb.providerOptions.pc.ignore_sb: not allowed: both sides",
        ),
        (
            "networkPolicy: {clients: [{}]}\n",
            "networkPolicy.clients[0]: must be a NetworkPolicy peer: podSelector and/or",
        ),
        (
            "networkPolicy: {agentClients: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}\n",
            "networkPolicy.agentClients[0]: must be an ipBlock alone",
        ),
        (
            "networkPolicy: {clients: [{podSelector: {matchLabels: {app: 1}}}]}\n",
            "networkPolicy.clients[0].podSelector.matchLabels.app: must be a string (got 1)",
        ),
        ("- a\n- b\n", "must be a mapping of values"),
        ("replicas: [\n", "not valid YAML"),
    ],
)
def test_bad_values_give_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(text)
    out = tmp_path / "out"
    result = galeractl("render", "-f", str(values), "-o", str(out))
    assert result.code == 2
    line = one_line_error(result)
    assert message in line, line
    assert "root:secret" not in result.stderr
    assert not out.exists()


def test_missing_values_file_is_named(tmp_path: Path) -> None:
    result = galeractl("render", "-f", str(tmp_path / "nope.yaml"))
    assert result.code == 2
    assert "nope.yaml" in one_line_error(result)


def test_scheduled_backups_need_the_backup_token_only() -> None:
    assert not of_kind(rendered("default"), "CronJob")  # off unless asked for
    objs = rendered("backup")
    (cron,) = of_kind(objs, "CronJob")
    spec = cron["spec"]
    assert (spec["schedule"], spec["concurrencyPolicy"]) == ("30 2 * * *", "Forbid")
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    command = container["command"]
    assert command[:3] == ["galeractl", "backup", "--kube"]
    assert command[command.index("--into") + 1] == "/backups"
    assert command[command.index("--keep") + 1] == "3"
    assert command[command.index("--member") + 1] == "galera-2"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["backups"]["persistentVolumeClaim"]["claimName"] == "galera-backup"
    files = [
        (source["secret"]["name"], item["key"])
        for source in volumes["secrets"]["projected"]["sources"]
        for item in source["secret"]["items"]
    ]
    assert files == [("galera-secrets", "backup-token"), ("galera-tls", "ca.crt")]
    projected = [
        item["path"]
        for source in volumes["secrets"]["projected"]["sources"]
        for item in source["secret"]["items"]
    ]
    assert projected == ["agent-token", "ca.crt"]  # what galeractl --secrets-dir reads
    assert pod["serviceAccountName"] == "galera-backup"
    (role,) = of_kind(objs, "Role")
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs == {"get", "list"}
    assert all("secrets" not in rule["resources"] for rule in role["rules"])
    (claim,) = of_kind(objs, "PersistentVolumeClaim")
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    assert claim["spec"]["storageClassName"] == "gp3"
    # The members' NetworkPolicy lets the Job's pods reach the agents, nothing else.
    policy = next(p for p in of_kind(objs, "NetworkPolicy") if p["metadata"]["name"] == "galera")
    agent_rule = next(
        rule
        for rule in policy["spec"]["ingress"]
        if {"protocol": "TCP", "port": 8008} in rule["ports"]
    )
    job_labels = pod_labels = spec["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    selectors = [peer["podSelector"]["matchLabels"] for peer in agent_rule["from"]]
    assert any(all(pod_labels.get(k) == v for k, v in s.items()) for s in selectors), job_labels
    other = [r for r in policy["spec"]["ingress"] if r is not agent_rule]
    for rule in other:
        for peer in rule["from"]:
            labels = peer.get("podSelector", {}).get("matchLabels", {})
            assert labels.get("app.kubernetes.io/component") != "backup"
