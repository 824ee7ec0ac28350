"""An HTTP-level Kubernetes API double for the platform tests: kmock's emulator, served on
loopback from a background thread, plus what kmock 0.8 lacks and galeractl relies on:
replace (PUT) with ``resourceVersion`` compare-and-swap, label selectors on lists, uids and
``generateName``. Every request is recorded, so tests assert on the requests themselves.

A kubelet stand-in (:class:`Kubelet`) plays the StatefulSet controller and the kubelet for
a sandbox of real mariadbd processes: when galeractl deletes a pod, the member's agent
starts mariadbd again in join mode (as a new container would) and a new pod object appears
with a new uid and the StatefulSet's current image.
"""

from __future__ import annotations

import asyncio
import base64
import collections.abc
import contextlib
import copy
import datetime
import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import kmock
from kmock import KubernetesError

from galera.agent_client import AgentClient
from galera.errors import GaleraError

PODS = "v1/pods"
STATEFULSETS = "apps/v1/statefulsets"
CONFIGMAPS = "v1/configmaps"
SECRETS = "v1/secrets"
LEASES = "coordination.k8s.io/v1/leases"
EVENTS = "v1/events"
DEPLOYMENTS = "apps/v1/deployments"
NAMESPACE = "db"


def matches(selector: str, labels: dict[str, str]) -> bool:
    """Equality-based label selectors (what galeractl sends): ``a=b,c=d``."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip().lstrip("="):
            return False
    return True


def _conflict(name: str) -> KubernetesError:
    return KubernetesError(
        status=409,
        reason="Conflict",
        message=f'Operation cannot be fulfilled on "{name}": the object has been modified',
    )


@attrs.define(kw_only=True)
class Emulator(kmock.KubernetesEmulator):  # type: ignore[misc]
    _versions: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1), init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        named = lambda req: req.resource is not None and req.name is not None  # noqa: E731
        self.fallback[kmock.method.PUT][named] << self._serve_replace

    def seed(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Put an object in place (from the test thread), as the API server would store it."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("namespace", NAMESPACE)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta["resourceVersion"] = str(next(self._versions))
        self.objects[resource, meta["namespace"], meta["name"]] = obj
        return obj

    def remove(self, resource: str, name: str) -> None:
        """The object is gone (as after a delete), keeping its history."""
        self.objects[resource, NAMESPACE, name].history.append(None)

    def current(self, resource: str, name: str) -> dict[str, Any] | None:
        try:
            obj = self.objects[resource, NAMESPACE, name]
        except KeyError:
            return None
        return None if obj.deleted else copy.deepcopy(obj.history.last.raw)

    async def _handle(self, request: Any) -> Any:
        original = request.data
        data = copy.deepcopy(original)
        object.__setattr__(request, "data", data)
        try:
            self._stamp(request, data)
            return await super()._handle(request)
        finally:
            object.__setattr__(request, "data", original)

    def _stamp(self, request: Any, data: Any) -> None:
        if request.action == kmock.action.CREATE and isinstance(data, dict):
            meta = data.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            if request.namespace:
                meta.setdefault("namespace", request.namespace)
            meta.setdefault("uid", str(uuid.uuid4()))
            meta["resourceVersion"] = str(next(self._versions))
        elif request.action == kmock.action.UPDATE and request.name and request.resource:
            key = (request.resource, request.namespace, request.name)
            if key in self.objects and not self.objects[key].deleted:
                have = self.objects[key].get("metadata", {}).get("resourceVersion")
                version = str(next(self._versions))
                if isinstance(data, dict):
                    want = (data.get("metadata") or {}).get("resourceVersion")
                    if want and want != have:
                        raise _conflict(request.name)
                    data.setdefault("metadata", {})["resourceVersion"] = version
                elif isinstance(data, list):
                    data.append(
                        {"op": "add", "path": "/metadata/resourceVersion", "value": version}
                    )

    async def _serve_list(self, request: Any) -> Any:
        result = await super()._serve_list(request)
        selector = request.params.get("labelSelector")
        if selector:
            result["items"] = [
                o
                for o in result["items"]
                if matches(selector, (o.get("metadata") or {}).get("labels") or {})
            ]
        return result

    async def _serve_replace(self, request: Any) -> Any:
        key = (request.resource, request.namespace, request.name)
        if key not in self.objects or self.objects[key].deleted:
            raise kmock.KubernetesObjectNotFoundError()
        new = (
            copy.deepcopy(request.data) if isinstance(request.data, collections.abc.Mapping) else {}
        )
        meta = new.setdefault("metadata", {})
        have = self.objects[key].get("metadata", {}).get("resourceVersion")
        if meta.get("resourceVersion") and meta["resourceVersion"] != have:
            raise _conflict(request.name)
        meta["resourceVersion"] = str(next(self._versions))
        self.objects[key].history.append(new)
        return new


@contextlib.contextmanager
def serving() -> Iterator[tuple[Emulator, str]]:
    """The emulator on a free loopback port, run by its own event loop in a thread."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        box["stop"] = asyncio.Event()
        async with Emulator() as emu, kmock.Server(emu, host="127.0.0.1") as server:
            box["emu"], box["url"] = emu, str(server.url).rstrip("/")
            ready.set()
            await box["stop"].wait()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as e:
            box["error"] = e
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="kube-api", daemon=True)
    thread.start()
    ready.wait(10)
    if "emu" not in box:
        raise RuntimeError("the Kubernetes API double did not start") from box.get("error")
    for resource in (PODS, STATEFULSETS, CONFIGMAPS, SECRETS, LEASES, EVENTS, DEPLOYMENTS):
        box["emu"].resources[resource] = {}
    try:
        yield box["emu"], box["url"]
    finally:
        loop.call_soon_threadsafe(box["stop"].set)
        thread.join(10)
        loop.close()


