"""A container sandbox's files and pods: what Kubernetes would hold in objects.

``config/agent.yaml`` is the rendered ConfigMap's; ``secrets/`` and ``tls-secret/`` are the
cluster's Secret and its ``kubernetes.io/tls`` Secret as the kubelet mounts them; the cluster
file, ``client.cnf``, ``agent.token`` and ``tls/ca.pem`` are for galeractl on the host.
:func:`pod_args` is how a member's pod runs as a container on the sandbox's network.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from galera import tls
from galera.config import clusterfile
from galera.platforms import podrun
from galera.platforms.sandbox_files import write_secret
from galera.render import manifests

if TYPE_CHECKING:
    from galera.platforms.containers import ContainerSandbox, Member

NAMESPACE = "sandbox"  # the pods' namespace: in their names under the headless Service
POD_GID = 999  # the pods' fsGroup: Secrets are root:999 0440
STOP_TIMEOUT = 60  # the agents' graceful stop (the StatefulSet's grace period adds 30 s)
LABEL = "io.galeractl.sandbox"  # on every container, volume and network of a sandbox
MEMBER_LABEL = "io.galeractl.member"


def values(state: dict[str, Any]) -> dict[str, Any]:
    """The render values of the sandbox's cluster: the chart's defaults, small sizes."""
    return {
        "name": state["cluster_name"],
        "replicas": state["nodes"],
        "image": {
            "repository": state["image"].rpartition(":")[0],
            "tag": state["image"].rpartition(":")[2],
        },
        "tls": {"enabled": state["tls"]},
        "arbitrator": {"enabled": bool(state.get("arbitrator"))},
        "networkPolicy": {"enabled": False},
        "agent": {"stopTimeout": STOP_TIMEOUT},
        "mariadb": {
            "gcacheSize": "64M",
            "innodbBufferPoolSize": "64M",
            "innodbLogFileSize": "32M",
            "options": {"performance_schema": "OFF", "max_connections": "100"},
        },
    }


def write_files(sb: ContainerSandbox) -> None:
    """The ConfigMap's and the Secrets' directories, the credentials and the cluster file
    galeractl on the host uses."""
    objs = sb.objects()
    config = sb.root / "config"
    config.mkdir(mode=0o755)
    (config / "agent.yaml").write_text(objs["ConfigMap"]["data"]["agent.yaml"])
    password, sst = secrets.token_hex(16), secrets.token_hex(16)
    agent_token = secrets.token_hex(24)
    client_cnf = f"[client]\nuser = galeractl\npassword = {password}\n"
    write_secret(sb.root / "client.cnf", client_cnf)
    write_secret(sb.token_file, agent_token + "\n")
    init = "".join(
        f"CREATE USER 'galeractl'@'{host}' IDENTIFIED BY '{password}';\n"
        f"GRANT ALL PRIVILEGES ON *.* TO 'galeractl'@'{host}' WITH GRANT OPTION;\n"
        for host in ("%", "localhost")
    ) + (
        f"CREATE USER 'sst'@'localhost' IDENTIFIED BY '{sst}';\n"
        "GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, REPLICA MONITOR "
        "ON *.* TO 'sst'@'localhost';\n"
    )
    _secret_dir(
        sb.root / "secrets",
        {
            "agent-token": agent_token + "\n",
            "client.cnf": client_cnf,
            "sst.cnf": f"[mysqld]\nwsrep_sst_auth = sst:{sst}\n",
            "init.sql": init,
        },
    )
    if sb.state["tls"]:
        _write_tls(sb)
    sb.cluster_file.write_text(_cluster_file(sb, {"dir": str(sb.root), "containers": True}))
    _controller_dir(sb, client_cnf, agent_token)


def _cluster_file(sb: ContainerSandbox, sandbox: dict[str, Any] | None) -> str:
    members = [
        {"name": m.name, "arbitrator": True, "host": m.address}
        if m.arbitrator
        else {"name": m.name, "host": m.address, "port": m.sql_port, "agent": m.agent_url}
        for m in sb.members
    ]
    data = {
        "name": sb.state["cluster_name"],
        "credentials": {"file": "client.cnf"},
        "agent": {"token_file": sb.token_file.name},
        "timeouts": {"connect": 2, "read": 5},
        "tls": {"ca": "tls/ca.pem"} if sb.state["tls"] else {"enabled": False},
        "members": members,
    }
    return clusterfile.dump({**data, "sandbox": sandbox} if sandbox else data)


def _controller_dir(sb: ContainerSandbox, client_cnf: str, agent_token: str) -> None:
    """What a container of the controller image mounts (read-write: its records go beside
    the cluster file): a plain cluster file of the members (the static platform, as on VMs),
    the credentials, the token and the CA, owned by the image's uid 999."""
    where = sb.controller_dir
    where.mkdir(mode=0o700)
    (where / "tls").mkdir(mode=0o700)
    write_secret(where / "client.cnf", client_cnf)
    write_secret(where / sb.token_file.name, agent_token + "\n")
    (where / "cluster.yaml").write_text(_cluster_file(sb, None))
    if sb.state["tls"]:
        (where / "tls" / "ca.pem").write_bytes((sb.root / "tls" / "ca.pem").read_bytes())
    for path in [where, *where.rglob("*")]:
        with contextlib.suppress(PermissionError):
            os.chown(path, POD_GID, POD_GID)


