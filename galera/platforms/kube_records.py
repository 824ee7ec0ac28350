"""What the Kubernetes platform keeps in the API: operation records in ConfigMaps (with
``resourceVersion`` compare-and-swap), the controllers' Lease, and Events for decisions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from galera import fence
from galera.errors import Conflict
from galera.platforms.kube_api import Api, NotFound, iso
from galera.render.manifests import CLUSTER_LABEL, ROLE_LABEL, WRITER_ROLE

# Events worth a Kubernetes Event: every decision and every change galeractl makes.
EVENT_REASONS = {
    "decision": "Decision",
    "plan": "Plan",
    "gate": "Gate",
    "begin": "BootstrapBegin",
    "marked": "BootstrapMark",
    "started": "MemberStarted",
    "stopped": "MemberStopped",
    "pod_deleted": "PodDeleted",
    "image_patched": "ImagePatched",
    "switchover": "Switchover",
    "synced": "MemberSynced",
    "primary": "PrimaryFormed",
    "summary": "Summary",
    "failed": "Failed",
    "standby": "Standby",
    "applied": "Applied",
    "rollout": "Rollout",
}


@dataclass
class ConfigMapStore:
    """An operation record in a ConfigMap; writes carry the ``resourceVersion`` they read."""

    kube: Api
    name: str
    key: str = "progress.json"

    @property
    def where(self) -> str:
        return f"ConfigMap {self.kube.namespace}/{self.name}"

    def read(self) -> tuple[dict[str, Any], str | None]:
        try:
            cm = self.kube._call(
                f"read {self.where}",
                self.kube.core.read_namespaced_config_map,
                self.name,
                self.kube.namespace,
            )
        except NotFound:
            return {}, None
        try:
            data = json.loads((cm.data or {}).get(self.key) or "{}")
        except ValueError:
            data = {}
        return (data if isinstance(data, dict) else {}), cm.metadata.resource_version

    def write(self, data: dict[str, Any], version: str | None) -> str | None:
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name,
                "labels": {CLUSTER_LABEL: self.kube.target.cluster},
            },
            "data": {self.key: json.dumps(data, indent=1)},
        }
        if version is None:
            answer = self.kube._call(
                f"create {self.where}",
                self.kube.core.create_namespaced_config_map,
                self.kube.namespace,
                body,
            )
        else:
            body["metadata"]["resourceVersion"] = version
            answer = self.kube._call(
                f"update {self.where}",
                self.kube.core.replace_namespaced_config_map,
                self.name,
                self.kube.namespace,
                body,
            )
        return str(answer.metadata.resource_version) if answer.metadata else None


def lease_name(kube: Api) -> str:
    return f"{kube.target.cluster}-galeractl"


class Observed:
    """When this process last saw the Lease's record change (client-go's leader election
    does the same): a holder that stops renewing is taken over one term after that, by this
    process's own monotonic clock. No other host's clock is compared with ours."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.record: tuple[Any, ...] | None = None
        self.since = 0.0

    def see(self, spec: dict[str, Any]) -> float:
        """Note the record; how long it has stood unchanged."""
        record = tuple(
            spec.get(k) for k in ("holderIdentity", "renewTime", "acquireTime", "leaseTransitions")
        )
        now = self.clock()
        if record != self.record:
            self.record, self.since = record, now
        return now - self.since


