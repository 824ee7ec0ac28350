"""TLS in the rendered objects: on by default, the Secret mounted for the pod's own uid only,
HTTPS probes, garbd on TLS too, the cert-manager Certificate (no official schema: its fields
are checked here) naming every member's address, and plaintext when turned off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from galera import tls
from galera.render import manifests
from tests.helpers import galeractl, one_line_error

ISSUER = {"tls": {"certManager": {"issuer": "db-ca"}}, "namespace": "db"}
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
# The cert-manager.io/v1 Certificate fields rendered, and what cert-manager accepts in them.
CERTIFICATE_SPEC = {"secretName", "secretTemplate", "dnsNames", "usages", "privateKey", "issuerRef"}
USAGES = {"digital signature", "key encipherment", "server auth", "client auth"}


def of_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def tls_volume(workload: dict[str, Any]) -> dict[str, Any] | None:
    volumes = pod_spec(workload).get("volumes") or []
    return next((v for v in volumes if v["name"] == manifests.TLS_VOLUME), None)


def agent_of(objs: list[dict[str, Any]], sts: dict[str, Any]) -> dict[str, Any]:
    name = f"{sts['metadata']['name']}-agent"
    (cm,) = [o for o in of_kind(objs, "ConfigMap") if o["metadata"]["name"] == name]
    agent: dict[str, Any] = yaml.safe_load(cm["data"]["agent.yaml"])
    return agent


def test_tls_is_on_by_default_from_the_secret_named_after_the_cluster() -> None:
    objs = manifests.objects({})
    (sts,) = of_kind(objs, "StatefulSet")
    volume = tls_volume(sts)
    assert volume is not None and volume["secret"]["secretName"] == "galera-tls"
    (container,) = pod_spec(sts)["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == manifests.TLS_VOLUME]
    assert mount == {"name": "tls", "mountPath": manifests.TLS_DIR, "readOnly": True}
    agent = agent_of(objs, sts)
    assert agent["tls"] == {
        "ca": f"{manifests.TLS_DIR}/ca.crt",
        "cert": f"{manifests.TLS_DIR}/tls.crt",
        "key": f"{manifests.TLS_DIR}/tls.key",
    }
    assert agent["server"]["node_address"] == "${POD_NAME}.galera-peers.${POD_NAMESPACE}.svc"
    # A renewed certificate is reloaded with the admin account (when the Secret has one).
    assert agent["admin_credentials_file"] == f"{manifests.SECRETS_DIR}/admin.cnf"
    assert agent["credentials_file"] == f"{manifests.SECRETS_DIR}/client.cnf"
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}
    assert env["POD_NAMESPACE"] == "metadata.namespace"
    assert not of_kind(objs, "Certificate")  # no issuer: the user makes the Secret


def test_the_key_is_readable_by_the_pods_own_uid_and_group_only() -> None:
    """The kubelet writes the Secret's files root:<fsGroup> with defaultMode (plus the
    group's read bit): 0440 with fsGroup 999, which is the agent's and mariadbd's group."""
    objs = manifests.objects({"replicas": 2})
    workloads = of_kind(objs, "StatefulSet") + of_kind(objs, "Deployment")
    assert [w["kind"] for w in workloads] == ["StatefulSet", "Deployment"]  # garbd too
    for workload in workloads:
        volume = tls_volume(workload)
        assert volume is not None
        assert volume["secret"]["defaultMode"] == 0o440
        context = pod_spec(workload)["securityContext"]
        assert context["runAsUser"] == context["runAsGroup"] == context["fsGroup"] == 999
        assert context["runAsNonRoot"] is True
        for container in pod_spec(workload)["containers"]:
            mounts = [m for m in container["volumeMounts"] if m["name"] == "tls"]
            assert mounts and all(m["readOnly"] for m in mounts)


@pytest.mark.parametrize("values", [{}, ISSUER])
def test_probes_are_https_with_tls(values: dict[str, Any]) -> None:
    for sts in of_kind(manifests.objects(values), "StatefulSet"):
        (container,) = pod_spec(sts)["containers"]
        for probe in PROBES:
            assert container[probe]["httpGet"]["scheme"] == "HTTPS"
            assert container[probe]["httpGet"]["port"] == "agent"


def test_garbd_replicates_over_tls_with_the_mounted_files() -> None:
    (garbd,) = of_kind(manifests.objects({"replicas": 2}), "Deployment")
    (container,) = pod_spec(garbd)["containers"]
    options = container["command"][container["command"].index("--options") + 1]
    files = manifests.tls_files()
    assert options.split("; ") == [
        "gmcast.listen_addr=tcp://0.0.0.0:4567",
        "socket.ssl=YES",
        f"socket.ssl_ca={files['ca']}",
        f"socket.ssl_cert={files['cert']}",
        f"socket.ssl_key={files['key']}",
    ]
    volume = tls_volume(garbd)
    assert volume is not None and volume["secret"]["secretName"] == "galera-tls"


