"""A pod of the rendered StatefulSet as ``docker run`` arguments (pure; no I/O).

The container sandbox runs what the StatefulSet says, not a second description of it: the
container's command, its environment from the downward API, the pod's and container's
security context (uid and gid, read-only root file system, capabilities dropped, no privilege
escalation), every volume mount (the data volume claim, the ConfigMap, the Secrets, each
``emptyDir``), the grace period of a stop and the readiness probe all come from the objects
``galeractl render`` produces. What Kubernetes would provide itself, the caller provides: where
each volume comes from (:class:`Sources`) and the pod's name, IP and namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from galera.errors import InvalidInput


@dataclass(frozen=True)
class Pod:
    """What Kubernetes knows of one pod: its name, IP and namespace (the downward API)."""

    name: str
    ip: str
    namespace: str


@dataclass(frozen=True)
class Sources:
    """Where the pod's volumes come from: the claim's named Docker volume, and a host
    directory for each ConfigMap or Secret volume (mounted read-only, as Kubernetes does).
    ``emptyDir`` volumes become anonymous volumes: they live as long as the container, keep
    their content across a restart of it (as an emptyDir across a container restart) and
    go with ``docker rm -v`` (a deleted pod)."""

    claims: Mapping[str, str]
    directories: Mapping[str, str] = field(default_factory=dict)


def _field_value(ref: str, pod: Pod) -> str:
    values = {
        "metadata.name": pod.name,
        "status.podIP": pod.ip,
        "metadata.namespace": pod.namespace,
    }
    if ref not in values:
        raise InvalidInput(f"the pod template reads {ref} from the downward API; unsupported here")
    return values[ref]


def container(statefulset: dict[str, Any], name: str = "mariadb") -> dict[str, Any]:
    """The named container of the StatefulSet's pod template."""
    for c in statefulset["spec"]["template"]["spec"]["containers"]:
        if c["name"] == name:
            return dict(c)
    raise InvalidInput(f"the StatefulSet has no container {name!r}")


def health_command(probe: dict[str, Any], ports: Mapping[str, int]) -> list[str]:
    """The probe's HTTP GET as a command run inside the container, with the image's own
    Python (the image carries no curl): exit 0 on a 2xx answer. Like the kubelet it does not
    verify the agent's certificate."""
    get = probe.get("httpGet")
    if not get:
        raise InvalidInput("only httpGet probes are translated")
    port = get["port"]
    number = ports[port] if isinstance(port, str) else int(port)
    scheme = str(get.get("scheme", "HTTP")).lower()
    url = f"{scheme}://127.0.0.1:{number}{get['path']}"
    timeout = int(probe.get("timeoutSeconds", 1))
    code = (
        "import ssl,urllib.request as r;"
        f"r.urlopen({url!r},timeout={timeout},context=ssl._create_unverified_context())"
    )
    return ["/opt/galeractl/bin/python", "-c", code]


def run_args(
    statefulset: dict[str, Any],
    pod: Pod,
    sources: Sources,
    container_name: str = "mariadb",
) -> list[str]:
    """``docker run`` options (without the image and command) that give ``pod`` what the
    StatefulSet's pod template gives it, and the command (after the image)."""
    spec = statefulset["spec"]["template"]["spec"]
    c = container(statefulset, container_name)
    args: list[str] = ["--hostname", pod.name]
    pod_security = spec.get("securityContext") or {}
    security = c.get("securityContext") or {}
    uid, gid = pod_security.get("runAsUser"), pod_security.get("runAsGroup")
    if uid is not None:
        args += ["--user", f"{uid}:{gid if gid is not None else uid}"]
    if security.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    for cap in (security.get("capabilities") or {}).get("drop", []):
        args += ["--cap-drop", cap]
    if security.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is not None:
        args += ["--stop-timeout", str(grace)]
    for env in c.get("env") or []:
        if "value" in env:
            value = str(env["value"])
        else:
            value = _field_value(env["valueFrom"]["fieldRef"]["fieldPath"], pod)
        args += ["--env", f"{env['name']}={value}"]
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    claims = {t["metadata"]["name"] for t in statefulset["spec"].get("volumeClaimTemplates") or []}
    for mount in c.get("volumeMounts") or []:
        name, path = mount["name"], mount["mountPath"]
        if name in claims:
            args += ["--volume", f"{sources.claims[name]}:{path}"]
        elif "emptyDir" in volumes.get(name, {}):
            args += ["--volume", path]
        elif name in sources.directories:
            mode = "ro" if mount.get("readOnly") else "rw"
            args += ["--volume", f"{sources.directories[name]}:{path}:{mode}"]
        else:
            raise InvalidInput(f"no source for the pod's volume {name!r} ({path})")
    ports = {p["name"]: int(p["containerPort"]) for p in c.get("ports") or []}
    readiness = c.get("readinessProbe")
    if readiness:
        startup = c.get("startupProbe") or {}
        start_period = int(startup.get("periodSeconds", 0)) * int(
            startup.get("failureThreshold", 0)
        )
        args += [
            "--health-cmd",
            _shell(health_command(readiness, ports)),
            "--health-interval",
            f"{int(readiness.get('periodSeconds', 10))}s",
            "--health-timeout",
            f"{int(readiness.get('timeoutSeconds', 1))}s",
            "--health-retries",
            str(int(readiness.get("failureThreshold", 3))),
            "--health-start-period",
            f"{start_period}s",
        ]
    return args


def command(statefulset: dict[str, Any], container_name: str = "mariadb") -> list[str]:
    """What the container runs (its ``command`` and ``args``)."""
    c = container(statefulset, container_name)
    return [*(c.get("command") or []), *(c.get("args") or [])]


def _shell(argv: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in argv)
