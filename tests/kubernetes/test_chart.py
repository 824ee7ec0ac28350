"""The Helm chart (charts/galeractl): it installs the controller, and the controller renders
the cluster from the chart's ``galera:`` values with templates/kubernetes/. Checked with
``helm lint`` and ``helm template``: the official Kubernetes schemas, least-privilege RBAC, no
database objects nor Secrets of its own, monitoring from monitoring/, clear errors for bad
values, and the chart's schema and defaults kept in step with the templates'."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from galera.render import manifests
from tests.helpers import ROOT

HERE = Path(__file__).parent
CHART = ROOT / "charts" / "galeractl"
NONTRIVIAL = HERE / "values" / "chart-nontrivial.yaml"
NAMESPACE = "db"
MONITORING_API = ("--api-versions", "monitoring.coreos.com/v1")
CASES: dict[str, tuple[str, ...]] = {
    "default": (),
    "default-monitoring": MONITORING_API,
    "nontrivial": ("-f", str(NONTRIVIAL)),
    "nontrivial-monitoring": ("-f", str(NONTRIVIAL), *MONITORING_API),
}
KUBE_VERSIONS = ("1.28", "1.35")
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}
VALUES_FILE = "/etc/galeractl/values/values.yaml"
SECRETS_DIR = "/etc/galeractl/secrets"
RUNTIME_DEFAULT = {"type": "RuntimeDefault"}
LOCKED_DOWN = {
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}
# Every permission the controller gets: (API group, resource) -> verbs. Nothing else.
PERMISSIONS = {
    ("", "pods"): {"get", "list", "watch", "delete", "patch"},
    ("", "services"): {"get", "list", "watch", "create", "patch", "update"},
    ("", "configmaps"): {"get", "list", "watch", "create", "patch", "update"},
    ("", "events"): {"create", "patch"},
    ("apps", "statefulsets"): {"get", "list", "watch", "create", "patch"},
    ("apps", "deployments"): {"get", "list", "watch", "create", "patch"},
    ("policy", "poddisruptionbudgets"): {"get", "list", "create", "patch"},
    ("coordination.k8s.io", "leases"): {"get", "create", "update"},
}
# Those to apply the objects that only some values render.
RENDERED_PERMISSIONS = {
    ("cert-manager.io", "certificates"): {"get", "create", "patch"},
    ("monitoring.coreos.com", "servicemonitors"): {"get", "create", "patch"},
    ("monitoring.coreos.com", "prometheusrules"): {"get", "create", "patch"},
    ("networking.k8s.io", "networkpolicies"): {"get", "create", "patch"},
    ("batch", "cronjobs"): {"get", "create", "patch"},
    ("", "persistentvolumeclaims"): {"get", "create", "patch"},
    ("", "serviceaccounts"): {"get", "create", "patch"},
    ("rbac.authorization.k8s.io", "roles"): {"get", "create", "patch"},
    ("rbac.authorization.k8s.io", "rolebindings"): {"get", "create", "patch"},
}


def run(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [helm, *args], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )


_rendered: dict[tuple[str, ...], list[dict[str, Any]]] = {}


def template(helm: str, *args: str) -> list[dict[str, Any]]:
    """The objects of ``helm template`` (cached: the chart does not change during a run)."""
    if args not in _rendered:
        proc = run(helm, "template", "rel", str(CHART), "-n", NAMESPACE, *args)
        assert proc.returncode == 0, proc.stderr
        _rendered[args] = [o for o in yaml.safe_load_all(proc.stdout) if o]
    return _rendered[args]


def of_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def one(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_kind(objs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def given_values(case: str) -> dict[str, Any]:
    return yaml.safe_load(NONTRIVIAL.read_text()) if "nontrivial" in case else {}


def chart_defaults() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return data


def merged(case: str, section: str) -> dict[str, Any]:
    """A section of the values as Helm sees them: the case's over the chart's defaults."""
    return manifests.merge(chart_defaults()[section], given_values(case).get(section, {}))


@pytest.mark.parametrize("case", ["default", "nontrivial"])
def test_helm_lint_passes(helm: str, case: str) -> None:
    proc = run(helm, "lint", "--strict", str(CHART), *CASES[case])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_object_is_valid_for_the_kubernetes_schemas(
    helm: str, case: str, version: str
) -> None:
    checked = 0
    for obj in template(helm, *CASES[case]):
        assert obj["metadata"]["namespace"] == NAMESPACE
        if obj["kind"] in CRD_KINDS:
            continue  # CRDs of the Prometheus operator: no official schema
        kubernetes_validate.validate(obj, version, strict=True)
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("case", sorted(CASES))
def test_only_the_controller_no_database_objects_and_no_secret(helm: str, case: str) -> None:
    """The StatefulSets come from the templates through the controller; the Secret from the
    user. Monitoring objects: forced by the values, else only where the Prometheus operator's
    API exists."""
    kinds = sorted(o["kind"] for o in template(helm, *CASES[case]))
    expected = ["ConfigMap", "ConfigMap", "Deployment", "NetworkPolicy", "Role", "RoleBinding"]
    expected += ["Service", "ServiceAccount"]
    if case != "default":
        expected += ["PrometheusRule", "ServiceMonitor"]
    assert kinds == sorted(expected)


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_configmap_holds_exactly_the_galera_values(helm: str, case: str) -> None:
    objs = template(helm, *CASES[case])
    name = one(objs, "Deployment")["metadata"]["name"]
    config = next(
        o for o in of_kind(objs, "ConfigMap") if o["metadata"]["name"] == f"{name}-values"
    )
    assert list(config["data"]) == ["values.yaml"]
    values = yaml.safe_load(config["data"]["values.yaml"])
    given = given_values(case).get("galera", {})
    # With the release's namespace, which the certificate's names carry.
    assert values == {**merged(case, "galera"), "namespace": NAMESPACE}
    # What the controller does with them: the same check and defaults as `galeractl render`.
    assert (
        manifests.validate(values)
        == values
        == manifests.validate({**given, "namespace": NAMESPACE})
    )
    assert of_kind(manifests.objects(values), "StatefulSet")


def test_with_a_cert_manager_issuer_the_controller_applies_a_certificate(helm: str) -> None:
    objs = template(helm, "--set", "galera.tls.certManager.issuer=db-ca")
    (config,) = [o for o in of_kind(objs, "ConfigMap") if "values.yaml" in o["data"]]
    rendered = manifests.objects(yaml.safe_load(config["data"]["values.yaml"]))
    (certificate,) = of_kind(rendered, "Certificate")
    assert certificate["metadata"]["namespace"] == NAMESPACE
    assert "*.galera-peers.db.svc" in certificate["spec"]["dnsNames"]


POLICIES = "networkpolicies"
RBAC_CASES = [
    ("default", "", {POLICIES}),
    ("nontrivial-monitoring", "", {POLICIES}),
    ("default", "galera.monitoring.serviceMonitor.enabled=true", {"servicemonitors", POLICIES}),
    ("default", "galera.monitoring.prometheusRule.enabled=true", {"prometheusrules", POLICIES}),
    ("default", "galera.networkPolicy.enabled=false", set()),
    (
        "default",
        "galera.backup.enabled=true",
        {
            "cronjobs",
            "persistentvolumeclaims",
            "serviceaccounts",
            "roles",
            "rolebindings",
            POLICIES,
        },
    ),
    ("default", "galera.tls.certManager.issuer=db-ca", {"certificates", POLICIES}),
    (
        "default",
        "galera.tls.certManager.issuer=db-ca,galera.tls.enabled=false",
        {POLICIES},
    ),
]


@pytest.mark.parametrize(("case", "setting", "rendered"), RBAC_CASES)
def test_rbac_is_namespaced_and_least_privilege(
    helm: str, case: str, setting: str, rendered: set[str]
) -> None:
    """Exactly what the controller uses (the cluster's monitoring objects and NetworkPolicies
    only if it applies them), in the release's namespace; no access to Secrets (the cluster's
    is mounted)."""
    objs = template(helm, *CASES[case], *(("--set", setting) if setting else ()))
    assert not of_kind(objs, "ClusterRole")
    assert not of_kind(objs, "ClusterRoleBinding")
    role = one(objs, "Role")
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
        assert not rule.get("nonResourceURLs")
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                assert (group, resource) not in granted, f"{group}/{resource} granted twice"
                granted[(group, resource)] = set(rule["verbs"])
        assert "secrets" not in rule["resources"], "the Secret is mounted, never read"
        assert "resourceNames" not in rule
    wanted = {**PERMISSIONS}
    wanted.update({k: v for k, v in RENDERED_PERMISSIONS.items() if k[1] in rendered})
    assert granted == wanted
    binding = one(objs, "RoleBinding")
    assert (binding["roleRef"]["kind"], binding["roleRef"]["name"]) == (
        "Role",
        role["metadata"]["name"],
    )
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    account = one(objs, "ServiceAccount")["metadata"]["name"]
    assert pod["serviceAccountName"] == account
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
    ]


def option(command: list[str], flag: str) -> str:
    assert command.count(flag) == 1, f"{flag} in {command}"
    return command[command.index(flag) + 1]


@pytest.mark.parametrize("case", ["default", "nontrivial"])
def test_controller_applies_the_values_with_the_secret_as_read_only_files(
    helm: str, case: str
) -> None:
    objs = template(helm, *CASES[case])
    deployment = one(objs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    controller, galera = merged(case, "controller"), merged(case, "galera")
    command = container["command"] + container.get("args", [])
    assert command[:3] == ["galeractl", "controller", "--kube"]
    assert option(command, "--statefulset") == galera["name"]
    assert option(command, "--namespace") == NAMESPACE
    assert option(command, "--apply") == VALUES_FILE
    assert option(command, "--secrets-dir") == SECRETS_DIR
    assert option(command, "--metrics") == "0.0.0.0:9104"
    assert option(command, "-o") == "json"
    assert float(option(command, "--interval")) == controller["interval"]
    assert float(option(command, "--no-primary-grace")) == controller["noPrimaryGrace"]
    assert float(option(command, "--member-down-grace")) == controller["memberDownGrace"]
    assert ("--initialize" in command) is controller["initialize"]
    assert deployment["spec"]["replicas"] == controller["replicas"]
    image = controller["image"]
    tag = image["tag"] or yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    assert container["image"] == f"{image['repository']}:{tag}"
    # Passwords only as files of the user's Secret: never in the environment or the arguments.
    assert not any("password" in arg.lower() for arg in command)
    for env in container.get("env", []):
        assert "secretKeyRef" not in env.get("valueFrom", {}), env
        assert "password" not in json.dumps(env).lower(), env
    assert not container.get("envFrom")
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    # The cluster's Secret and the CA of its TLS Secret, never the TLS key.
    projected = volumes[mounts[SECRETS_DIR]["name"]]["projected"]
    assert projected["defaultMode"] == 0o440
    tls_secret = galera["tls"]["secretName"] or f"{galera['name']}-tls"
    assert projected["sources"] == [
        {"secret": {"name": galera["secretName"]}},
        {
            "secret": {
                "name": tls_secret,
                "optional": True,  # cert-manager issues it once the controller applied it
                "items": [{"key": "ca.crt", "path": "ca.crt"}],
            }
        },
    ]
    assert mounts[SECRETS_DIR]["readOnly"] is True
    values = volumes[mounts[str(Path(VALUES_FILE).parent)]["name"]]["configMap"]
    assert values == {"name": f"{deployment['metadata']['name']}-values"}
    # Non-root, read-only, no capabilities; cheap TCP probes of the metrics port.
    restricted = {"runAsNonRoot": True, "runAsUser": 999, "seccompProfile": RUNTIME_DEFAULT}
    assert pod["securityContext"].items() >= restricted.items()
    assert container["securityContext"].items() >= {**restricted, **LOCKED_DOWN}.items()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 9104}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["tcpSocket"] == {"port": "metrics"}


def test_without_tls_the_controller_mounts_only_the_clusters_secret(helm: str) -> None:
    objs = template(helm, "--set", "galera.tls.enabled=false")
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "secrets"]
    assert volume == {
        "name": "secrets",
        "secret": {"secretName": "galera-secrets", "defaultMode": 0o440},
    }


def test_a_change_of_the_galera_values_restarts_the_controller(helm: str) -> None:
    def checksum(*args: str) -> str:
        pod = one(template(helm, *args), "Deployment")["spec"]["template"]
        value: str = pod["metadata"]["annotations"]["galeractl.io/values-checksum"]
        return value

    assert checksum() == checksum("--set", "controller.interval=5")
    assert checksum() != checksum("--set", "galera.replicas=5")


@pytest.mark.parametrize("case", ["default-monitoring", "nontrivial"])
def test_monitoring_comes_from_the_monitoring_directory(helm: str, case: str) -> None:
    objs = template(helm, *CASES[case])
    alerts = yaml.safe_load((ROOT / "monitoring" / "galera-alerts.yaml").read_text())
    assert one(objs, "PrometheusRule")["spec"] == alerts
    dashboard = (ROOT / "monitoring" / "galera-dashboard.json").read_text()
    [config] = [o for o in of_kind(objs, "ConfigMap") if "galera-dashboard.json" in o["data"]]
    assert config["data"] == {"galera-dashboard.json": dashboard}
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    for name in ("galera-alerts.yaml", "galera-dashboard.json"):
        link = CHART / "files" / name
        assert link.is_symlink(), f"{link} must link to monitoring/{name} (one copy)"
        assert link.resolve() == (ROOT / "monitoring" / name).resolve()


@pytest.mark.parametrize("case", ["default-monitoring", "nontrivial"])
def test_service_monitors_select_the_controllers_metrics_service(helm: str, case: str) -> None:
    objs = template(helm, *CASES[case])
    service = one(objs, "Service")
    labels = service["metadata"]["labels"]
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9104, "targetPort": "metrics", "protocol": "TCP"}
    ]
    pod_labels = one(objs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    galera = merged(case, "galera")
    assert labels["galeractl.io/cluster"] == galera["name"]
    assert labels["app.kubernetes.io/component"] == "controller"
    monitor = one(objs, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    # The ServiceMonitor that the controller applies itself (galera.monitoring) selects it too.
    enabled = {"monitoring": {"serviceMonitor": {"enabled": True}}}
    [own] = of_kind(manifests.objects(manifests.merge(galera, enabled)), "ServiceMonitor")
    assert own["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("galera.replicas=two", "/galera/replicas"),
        ("galera.mariadb.sstMethod=xtrabackup", "/galera/mariadb/sstMethod"),
        ("galera.storage.size=lots", "/galera/storage/size"),
        ("galera.unknown=1", "'unknown'"),
        ("controller.interval=-1", "/controller/interval"),
        ("controller.image.pullPolicy=Sometimes", "/controller/image/pullPolicy"),
        ("monitoring.serviceMonitor.enabled=maybe", "/monitoring/serviceMonitor/enabled"),
        ("networkPolicy.enabled=maybe", "/networkPolicy/enabled"),
        (
            "networkPolicy.metricsClients[0].podSelector.matchLabels.app=1",
            "/networkPolicy/metricsClients/0/podSelector/matchLabels/app",
        ),
        ("galera.networkPolicy.clients[0].podSelector=x", "/galera/networkPolicy/clients/0"),
        ("galera.namespace=elsewhere", "galera.namespace"),
        (
            "monitoring.prometheusRule.enabled=true,galera.monitoring.prometheusRule.enabled=true",
            "galera.monitoring.prometheusRule.enabled",
        ),
    ],
)
def test_a_bad_value_fails_naming_the_key(helm: str, setting: str, key: str) -> None:
    proc = run(helm, "template", "rel", str(CHART), "-n", NAMESPACE, "--set", setting)
    assert proc.returncode != 0
    assert key in proc.stderr, proc.stderr
    if key.startswith("/"):  # the schema; lint reports a template's `fail` but passes
        lint = run(helm, "lint", str(CHART), "-n", NAMESPACE, "--set", setting)
        assert lint.returncode != 0
        assert key in lint.stdout + lint.stderr


def test_chart_schema_and_defaults_follow_the_templates() -> None:
    """The `galera:` part of the chart is a copy of templates/kubernetes/ (scripts/sync-chart)."""
    chart_schema = json.loads((CHART / "values.schema.json").read_text())
    templates_schema = manifests.schema()
    assert chart_schema["$schema"] == templates_schema["$schema"]
    expected = {k: v for k, v in templates_schema.items() if k not in ("$schema", "title")}
    assert chart_schema["properties"]["galera"] == expected
    assert chart_defaults()["galera"] == manifests.defaults()
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "sync-chart"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    # additionalProperties: false on every object the chart itself defines.
    pending = [("", chart_schema)]
    while pending:
        where, node = pending.pop()
        if node.get("properties"):
            assert node.get("additionalProperties") is False, where or "(top level)"
            pending += [(f"{where}.{k}", v) for k, v in node["properties"].items()]