def _write_tls(sb: ContainerSandbox) -> None:
    """The cluster's kubernetes.io/tls Secret as ``galeractl certs secret`` makes it (one
    certificate naming every member under the headless Service), plus the members'
    addresses, which galeractl on the host dials and verifies."""
    v = manifests.validate(values(sb.state), "sandbox values")
    ca = tls.new_ca(v["name"])
    names = manifests.certificate_names(v, NAMESPACE) + [m.address for m in sb.members]
    leaf = tls.new_leaf(ca, f"{v['name']}.{NAMESPACE}", names)
    pems = {"ca": ca.cert, "cert": leaf.cert, "key": leaf.key}
    _secret_dir(
        sb.root / "tls-secret",
        {manifests.TLS_KEYS[k]: pem.decode() for k, pem in pems.items()},
    )
    (sb.root / "tls").mkdir(mode=0o755)
    tls.write(sb.root / "tls" / "ca.pem", ca.cert, private=False)


def _secret_dir(path: Path, files: dict[str, str]) -> None:
    """A Secret volume as the kubelet mounts it with ``defaultMode: 0440`` and ``fsGroup:
    999``: files root:999 0440 in a directory only root and that group may enter."""
    path.mkdir(mode=0o750)
    with contextlib.suppress(PermissionError):  # not root: the containers' user cannot read
        os.chown(path, 0, POD_GID)
    for name, text in files.items():
        target = path / name
        write_secret(target, text)
        with contextlib.suppress(PermissionError):
            os.chown(target, 0, POD_GID)
        os.chmod(target, 0o440)


def pod_args(sb: ContainerSandbox, m: Member, objs: dict[str, dict[str, Any]]) -> list[str]:
    """``docker run`` arguments of ``m``'s container: the StatefulSet's pod, or the
    arbitrator Deployment's."""
    sts = objs["StatefulSet"]
    service = sts["spec"]["serviceName"]
    workload, container = (objs["Deployment"], "garbd") if m.arbitrator else (sts, "mariadb")
    sources = podrun.Sources(
        claims={"data": m.volume},
        directories={
            "config": str(sb.root / "config"),
            "secrets": str(sb.root / "secrets"),
            manifests.TLS_VOLUME: str(sb.root / "tls-secret"),
        },
    )
    pod = podrun.Pod(m.name, m.address, NAMESPACE)
    return [
        "--detach",
        "--name",
        m.container,
        "--label",
        f"{LABEL}={sb.state['id']}",
        "--label",
        f"{MEMBER_LABEL}={m.name}",
        "--network",
        sb.network_name,
        "--ip",
        m.address,
        "--network-alias",
        f"{m.name}.{service}",
        "--network-alias",
        manifests.member_address(m.name, service, NAMESPACE),
        "--restart",
        "unless-stopped",  # the kubelet restarts a pod's container that exits
        *podrun.run_args(workload, pod, sources, container),
        sb.state["image"],
        *podrun.command(workload, container),
    ]
