"""The Kubernetes manifests of one Galera cluster, from ``templates/kubernetes/``.

``values`` are validated against ``values.schema.json`` (the same schema the Helm chart
uses for its ``galera:`` section) after the defaults of ``values.yaml`` are merged in; an
error names the key and what is allowed. The templates get a context computed here (member
groups, peer addresses, labels, the agent configuration of each group), so that they stay
declarative and every derived value has one definition.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from galera import validation
from galera.domain import options
from galera.errors import InvalidInput
from galera.render import environment, templates_dir

KUBE_DIR = "kubernetes"
CLUSTER_LABEL = "galeractl.io/cluster"
GROUP_LABEL = "galeractl.io/group"
ROLE_LABEL = "galeractl.io/role"  # on the writer's pod only (the <name>-writer Service)
WRITER_ROLE = "writer"
CONFIG_HASH = "galeractl.io/config-hash"
WEIGHT_ANNOTATION = "galeractl.io/weight"
COMPONENT_LABEL = "app.kubernetes.io/component"
DATA_COMPONENT = "database"
ARBITRATOR_COMPONENT = "arbitrator"
EXPORTER_COMPONENT = "controller"
BACKUP_COMPONENT = "backup"
SECRETS_DIR = "/etc/galeractl/secrets"
TLS_DIR = "/etc/galeractl/tls"
# The pod template's volume of the TLS Secret: how the platform tells a TLS cluster.
TLS_VOLUME = "tls"
# The keys of a kubernetes.io/tls Secret, as cert-manager writes them.
TLS_KEYS = {"ca": "ca.crt", "cert": "tls.crt", "key": "tls.key"}


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def defaults() -> dict[str, Any]:
    """The default values (``templates/kubernetes/values.yaml``)."""
    data = _load_yaml(templates_dir() / KUBE_DIR / "values.yaml")
    assert isinstance(data, dict)
    return data


def schema() -> dict[str, Any]:
    """The JSON Schema of the values (``templates/kubernetes/values.schema.json``)."""
    data = json.loads((templates_dir() / KUBE_DIR / "values.schema.json").read_text())
    assert isinstance(data, dict)
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge as Helm does: mappings merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def validate(values: dict[str, Any], source: str = "values") -> dict[str, Any]:
    """Merge ``values`` over the defaults and check them; the first error names the key."""
    if not isinstance(values, dict):
        raise InvalidInput(f"{source}: must be a mapping of values")
    merged = merge(defaults(), values)
    validation.check(merged, schema(), source, validator=validation.STANDARD)
    _check_semantics(merged, source)
    return merged


def _check_semantics(v: dict[str, Any], source: str) -> None:
    names = [g["name"] for g in v["groups"]]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise InvalidInput(f"{source}: groups[{i}].name: {name!r} appears twice")
    ports = {**v["ports"], "agent": v["agent"]["port"]}
    seen: dict[int, str] = {}
    for key, port in ports.items():
        if port in seen:
            raise InvalidInput(f"{source}: ports.{key}: {port} is also used by {seen[port]}")
        seen[port] = key
    if data_members(v) > 15:
        raise InvalidInput(f"{source}: groups: {data_members(v)} data members; at most 15")
    server = {str(k): str(val) for k, val in v["mariadb"]["options"].items()}
    options.check(server, f"{source}: mariadb.options.")
    provider = {str(k): str(val) for k, val in v["mariadb"]["providerOptions"].items()}
    options.check_provider(provider, f"{source}: mariadb.providerOptions.")
    if certificate_wanted(v) and not v["namespace"]:
        raise InvalidInput(
            f"{source}: tls.certManager.issuer: needs namespace (the certificate names "
            f"*.{peers_service(v)}.<namespace>.svc)"
        )


def data_members(v: dict[str, Any]) -> int:
    return sum(g["replicas"] for g in v["groups"]) if v["groups"] else int(v["replicas"])


def arbitrator_enabled(v: dict[str, Any]) -> bool:
    enabled = v["arbitrator"]["enabled"]
    return data_members(v) % 2 == 0 if enabled == "auto" else bool(enabled)


@dataclass(frozen=True)
class Group:
    """One StatefulSet: the members of one site, with their segment and weight."""

    name: str
    sts: str
    replicas: int
    segment: int
    weight: int
    zone: str
    node_selector: dict[str, str]

    @property
    def pods(self) -> list[str]:
        return [f"{self.sts}-{i}" for i in range(self.replicas)]


def groups(v: dict[str, Any]) -> list[Group]:
    """The member groups; without ``groups`` one group named after the cluster."""
    if not v["groups"]:
        return [Group("", v["name"], int(v["replicas"]), 0, 1, "", dict(v["nodeSelector"]))]
    out = []
    for g in v["groups"]:
        selector = dict(v["nodeSelector"])
        if g.get("zone"):
            selector["topology.kubernetes.io/zone"] = g["zone"]
        selector.update(g.get("nodeSelector") or {})
        out.append(
            Group(
                g["name"],
                f"{v['name']}-{g['name']}",
                int(g["replicas"]),
                int(g.get("segment", 0)),
                int(g.get("weight", 1)),
                str(g.get("zone", "")),
                selector,
            )
        )
    return out


def peers_service(v: dict[str, Any]) -> str:
    return f"{v['name']}-peers"


def peers(v: dict[str, Any]) -> list[str]:
    """Every data member's stable address (headless Service DNS) for gcomm://."""
    service = peers_service(v)
    return [f"{pod}.{service}:{v['ports']['galera']}" for g in groups(v) for pod in g.pods]