def acquire_lease(
    kube: Api, identity: str, duration: int, observed: Observed, force: bool = False
) -> tuple[bool, str]:
    """Take the Lease if it is free, expired (by observation) or ours; renew it if ours;
    ``force`` takes it from a live holder. (held, holder)"""
    name = lease_name(kube)
    now = iso()
    try:
        lease = kube._call(
            f"read Lease {name}", kube.coordination.read_namespaced_lease, name, kube.namespace
        )
    except NotFound:
        body: dict[str, Any] = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "labels": {CLUSTER_LABEL: kube.target.cluster}},
            "spec": {
                "holderIdentity": identity,
                "leaseDurationSeconds": duration,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
        try:
            kube._call(
                f"create Lease {name}",
                kube.coordination.create_namespaced_lease,
                kube.namespace,
                body,
            )
        except Conflict:
            return False, "another controller (it created the Lease first)"
        observed.see(body["spec"])
        return True, identity
    data = kube._dict(lease)
    spec = data.get("spec") or {}
    holder = spec.get("holderIdentity")
    unchanged = observed.see(spec)
    length = float(spec.get("leaseDurationSeconds") or duration)
    if holder and holder != identity and unchanged < length and not force:
        return False, str(holder)
    if holder != identity:
        spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        spec["acquireTime"] = now
    spec.update(holderIdentity=identity, renewTime=now, leaseDurationSeconds=duration)
    data["spec"] = spec
    try:
        kube._call(
            f"update Lease {name}",
            kube.coordination.replace_namespaced_lease,
            name,
            kube.namespace,
            data,
        )
    except Conflict:
        return False, "another controller (it renewed the Lease first)"
    observed.see(spec)
    return True, identity


def release_lease(kube: Api, identity: str) -> bool:
    """Give the Lease up (a controller that stops): the next one need not wait for it to
    expire. Only our own Lease is touched; a conflict means somebody else has it."""
    name = lease_name(kube)
    try:
        lease = kube._call(
            f"read Lease {name}", kube.coordination.read_namespaced_lease, name, kube.namespace
        )
    except NotFound:
        return False
    data = kube._dict(lease)
    spec = data.get("spec") or {}
    if spec.get("holderIdentity") != identity:
        return False
    spec.update(holderIdentity=None, leaseDurationSeconds=1, renewTime=iso())
    data["spec"] = spec
    try:
        kube._call(
            f"release Lease {name}",
            kube.coordination.replace_namespaced_lease,
            name,
            kube.namespace,
            data,
        )
    except Conflict:
        return False
    return True


def event_body(
    event: dict[str, Any], sts: dict[str, Any], namespace: str, identity: str
) -> dict[str, Any] | None:
    """The Event for a decision or a change on the StatefulSet, or None for other events."""
    reason = EVENT_REASONS.get(str(event.get("event")))
    if reason is None:
        return None
    warning = event.get("event") == "failed" or event.get("ok") is False
    message = _message(event)
    now = iso()
    return {
        "metadata": {"generateName": f"{sts['metadata']['name']}.galeractl."},
        "involvedObject": {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "name": sts["metadata"]["name"],
            "namespace": namespace,
            "uid": sts["metadata"].get("uid"),
        },
        "reason": reason,
        "message": message[:1000],
        "type": "Warning" if warning else "Normal",
        "source": {"component": "galeractl"},
        "reportingComponent": "galeractl",
        "reportingInstance": identity,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


def _message(event: dict[str, Any]) -> str:
    if event.get("reason"):
        who = f"{event['member']}: " if event.get("member") else ""
        return f"{who}{event['reason']}"
    rest = {k: v for k, v in event.items() if k != "event"}
    return f"{event.get('event')}: {json.dumps(rest, sort_keys=True, default=str)}"


def route_writer(kube: Api, pods: dict[str, dict[str, Any]], member: str | None) -> None:
    """Keep the writer label on exactly ``member``'s pod: taken off every other pod first,
    then put on it (two pods never carry it at once)."""
    for name, pod in sorted(pods.items()):
        labels = pod.get("metadata", {}).get("labels") or {}
        if labels.get(ROLE_LABEL) == WRITER_ROLE and name != member:
            _label(kube, name, None)
    if member is not None and member in pods:
        labels = pods[member].get("metadata", {}).get("labels") or {}
        if labels.get(ROLE_LABEL) != WRITER_ROLE:
            _label(kube, member, WRITER_ROLE)


def _label(kube: Api, pod: str, role: str | None) -> None:
    fence.before_change(pod)
    kube._call(
        f"label pod {pod}",
        kube.core.patch_namespaced_pod,
        pod,
        kube.namespace,
        {"metadata": {"labels": {ROLE_LABEL: role}}},
    )