def test_tls_off_renders_plaintext_objects() -> None:
    objs = manifests.objects({"replicas": 2, "tls": {"enabled": False}})
    text = manifests.dump(objs)
    assert "ssl" not in text and "HTTPS" not in text and "tls" not in text.lower()
    for workload in of_kind(objs, "StatefulSet") + of_kind(objs, "Deployment"):
        assert tls_volume(workload) is None
    (sts,) = of_kind(objs, "StatefulSet")
    assert agent_of(objs, sts)["server"]["node_address"] == "${POD_IP}"


def test_the_certificate_has_what_cert_manager_needs() -> None:
    objs = manifests.objects(
        {**ISSUER, "tls": {"secretName": "db-tls", "certManager": {"issuer": "db-ca"}}}
    )
    (cert,) = of_kind(objs, "Certificate")
    assert cert["apiVersion"] == "cert-manager.io/v1"
    assert cert["metadata"]["name"] == "db-tls" and cert["metadata"]["namespace"] == "db"
    spec = cert["spec"]
    assert set(spec) == CERTIFICATE_SPEC
    assert spec["secretName"] == "db-tls"
    (sts,) = of_kind(objs, "StatefulSet")
    volume = tls_volume(sts)
    assert volume is not None and volume["secret"]["secretName"] == spec["secretName"]
    assert set(spec["usages"]) <= USAGES and {"server auth", "client auth"} <= set(spec["usages"])
    assert spec["privateKey"] == {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
    assert spec["issuerRef"] == {"name": "db-ca", "kind": "Issuer", "group": "cert-manager.io"}
    assert spec["secretTemplate"]["labels"]["galeractl.io/cluster"] == "galera"
    names = spec["dnsNames"]
    assert all(isinstance(n, str) and n == n.lower() for n in names)
    assert len(set(names)) == len(names)
    # Before the pods that mount the Secret it fills.
    kinds = [o["kind"] for o in objs]
    assert kinds.index("Certificate") < kinds.index("StatefulSet")


@pytest.mark.parametrize(
    "values",
    [
        ISSUER,
        {
            "name": "orders",
            "namespace": "shop",
            "clusterDomain": "corp.internal",
            "tls": {"certManager": {"issuer": "ca", "issuerKind": "ClusterIssuer"}},
            "groups": [{"name": "a", "replicas": 2}, {"name": "b", "replicas": 3}],
        },
    ],
)
def test_the_certificate_names_every_members_address_and_the_client_service(
    values: dict[str, Any],
) -> None:
    objs = manifests.objects(values)
    (cert,) = of_kind(objs, "Certificate")
    names = cert["spec"]["dnsNames"]
    namespace, domain = values["namespace"], values.get("clusterDomain", "cluster.local")
    pods = 0
    for sts in of_kind(objs, "StatefulSet"):
        template = agent_of(objs, sts)["server"]["node_address"]
        for ordinal in range(sts["spec"]["replicas"]):
            pod = f"{sts['metadata']['name']}-{ordinal}"
            address = template.replace("${POD_NAME}", pod).replace("${POD_NAMESPACE}", namespace)
            assert address == manifests.member_address(pod, sts["spec"]["serviceName"], namespace)
            assert tls.covers(names, address), address
            assert tls.covers(names, f"{address}.{domain}")
            pods += 1
    assert pods == sum(s["spec"]["replicas"] for s in of_kind(objs, "StatefulSet"))
    clients = [s for s in of_kind(objs, "Service") if s["spec"].get("clusterIP") != "None"]
    assert len(clients) == 2  # the client Service and the writer's
    for client in clients:
        service = client["metadata"]["name"]
        for name in (service, f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.{domain}"):
            assert tls.covers(names, name)
        assert not tls.covers(names, f"x.{service}.{namespace}.svc")  # nothing more


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tls: {certManager: {issuer: db-ca}}\n",
            "tls.certManager.issuer: needs namespace (the certificate names "
            "*.galera-peers.<namespace>.svc)",
        ),
        ("tls: {enabled: yes-please}\n", "tls.enabled: must be true or false"),
        ("tls: {secretName: Bad_Name}\n", "tls.secretName: must be a Secret's name"),
        (
            "tls: {certManager: {issuerKind: issuer}}\n",
            "tls.certManager.issuerKind: must be a kind",
        ),
        ("tls: {certManager: {name: x}}\n", "tls.certManager.name: unknown key; allowed: issuer"),
        ("clusterDomain: .local\n", "clusterDomain: must be a DNS domain"),
    ],
)
def test_bad_tls_values_give_one_line_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(text)
    result = galeractl("render", "-f", str(values))
    assert result.code == 2
    assert message in one_line_error(result)
