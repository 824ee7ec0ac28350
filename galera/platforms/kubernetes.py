"""Kubernetes: a Galera cluster is the pods of its StatefulSets (one per member group).

The adapter is thin: it discovers the members (pod IPs, ports, weights, the arbitrator), reads
the credentials and the CA from the cluster's Secrets (:mod:`kube_secrets`), restarts a member
by deleting its pod (the StatefulSet is ``OnDelete``, so nothing else replaces pods), patches
the pod template for an upgrade, keeps operation records in ConfigMaps with
``resourceVersion`` compare-and-swap, holds a Lease so that one controller acts at a time, and
turns decisions into Events. Every decision stays in the controller and the domain.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

from galera import fence, poll
from galera.config.clusterfile import ClusterSpec, MemberSpec
from galera.domain import events
from galera.domain.events import Kind
from galera.errors import (
    Conflict,
    GaleraError,
    InvalidInput,
)
from galera.platforms import kube_forward, kube_records, kube_secrets
from galera.platforms.kube_api import Api, NotFound, Target
from galera.render.manifests import (
    ARBITRATOR_COMPONENT,
    CLUSTER_LABEL,
    COMPONENT_LABEL,
    CONFIG_HASH,
    DATA_COMPONENT,
    WEIGHT_ANNOTATION,
    member_address,
)

log = logging.getLogger("galera.kubernetes")
Emit = events.Emit
CONTAINER = "mariadb"
APPLIED_FROM = "galeractl.io/applied-from"  # set on what the controller applies from values


class Kubernetes(Api):
    """The Kubernetes platform (the port in :mod:`galera.platforms.base`): members are the
    pods of the cluster's StatefulSets; records in ConfigMaps, a Lease, Events."""

    kind = "kubernetes"
    agents_grant_lease = False  # the Lease lives in the API server; the agents cannot see it

    def __init__(self, target: Target, api_client: Any = None) -> None:
        super().__init__(target, api_client)
        self.identity = f"{socket.gethostname()}-{os.getpid()}"
        self.lease_observed = kube_records.Observed()
        self._lease_held = False
        self._sets: list[dict[str, Any]] | None = None
        self.forwarder = (
            kube_forward.Forwarder(self.namespace, target.kubeconfig, target.context)
            if target.port_forward
            else None
        )

    # -- discovery ---------------------------------------------------------------------

    def statefulsets(self, refresh: bool = False) -> list[dict[str, Any]]:
        """The cluster's StatefulSets, by name: labelled with the cluster, or named after it."""
        if self._sets is not None and not refresh:
            return self._sets
        selector = f"{CLUSTER_LABEL}={self.target.cluster}"
        found = self._call(
            f"list StatefulSets {selector} in {self.namespace}",
            self.apps.list_namespaced_stateful_set,
            self.namespace,
            label_selector=selector,
        )
        sets = [self._dict(s) for s in found.items]
        if not sets:
            try:
                one = self._call(
                    f"read StatefulSet {self.target.cluster}",
                    self.apps.read_namespaced_stateful_set,
                    self.target.cluster,
                    self.namespace,
                )
                sets = [self._dict(one)]
            except NotFound:
                raise InvalidInput(
                    f"no StatefulSet of cluster {self.target.cluster!r} in namespace "
                    f"{self.namespace!r} (by label {selector} or by name)"
                ) from None
        self._sets = sorted(sets, key=lambda s: s["metadata"]["name"])
        return self._sets

    def pods(self) -> dict[str, dict[str, Any]]:
        selector = f"{CLUSTER_LABEL}={self.target.cluster},{COMPONENT_LABEL}={DATA_COMPONENT}"
        found = self._call(
            f"list pods {selector}",
            self.core.list_namespaced_pod,
            self.namespace,
            label_selector=selector,
        )
        return {p.metadata.name: self._dict(p) for p in found.items}

    def pod(self, name: str) -> dict[str, Any] | None:
        try:
            found = self._call(
                f"read pod {name}", self.core.read_namespaced_pod, name, self.namespace
            )
        except NotFound:
            return None
        return self._dict(found)

    def spec(self) -> ClusterSpec:
        """The cluster as galeractl's commands see it: one member per StatefulSet ordinal.
        With TLS, a member is dialled at its pod's IP and verified by its name under the
        headless Service (what the agent checked its certificate names at start)."""
        sets = self.statefulsets(refresh=True)
        secrets = kube_secrets.read(self, sets[0])
        pods = self.pods()
        members = [
            self._member(sts, ordinal, pods, secrets.ca is not None)
            for sts in sets
            for ordinal in range(int(sts["spec"].get("replicas", 1)))
        ]
        if not members:
            names = ", ".join(s["metadata"]["name"] for s in sets)
            raise InvalidInput(f"StatefulSet {names} has 0 replicas: no member to manage")
        members += self._arbitrators()
        return ClusterSpec(
            path=Path(f"{self.namespace}.{self.target.cluster}.kube"),
            name=self.target.cluster,
            members=tuple(members),
            secret_credentials=secrets.credentials,
            secret_admin=secrets.admin,
            secret_token=secrets.token,
            tls_ca=secrets.ca,
            tls_off=secrets.ca is None,
        )

    def _member(
        self, sts: dict[str, Any], ordinal: int, pods: dict[str, dict[str, Any]], tls: bool
    ) -> MemberSpec:
        template = sts["spec"]["template"]
        weight = int((template["metadata"].get("annotations") or {}).get(WEIGHT_ANNOTATION, 1))
        service = sts["spec"].get("serviceName") or sts["metadata"]["name"]
        name = f"{sts['metadata']['name']}-{ordinal}"
        pod = pods.get(name)
        host = ((pod or {}).get("status") or {}).get("podIP") or f"{name}.{service}"
        ports = _ports(pod["spec"]) if pod else _ports(template["spec"])
        mysql, agent = ports.get("mysql", 3306), ports.get("agent", 8008)
        if self.forwarder is not None and pod is not None and _running(pod):
            local = self.forwarder.local(name, pod["metadata"]["uid"], [mysql, agent])
            host, mysql, agent = "127.0.0.1", local[mysql], local[agent]
        return MemberSpec(
            name=name,
            host=host,
            port=mysql,
            agent=f"{'https' if tls else 'http'}://{host}:{agent}",
            weight=weight,
            tls_name=member_address(name, service, self.namespace) if tls else "",
        )

    def _arbitrators(self) -> list[MemberSpec]:
        selector = f"{CLUSTER_LABEL}={self.target.cluster},{COMPONENT_LABEL}={ARBITRATOR_COMPONENT}"
        found = self._call(
            f"list Deployments {selector}",
            self.apps.list_namespaced_deployment,
            self.namespace,
            label_selector=selector,
        )
        return [
            MemberSpec(name=d.metadata.name, arbitrator=True)
            for d in found.items
            if (d.spec.replicas or 0) > 0
        ]

    # -- restarting and upgrading ----------------------------------------------------------

    def restart_member(
        self, name: str, emit: Emit, timeout: float, previous_uid: str | None = None
    ) -> ClusterSpec:
        """Delete the member's pod and wait for its replacement to run; the refreshed cluster.

        With ``previous_uid`` (a resumed step) the pod is deleted only if it is still that pod:
        a member is never restarted twice.
        """
        pod = self.pod(name)
        uid = (pod or {}).get("metadata", {}).get("uid")
        if pod is not None and (previous_uid is None or uid == previous_uid):
            fence.before_change(name)  # only while this process holds the Lease
            try:  # only this pod: never its replacement, whoever replaced it meanwhile
                self._call(
                    f"delete pod {name}",
                    self.core.delete_namespaced_pod,
                    name,
                    self.namespace,
                    body={"preconditions": {"uid": uid}},
                )
                emit(events.of(Kind.POD_DELETED, member=name, uid=uid))
            except (Conflict, NotFound):
                emit(
                    events.of(
                        Kind.POD_REPLACED,
                        member=name,
                        uid=uid,
                        reason="the pod was already replaced; not deleting its successor",
                    )
                )
        gone = previous_uid or uid

        def replaced() -> bool | None:
            pod = self.pod(name)
            if pod is None or pod["metadata"].get("uid") == gone:
                return None
            status = pod.get("status") or {}
            return True if status.get("phase") == "Running" and status.get("podIP") else None

        poll.until(
            replaced,
            timeout=timeout,
            interval=0.5,
            what=f"pod {name} replaced and running",
            member=name,
        )
        return self.spec()

    def pod_uid(self, name: str) -> str | None:
        pod = self.pod(name)
        return None if pod is None else pod["metadata"].get("uid")

    # -- the platform port (galera.platforms.base.Platform) --------------------------------

    def check_rollout(self, options: dict[str, str], image: str | None) -> None:
        if options:
            raise InvalidInput(
                "--set with --kube: a replaced pod starts from the ConfigMap, so options set "
                "through the agents would not last; change mariadb.options in the values "
                "(galeractl render / the chart) and the new pod template is rolled out"
            )

    step_downtime = 120.0  # a pod replaced: scheduling, an image pull, the start, IST

    def incarnation(self, name: str) -> str | None:
        return self.pod_uid(name)

    def bring_back(
        self, name: str, emit: Emit, timeout: float, previous: str | None = None
    ) -> ClusterSpec:
        # The StatefulSet (OnDelete) replaces the pod with the current template; its agent
        # starts mariadbd in join mode (IST from the grastate the graceful stop left).
        spec = self.restart_member(name, emit, timeout, previous_uid=previous)
        emit(events.of(Kind.STARTED, member=name, reason="its pod was replaced", mode="join"))
        return spec

    def set_image(self, image: str, emit: Emit, check_only: bool = False) -> list[str]:
        """Point every StatefulSet's database container at ``image`` (OnDelete: nothing
        restarts until galeractl deletes the pods). Returns the StatefulSets changed.
        ``check_only`` checks that the change is allowed and changes nothing."""
        changed = []
        for sts in self.statefulsets(refresh=True):
            containers = sts["spec"]["template"]["spec"]["containers"]
            index = next((i for i, c in enumerate(containers) if c["name"] == CONTAINER), None)
            if index is None:
                raise InvalidInput(
                    f"StatefulSet {sts['metadata']['name']} has no container {CONTAINER!r}"
                )
            if (sts["metadata"].get("annotations") or {}).get(APPLIED_FROM):
                raise InvalidInput(
                    f"StatefulSet {sts['metadata']['name']} is applied by the galeractl "
                    "controller from its values: change galera.image there (helm upgrade), "
                    "or the controller would put the old image back"
                )
            strategy = (sts["spec"].get("updateStrategy") or {}).get("type")
            if strategy != "OnDelete":
                raise InvalidInput(
                    f"StatefulSet {sts['metadata']['name']} has updateStrategy {strategy}; "
                    "galeractl rolls out only OnDelete StatefulSets (it decides the order)"
                )
            if check_only or containers[index].get("image") == image:
                continue
            patch = [
                {
                    "op": "test",
                    "path": f"/spec/template/spec/containers/{index}/name",
                    "value": CONTAINER,
                },
                {
                    "op": "replace",
                    "path": f"/spec/template/spec/containers/{index}/image",
                    "value": image,
                },
            ]
            name = sts["metadata"]["name"]
            fence.before_change()
            self._call(
                f"patch StatefulSet {name}",
                self.apps.patch_namespaced_stateful_set,
                name,
                self.namespace,
                patch,
            )
            emit(events.of(Kind.IMAGE_PATCHED, statefulset=name, image=image))
            changed.append(name)
        self._sets = None
        return changed

    def outdated(self) -> list[str]:
        """Members whose pod runs an older pod template than its StatefulSet: what a rollout
        must replace. The StatefulSet's ``updateRevision`` against each pod's
        ``controller-revision-hash`` (any template change), else image and configuration
        hash. Missing pods are not listed."""
        pods = self.pods()
        stale = []
        for sts in self.statefulsets(refresh=True):
            template = sts["spec"]["template"]
            want_image = _image(template["spec"])
            want_hash = (template["metadata"].get("annotations") or {}).get(CONFIG_HASH)
            revision = (sts.get("status") or {}).get("updateRevision")
            for ordinal in range(int(sts["spec"].get("replicas", 1))):
                name = f"{sts['metadata']['name']}-{ordinal}"
                pod = pods.get(name)
                if pod is None:
                    continue
                have = (pod["metadata"].get("labels") or {}).get("controller-revision-hash")
                if revision and have:  # the API server's own record: any template change
                    if have != revision:
                        stale.append(name)
                    continue
                have_hash = (pod["metadata"].get("annotations") or {}).get(CONFIG_HASH)
                if _image(pod["spec"]) != want_image or have_hash != want_hash:
                    stale.append(name)
        return stale

    def route_writer(self, member: str | None, moved: bool = False) -> None:
        """The writer label (which the ``<name>-writer`` Service selects) on exactly
        ``member``'s pod (see :func:`kube_records.route_writer`)."""
        kube_records.route_writer(self, self.pods(), member)

    def apply(self, objects: list[dict[str, Any]], emit: Emit) -> list[str]:
        """Server-side apply of rendered objects (field manager ``galeractl``); the names of
        those applied. A StatefulSet is ``OnDelete``: applying it restarts nothing."""
        from kubernetes import client

        custom = client.CustomObjectsApi(self.api)
        calls = self.apply_calls()
        applied = []
        for obj in objects:
            meta = obj["metadata"]
            namespace = meta.get("namespace") or self.namespace
            if namespace != self.namespace:
                raise InvalidInput(
                    f"values: namespace {namespace!r} is not the controller's {self.namespace!r}"
                )
            annotations = {**(meta.get("annotations") or {}), APPLIED_FROM: "values"}
            obj = {**obj, "metadata": {**meta, "namespace": namespace, "annotations": annotations}}
            kind, name = obj["kind"], meta["name"]
            fence.before_change()
            apply = {
                "field_manager": "galeractl",
                "force": True,
                "_content_type": "application/apply-patch+yaml",
            }
            what = f"apply {kind} {name}"
            # Any other kind is a custom resource (the Prometheus operator's): plural "<kind>s".
            group, _, version = obj["apiVersion"].rpartition("/")
            crd = (group, version, namespace, kind.lower() + "s")
            try:
                if kind in calls:
                    self._call(what, calls[kind][0], name, namespace, obj, **apply)
                else:
                    patch = custom.patch_namespaced_custom_object
                    self._call(what, patch, *crd, name, obj, **apply)
            except NotFound:
                # A real API server creates on apply; an older one or a test double may not.
                if kind in calls:
                    self._call(f"create {kind} {name}", calls[kind][1], namespace, obj)
                else:
                    create = custom.create_namespaced_custom_object
                    self._call(f"create {kind} {name}", create, *crd, obj)
            applied.append(f"{kind}/{name}")
        self._sets = None
        emit(
            events.of(
                Kind.APPLIED,
                objects=applied,
                reason=f"applied {len(applied)} objects from the values",
            )
        )
        return applied

    # -- records, lease, events ------------------------------------------------------------

    def progress_store(self, operation: str) -> kube_records.ConfigMapStore:
        return kube_records.ConfigMapStore(self, f"{self.target.cluster}-galeractl-{operation}")

    def acquire_lease(
        self, duration: int = 30, force: bool = False, member: str | None = None
    ) -> tuple[bool, str]:
        """Take or renew the cluster's Lease; (held, holder). Only the holder may act."""
        held, holder = kube_records.acquire_lease(
            self, self.identity, duration, self.lease_observed, force
        )
        self._lease_held = held
        return held, holder

    def lease_reaches(self, member: str | None) -> bool:
        return self._lease_held  # one Lease covers every change, checked live before it

    def release_lease(self) -> None:
        """Give the Lease up on the way out (never fatal: it also expires by itself)."""
        try:
            self._lease_held = False
            if kube_records.release_lease(self, self.identity):
                log.info("released the Lease")
        except GaleraError as e:
            log.warning("could not release the Lease: %s", e)

    def record(self, event: events.Event) -> None:
        """A Kubernetes Event on the StatefulSet for a decision or a change; never fatal."""
        if event.kind.value not in kube_records.EVENT_REASONS:
            return
        try:
            sts = (self._sets or self.statefulsets())[0]
            body = kube_records.event_body(event.as_dict(), sts, self.namespace, self.identity)
            self._call("create Event", self.core.create_namespaced_event, self.namespace, body)
        except GaleraError as e:
            log.warning("could not record an Event: %s", e)

    def emitter(self, emit: Emit) -> Emit:
        """``emit`` that also records decisions and changes as Kubernetes Events (once, however
        many layers wrap it)."""
        if getattr(emit, "records_events", False):
            return emit

        def both(event: events.Event) -> None:
            emit(event)
            self.record(event)

        both.records_events = True  # type: ignore[attr-defined]
        return both


def _ports(pod_spec: dict[str, Any]) -> dict[str, int]:
    for container in pod_spec.get("containers") or []:
        if container.get("name") == CONTAINER:
            return {
                str(p["name"]): int(p["containerPort"])
                for p in container.get("ports") or []
                if p.get("name")
            }
    return {}


def _running(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"


def _image(pod_spec: dict[str, Any]) -> str | None:
    for container in pod_spec.get("containers") or []:
        if container.get("name") == CONTAINER:
            return str(container.get("image"))
    return None
