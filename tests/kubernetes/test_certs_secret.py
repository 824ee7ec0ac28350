"""``galeractl certs secret``: the TLS Secret of a cluster without cert-manager, as the
rendered pods mount it: a valid kubernetes.io/tls Secret (0600 on disk) whose certificate
names every member's address, renewable with the same CA."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from galera import tls
from galera.render import manifests
from tests.helpers import galeractl, one_line_error

VALUES = {
    "name": "orders",
    "namespace": "shop",
    "groups": [{"name": "a", "replicas": 2}, {"name": "b", "replicas": 1}],
}


def make(tmp_path: Path, values: dict[str, Any], *args: str) -> tuple[dict[str, Any], Path]:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    out = tmp_path / "secret.yaml"
    result = galeractl("certs", "secret", "-f", str(path), "-o", str(out), *args)
    assert result.code == 0, result.stderr
    assert "the CA's key was not kept" in result.stderr or "--ca-dir" in args
    return yaml.safe_load(out.read_text()), out


def unpacked(secret: dict[str, Any], root: Path) -> tls.Files:
    """The Secret's files as the kubelet gives them to a pod."""
    root.mkdir(exist_ok=True)
    for key, data in secret["data"].items():
        tls.write(root / key, base64.b64decode(data), private=True)
    return tls.Files(root / "ca.crt", root / "tls.crt", root / "tls.key")


def test_the_secret_is_what_the_pods_mount_and_names_every_member(tmp_path: Path) -> None:
    secret, path = make(tmp_path, VALUES)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kubernetes_validate.validate(secret, "1.35", strict=True)
    assert secret["type"] == "kubernetes.io/tls"
    assert sorted(secret["data"]) == ["ca.crt", "tls.crt", "tls.key"]
    objs = manifests.objects(VALUES)
    sets = [o for o in objs if o["kind"] == "StatefulSet"]
    for sts in sets:
        volumes = sts["spec"]["template"]["spec"]["volumes"]
        (volume,) = [v for v in volumes if v["name"] == manifests.TLS_VOLUME]
        assert volume["secret"]["secretName"] == secret["metadata"]["name"] == "orders-tls"
    assert secret["metadata"]["namespace"] == "shop"
    addresses = [
        manifests.member_address(f"{s['metadata']['name']}-{i}", s["spec"]["serviceName"], "shop")
        for s in sets
        for i in range(s["spec"]["replicas"])
    ]
    assert len(addresses) == 3
    # The agent's start check, for every pod: CA, key, dates and its address.
    tls.check(unpacked(secret, tmp_path / "pod"), [*addresses, "orders.shop.svc"])


def test_with_a_ca_directory_a_renewal_keeps_the_ca(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    first, _ = make(tmp_path, VALUES, "--ca-dir", str(ca_dir))
    assert stat.S_IMODE((ca_dir / "ca-key.pem").stat().st_mode) == 0o600
    second, _ = make(tmp_path, VALUES, "--ca-dir", str(ca_dir))
    assert first["data"]["ca.crt"] == second["data"]["ca.crt"]
    assert first["data"]["tls.crt"] != second["data"]["tls.crt"]
    # The renewed certificate verifies against the CA the members already trust.
    old_ca = unpacked(first, tmp_path / "old").ca
    renewed = unpacked(second, tmp_path / "new")
    tls.check(tls.Files(old_ca, renewed.cert, renewed.key))


def test_the_namespace_can_come_from_the_command_line(tmp_path: Path) -> None:
    secret, _ = make(tmp_path, {"tls": {"secretName": "db-tls"}}, "-n", "db")
    assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == ("db-tls", "db")
    tls.check(unpacked(secret, tmp_path / "pod"), ["galera-2.galera-peers.db.svc"])


@pytest.mark.parametrize(
    ("values", "args", "message"),
    [
        ({}, (), "the certificate names *.<peers>.<namespace>.svc: give --namespace"),
        ({"namespace": "a"}, ("-n", "b"), "--namespace b is not the values' a"),
        ({"namespace": "a", "tls": {"enabled": False}}, (), "the values turn TLS off"),
        (
            {"namespace": "a", "tls": {"certManager": {"issuer": "ca"}}},
            (),
            "tls.certManager.issuer is set: cert-manager issues this Secret",
        ),
        ({"replicas": "three"}, ("-n", "a"), "replicas: must be an integer"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, values: dict[str, Any], args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    out = tmp_path / "secret.yaml"
    result = galeractl("certs", "secret", "-f", str(path), "-o", str(out), *args)
    assert result.code == 2
    assert message in one_line_error(result)
    assert not out.exists()


def test_the_other_certs_commands_refuse_kube() -> None:
    result = galeractl("certs", "rotate", "--kube", "--kube-api", "http://127.0.0.1:9")
    assert result.code == 2
    assert "galeractl certs secret writes one" in one_line_error(result)