def kube_args(url: str, *command: str) -> list[str]:
    """``galeractl COMMAND --kube`` against the double, in its namespace, with JSON events."""
    return [*command, "--kube", "--kube-api", url, "-n", NAMESPACE, "-o", "json"]


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def requests(emu: Emulator, method: str, resource: str) -> list[Any]:
    """The recorded requests with this HTTP method on this resource, in arrival order."""
    return [r for r in emu if r.method == method.upper() and r.resource == resource]


def secret(name: str, files: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in files.items()},
    }


def pod_for(
    sts: dict[str, Any], ordinal: int, ip: str, ports: dict[str, int] | None = None
) -> dict[str, Any]:
    """The pod the StatefulSet controller would create for ``ordinal``, Running at ``ip``."""
    template = copy.deepcopy(sts["spec"]["template"])
    name = f"{sts['metadata']['name']}-{ordinal}"
    container = template["spec"]["containers"][0]
    for port in container.get("ports", []):
        if ports and port["name"] in ports:
            port["containerPort"] = ports[port["name"]]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": template["metadata"]["labels"],
            "annotations": template["metadata"].get("annotations", {}),
            "uid": str(uuid.uuid4()),
        },
        "spec": template["spec"],
        "status": {"phase": "Running", "podIP": ip, "startTime": now()},
    }


class Kubelet:
    """Replaces deleted pods of a sandbox-backed StatefulSet, like the StatefulSet
    controller and the kubelet: the new container's agent starts mariadbd in join mode."""

    def __init__(
        self,
        emu: Emulator,
        sts_name: str,
        agents: dict[str, AgentClient],
        ports: dict[str, dict[str, int]],
    ) -> None:
        self.emu = emu
        self.sts_name = sts_name
        self.agents = agents
        self.ports = ports
        self.replaced: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubelet", daemon=True)

    def __enter__(self) -> Kubelet:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            sts = self.emu.current(STATEFULSETS, self.sts_name)
            if sts is None:
                continue
            for ordinal in range(int(sts["spec"]["replicas"])):
                name = f"{self.sts_name}-{ordinal}"
                if self.emu.current(PODS, name) is not None:
                    continue
                self._replace(sts, ordinal, name)

    def _replace(self, sts: dict[str, Any], ordinal: int, name: str) -> None:
        agent = self.agents[name]
        with contextlib.suppress(GaleraError):
            agent.stop()  # the old container ends (a graceful stop, as SIGTERM would)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                agent.start("join")  # the new container: `start: join`
                break
            except GaleraError:
                time.sleep(0.5)
        self.emu.seed(PODS, pod_for(sts, ordinal, "127.0.0.1", self.ports[name]))
        self.replaced.append(name)
