"""The static platform: VMs described by a cluster file (the sandbox adds its processes:
local.py).

Members are what the file lists; each is reached through its node agent, which starts and
stops its server in place. Records are JSON files beside the cluster file. The lease is
granted by a majority of the members' agents (:mod:`galera.platforms.agent_lease`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from galera.config import clusterfile, endpoints
from galera.config.clusterfile import ClusterSpec
from galera.domain import events
from galera.domain.events import Kind
from galera.errors import GaleraError, InvalidInput, LeaseLost
from galera.platforms import haproxy_admin
from galera.platforms.agent_lease import AgentLease
from galera.platforms.base import Emit
from galera.platforms.records import FileStore

log = logging.getLogger("galera.platforms")


def _writer_check(spec: ClusterSpec) -> Callable[[str], bool]:
    """Whether a member's agent answers ``/health/writer`` with 200, asked once however
    many proxies want to know; an agent that does not answer within 2 s says no."""
    lock = threading.Lock()
    answers: dict[str, bool] = {}

    def healthy(name: str) -> bool:
        with lock:
            if name not in answers:
                try:
                    client = endpoints.agent(
                        spec, spec.member(name), spec.agent_token(), timeout=2.0
                    )
                    answers[name] = client.health("writer")[0]
                except GaleraError as e:
                    log.debug("%s's writer check: %s", name, e)
                    answers[name] = False
            return answers[name]

    return healthy


class Static:
    """A cluster file's members; agents start and stop their servers."""

    kind = "static"
    agents_grant_lease = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity = f"{socket.gethostname()}-{os.getpid()}"
        self._lease = AgentLease(self.spec)

    def spec(self) -> ClusterSpec:
        return clusterfile.load(self.path)

    def progress_store(self, operation: str) -> FileStore:
        return FileStore(self.path.with_name(f"{self.path.stem}.{operation}.json"))

    def acquire_lease(
        self, duration: int = 30, force: bool = False, member: str | None = None
    ) -> tuple[bool, str]:
        return self._lease.acquire(self.identity, duration, force, member)

    def release_lease(self) -> None:
        self._lease.release(self.identity)

    def lease_reaches(self, member: str | None) -> bool:
        return self._lease.reaches(member)

    def emitter(self, emit: Emit) -> Emit:
        return emit

    def check_rollout(self, options: dict[str, str], image: str | None) -> None:
        if image:
            raise InvalidInput(
                "--image needs --kube: on VMs and in the sandbox the installed mariadbd is "
                "used (upgrade the package, then run a rolling restart)"
            )

    def set_image(self, image: str, emit: Emit, check_only: bool = False) -> list[str]:
        self.check_rollout({}, image)
        return []

    step_downtime = 10.0  # a restart in place: stop, start, IST

    def incarnation(self, name: str) -> str | None:
        return None

    def bring_back(
        self, name: str, emit: Emit, timeout: float, previous: str | None = None
    ) -> ClusterSpec:
        spec = self.spec()
        member = spec.member(name)
        client = endpoints.agent(spec, member, spec.agent_token())
        try:
            state = (client.status().get("process") or {}).get("state")
        except GaleraError:
            state = None
        if state != "running":
            client.start("join")
            emit(events.of(Kind.STARTED, member=name, mode="join"))
        return spec

    def outdated(self) -> list[str] | None:
        return None  # configuration lives on each host; rollouts are a person's decision

    def route_writer(self, member: str | None, moved: bool = False) -> None:
        """Proxies follow the agents' ``/health/writer``; those whose runtime API the
        cluster file names (``proxy.admin``) are told at once, side by side, each within a
        second (:mod:`haproxy_admin`). One that cannot be told is logged and left to its
        checks; a lost lease stops here."""
        try:
            spec = self.spec()
        except GaleraError as e:
            log.warning("the proxies were not told: %s", e)
            return
        if not spec.proxy_admin:
            return
        healthy = _writer_check(spec) if moved else None
        with ThreadPoolExecutor(max_workers=len(spec.proxy_admin)) as pool:
            told = [
                pool.submit(haproxy_admin.route, path, member, spec.names, healthy)
                for path in spec.proxy_admin
            ]
        for path, future in zip(spec.proxy_admin, told, strict=True):
            try:
                sent = future.result()
            except LeaseLost:
                raise
            except GaleraError as e:
                log.warning("%s (its health checks will get there)", e)
                continue
            if sent:
                log.info("told the proxy at %s: %s", path, "; ".join(sent))

    def apply(self, objects: list[dict[str, Any]], emit: Emit) -> list[str]:
        raise InvalidInput("--apply needs --kube: it applies Kubernetes objects")