def member_address(pod: str, service: str, namespace: str) -> str:
    """A member's address with TLS: its name under the headless Service, which a certificate
    issued before the pod exists can carry (its IP cannot), with the namespace (OpenSSL
    honours a wildcard only with two labels after it). Clients dial the pod's IP and verify
    this name."""
    return f"{pod}.{service}.{namespace}.svc"


def tls_secret(v: dict[str, Any]) -> str:
    return str(v["tls"]["secretName"] or f"{v['name']}-tls")


def certificate_wanted(v: dict[str, Any]) -> bool:
    return bool(v["tls"]["enabled"] and v["tls"]["certManager"]["issuer"])


def certificate_names(v: dict[str, Any], namespace: str) -> list[str]:
    """What the cluster's certificate names: every member (a wildcard under the headless
    Service, short and fully qualified) and the client and writer Services, by each of their
    names."""
    members = f"*.{peers_service(v)}.{namespace}.svc"
    domain = v["clusterDomain"]
    names = [members, f"{members}.{domain}"]
    for service in (v["name"], f"{v['name']}-writer"):
        qualified = f"{service}.{namespace}.svc"
        names += [service, f"{service}.{namespace}", qualified, f"{qualified}.{domain}"]
    return names


def tls_files() -> dict[str, str]:
    """Where a member (and garbd) finds the TLS Secret's files."""
    return {party: f"{TLS_DIR}/{key}" for party, key in TLS_KEYS.items()}


def cluster_labels(v: dict[str, Any]) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "galera",
        "app.kubernetes.io/instance": v["name"],
        "app.kubernetes.io/managed-by": "galeractl",
        CLUSTER_LABEL: v["name"],
    }


def cluster_selector(v: dict[str, Any]) -> dict[str, str]:
    """The labels every data member carries (Services, PDB, anti-affinity)."""
    return {CLUSTER_LABEL: v["name"], COMPONENT_LABEL: DATA_COMPONENT}


def agent_config(v: dict[str, Any], group: Group) -> dict[str, Any]:
    """The node agent's configuration for the members of ``group`` (docs/agent.md)."""
    provider_options = {str(k): str(val) for k, val in v["mariadb"]["providerOptions"].items()}
    # Across sites every member names its segment, 0 included: that also keeps Galera's
    # WAN membership timers instead of the one-site ones (galera.domain.options.LAN_TIMERS).
    if any(g.segment for g in groups(v)):
        provider_options["gmcast.segment"] = str(group.segment)
    tls_on = v["tls"]["enabled"]
    address = member_address("${POD_NAME}", peers_service(v), "${POD_NAMESPACE}")
    config: dict[str, Any] = {
        "name": "${POD_NAME}",
        "listen": f"0.0.0.0:{v['agent']['port']}",
        "token_file": f"{SECRETS_DIR}/agent-token",
        "backup_token_file": f"{SECRETS_DIR}/backup-token",
        "credentials_file": f"{SECRETS_DIR}/client.cnf",
        "init_file": f"{SECRETS_DIR}/init.sql",
        "mariadbd": "/usr/sbin/mariadbd",
        "install_db": "/usr/bin/mariadb-install-db",
        "rundir": "/run/galeractl",
        "start": "join",
        "restart": "always",
        "stop_timeout": v["agent"]["stopTimeout"],
        "health": {"donor_ok": v["agent"]["donorOk"], "require_writable": False},
        "server": {
            "cluster_name": v["name"],
            "datadir": "/var/lib/mysql",
            "socket": "/run/mysqld/mysqld.sock",
            "pid_file": "/run/mysqld/mysqld.pid",
            "log_error": "/var/lib/mysql/mariadb.err",
            "node_address": address if tls_on else "${POD_IP}",
            "peers": peers(v),
            "port": v["ports"]["mysql"],
            "galera_port": v["ports"]["galera"],
            "ist_port": v["ports"]["ist"],
            "sst_port": v["ports"]["sst"],
            "weight": group.weight,
            "gcache_size": v["mariadb"]["gcacheSize"],
            "sst_method": v["mariadb"]["sstMethod"],
            "provider": "/usr/lib/galera/libgalera_smm.so",
            "secrets_file": f"{SECRETS_DIR}/sst.cnf",
            "innodb_buffer_pool_size": v["mariadb"]["innodbBufferPoolSize"],
            "innodb_log_file_size": v["mariadb"]["innodbLogFileSize"],
            "applier_threads": v["mariadb"]["applierThreads"],
            "provider_options": provider_options,
            "extra": {str(k): str(val) for k, val in v["mariadb"]["options"].items()},
        },
    }
    if tls_on:  # the agent checks at start that the certificate names node_address
        config["tls"] = tls_files()
        config["admin_credentials_file"] = f"{SECRETS_DIR}/admin.cnf"  # reloads them
    return config


