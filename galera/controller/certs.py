"""``galeractl certs``: a cluster's certificates, created, rotated and reloaded without a restart.

Every member's agent watches its certificate files and has mariadbd reload them (``FLUSH SSL``,
``socket.ssl_reload``) once a consistent new set is in place. Rotation writes the new set
where the members read it (the sandbox, or VMs sharing the directory) and waits until every
agent reports the new certificate in use; with the files on other hosts, the person copies
them and the agents take them from there.

On Kubernetes the certificates are a ``kubernetes.io/tls`` Secret that cert-manager keeps
renewed; :func:`kubernetes_secret` makes one for clusters without cert-manager.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from galera import poll, tls
from galera.config import certdir, endpoints
from galera.config.clusterfile import ClusterSpec
from galera.domain import events
from galera.domain.events import Kind
from galera.errors import GaleraError, InvalidInput, OperationFailed
from galera.render import manifests

Emit = events.Emit


def parties(spec: ClusterSpec) -> dict[str, list[str]]:
    """Every member (garbd included) and the names its certificate must carry: the address
    peers and clients use, its name, and its agent's host."""
    result: dict[str, list[str]] = {}
    for m in spec.members:
        names = [m.host, m.name]
        if m.agent:
            names.append(urlsplit(m.agent).hostname or m.host)
        result[m.name] = [n for n in dict.fromkeys(names) if n]
    return result


def directory(spec: ClusterSpec) -> Path:
    """Where the cluster's certificates are: beside the CA the cluster file names."""
    if spec.tls_ca is None:
        raise InvalidInput(
            f"{spec.path} names no CA (tls: ca); create one with: galeractl certs create"
        )
    return spec.tls_ca.parent


def create(spec: ClusterSpec, root: Path, days: int) -> dict[str, list[str]]:
    """A new CA and every member's certificate in ``root``; what each names."""
    named = parties(spec)
    certdir.create(root, spec.name, named, days)
    return named


def rotate(
    spec: ClusterSpec, new_ca: bool, days: int, emit: Emit, wait: float | None = 120.0
) -> dict[str, str]:
    """New certificates for every member (and a new CA with ``new_ca``, trusted alongside the
    old one); with ``wait``, until every agent reports its new certificate in use. Returns
    each member's new fingerprint."""
    root = directory(spec)
    named = parties(spec)
    certdir.rotate(root, spec.name, named, new_ca=new_ca, days=days)
    fresh = {}
    for name in named:
        cert = certdir.files(root, name).cert
        assert cert is not None
        fresh[name] = tls.fingerprint(cert)
        emit(events.of(Kind.ISSUED, member=name, fingerprint=fresh[name][:16]))
    if wait is not None:
        wait_reloaded(spec, fresh, wait, emit)
    return fresh


def wait_reloaded(spec: ClusterSpec, fresh: dict[str, str], timeout: float, emit: Emit) -> None:
    """Until every data member's agent serves ``fresh[member]`` (its mariadbd reloaded)."""
    todo = {m.name: m for m in spec.members if not m.arbitrator and m.agent}
    token = spec.agent_token()

    def left() -> list[str]:
        for name in list(todo):
            try:
                state = endpoints.agent(spec, todo[name], token).status().get("tls") or {}
            except GaleraError:
                continue
            if state.get("fingerprint") == fresh[name] and not state.get("error"):
                emit(events.of(Kind.RELOADED, member=name))
                del todo[name]
        return list(todo)

    try:
        poll.until(
            lambda: True if not left() else None,
            timeout=timeout,
            interval=1.0,
            what="every member reloaded",
        )
    except poll.TimedOut:
        raise OperationFailed(
            f"{', '.join(todo)} did not take the new certificate into use within "
            f"{timeout:.0f}s (their agents' status shows why: tls.error)"
        ) from None


def expiries(spec: ClusterSpec) -> dict[str, dt.datetime]:
    """When the CA and each member's certificate in the cluster's directory expire."""
    return certdir.expiries(directory(spec), list(parties(spec)))


def kubernetes_secret(
    values: dict[str, Any],
    namespace: str | None,
    days: int,
    ca_dir: Path | None,
    source: str = "values",
) -> tuple[dict[str, Any], list[str]]:
    """The ``kubernetes.io/tls`` Secret the cluster of ``values`` mounts, as cert-manager
    would write it (``ca.crt``, ``tls.crt``, ``tls.key``): one certificate naming every
    member and the client Service, signed by the CA of ``ca_dir`` (created there when
    missing, so a renewal keeps it) or by a new CA whose key is not kept. Also its names."""
    v = manifests.validate(values, source)
    if not v["tls"]["enabled"]:
        raise InvalidInput("the values turn TLS off (tls.enabled: false)")
    if v["tls"]["certManager"]["issuer"]:
        raise InvalidInput(
            "tls.certManager.issuer is set: cert-manager issues this Secret (leave it empty)"
        )
    if namespace and v["namespace"] and namespace != v["namespace"]:
        raise InvalidInput(f"--namespace {namespace} is not the values' {v['namespace']}")
    namespace = namespace or v["namespace"]
    if not namespace:
        raise InvalidInput(
            "the certificate names *.<peers>.<namespace>.svc: give --namespace (or namespace "
            "in the values)"
        )
    if ca_dir is not None:
        ca, bundle = certdir.kept_ca(ca_dir, v["name"])
    else:
        ca = tls.new_ca(v["name"])
        bundle = ca.cert
    names = manifests.certificate_names(v, namespace)
    leaf = tls.new_leaf(ca, f"{v['name']}.{namespace}", names, days)
    pems = {"ca": bundle, "cert": leaf.cert, "key": leaf.key}
    data = {manifests.TLS_KEYS[party]: pem for party, pem in pems.items()}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {
            "name": manifests.tls_secret(v),
            "namespace": namespace,
            "labels": manifests.cluster_labels(v),
        },
        "data": {key: base64.b64encode(pem).decode() for key, pem in data.items()},
    }
    return secret, names