def _alert_rules() -> Any:
    for base in (templates_dir().parent / "monitoring", templates_dir() / "monitoring"):
        path = base / "galera-alerts.yaml"
        if path.is_file():
            return _load_yaml(path)
    raise InvalidInput("monitoring/galera-alerts.yaml not found next to the templates")


def _context(v: dict[str, Any]) -> dict[str, Any]:
    image = f"{v['image']['repository']}:{v['image']['tag']}"
    selector = cluster_selector(v)
    labels = cluster_labels(v)
    rendered = []
    for g in groups(v):
        agent_yaml = yaml.safe_dump(agent_config(v, g), sort_keys=False)
        group_labels = {**labels, COMPONENT_LABEL: DATA_COMPONENT, GROUP_LABEL: g.name or "default"}
        config_hash = hashlib.sha256(agent_yaml.encode()).hexdigest()[:16]
        rendered.append(
            {
                "name": g.name,
                "sts": g.sts,
                "replicas": g.replicas,
                "zone": g.zone,
                "node_selector": g.node_selector,
                "configmap": f"{g.sts}-agent",
                "agent_yaml": agent_yaml,
                "labels": group_labels,
                "selector": {**selector, GROUP_LABEL: g.name or "default"},
                "pod_labels": {**v["podLabels"], **group_labels},
                "pod_annotations": {
                    **v["podAnnotations"],
                    CONFIG_HASH: config_hash,
                    WEIGHT_ANNOTATION: str(g.weight),
                },
            }
        )

    def monitoring_labels(extra: dict[str, str]) -> dict[str, str]:
        return {**labels, **extra}

    return {
        "v": v,
        "image": image,
        "groups": rendered,
        "peers": peers(v),
        "peers_service": peers_service(v),
        "cluster_labels": labels,
        "cluster_selector": selector,
        "arbitrator_name": f"{v['name']}-arbitrator",
        "arbitrator_labels": {
            CLUSTER_LABEL: v["name"],
            COMPONENT_LABEL: ARBITRATOR_COMPONENT,
            "app.kubernetes.io/name": "galera",
            "app.kubernetes.io/instance": v["name"],
        },
        "arbitrator_selector": {CLUSTER_LABEL: v["name"], COMPONENT_LABEL: ARBITRATOR_COMPONENT},
        "tls_secret": tls_secret(v),
        "tls_volume": TLS_VOLUME,
        "tls_dir": TLS_DIR,
        "tls_files": tls_files(),
        "exporter_selector": {CLUSTER_LABEL: v["name"], COMPONENT_LABEL: EXPORTER_COMPONENT},
        "backup_name": f"{v['name']}-backup",
        "backup_labels": {**labels, COMPONENT_LABEL: BACKUP_COMPONENT},
        "backup_selector": {CLUSTER_LABEL: v["name"], COMPONENT_LABEL: BACKUP_COMPONENT},
        "monitoring_labels": monitoring_labels,
    }


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> list[dict[str, Any]]:
    text = env.get_template(f"{KUBE_DIR}/{name}").render(**context)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def objects(values: dict[str, Any], source: str = "values") -> list[dict[str, Any]]:
    """Every Kubernetes object of the cluster, in the order ``kubectl apply`` should see them."""
    v = validate(values, source)
    context = _context(v)
    env = environment()
    out: list[dict[str, Any]] = []
    for group in context["groups"]:
        out += _render(env, "configmap.yaml.j2", {**context, "group": group})
    out += _render(env, "services.yaml.j2", context)
    out += _render(env, "pdb.yaml.j2", context)
    if v["networkPolicy"]["enabled"]:  # before the pods they protect
        policies = {**context, "arbitrator": arbitrator_enabled(v)}
        out += _render(env, "networkpolicy.yaml.j2", policies)
    if certificate_wanted(v):  # before the pods that mount its Secret
        names = certificate_names(v, v["namespace"])
        out += _render(env, "certificate.yaml.j2", {**context, "dns_names": names})
    for group in context["groups"]:
        out += _render(env, "statefulset.yaml.j2", {**context, "group": group})
    if arbitrator_enabled(v):
        out += _render(env, "arbitrator.yaml.j2", context)
    if v["backup"]["enabled"]:
        out += _render(env, "backup.yaml.j2", context)
    if v["monitoring"]["serviceMonitor"]["enabled"]:
        out += _render(env, "servicemonitor.yaml.j2", context)
    if v["monitoring"]["prometheusRule"]["enabled"]:
        out += _render(env, "prometheusrule.yaml.j2", {**context, "alert_rules": _alert_rules()})
    return out


def file_name(obj: dict[str, Any]) -> str:
    """``<kind>-<name>.yaml``, the file an object is written to by ``render -o DIR``."""
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the agent configuration) as readable literal blocks."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump(objs: list[dict[str, Any]]) -> str:
    """A multi-document YAML stream, stable for golden files and diffs."""
    return "".join(
        "---\n" + yaml.dump(o, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
        for o in objs
    )
