"""The sandbox platform: the static platform plus the processes the sandbox owns.

On VMs systemd, and on Kubernetes the kubelet, keeps each member's agent running; in the
local sandbox nothing does but galeractl itself. So bringing a member back here starts its
agent (which starts its server in join mode) when the agent is not running, and otherwise
asks the agent, as on VMs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from galera.config.clusterfile import ClusterSpec
from galera.domain import events
from galera.domain.events import Kind
from galera.platforms.base import Emit
from galera.platforms.static import Static

STATE_FILE = "sandbox.json"


class Processes(Protocol):
    """What the platform needs of the sandbox (:class:`galera.platforms.sandbox.Sandbox`)."""

    def agent_alive(self, name: str) -> bool: ...

    def launch_agent(self, name: str, mode: str = "join") -> int: ...


def is_sandbox(cluster_file: Path) -> bool:
    """Whether ``cluster_file`` is a sandbox's (``galeractl sandbox up`` wrote it)."""
    return cluster_file.name == "cluster.yaml" and (cluster_file.parent / STATE_FILE).is_file()


def _load(root: Path) -> Processes:
    from galera.platforms import containers  # only when a member is brought back

    loaded: Processes = containers.load(root)  # of processes, or of containers
    return loaded


def platform(cluster_file: Path) -> SandboxPlatform:
    """The platform of the sandbox whose cluster file this is: of processes, or of
    containers (:class:`galera.platforms.containers_platform.ContainerPlatform`)."""
    from galera.platforms import containers, containers_platform

    if containers.is_containers(cluster_file.parent):
        return containers_platform.ContainerPlatform(cluster_file)
    return SandboxPlatform(cluster_file)


class SandboxPlatform(Static):
    """A sandbox's members: agents it starts itself, servers the agents start."""

    kind = "sandbox"

    def __init__(self, cluster_file: Path, load: Callable[[Path], Processes] = _load) -> None:
        super().__init__(cluster_file)
        self._load = load

    def bring_back(
        self, name: str, emit: Emit, timeout: float, previous: str | None = None
    ) -> ClusterSpec:
        sandbox = self._load(self.path.parent)
        if sandbox.agent_alive(name):
            return super().bring_back(name, emit, timeout, previous)
        sandbox.launch_agent(name, "join")
        emit(events.of(Kind.STARTED, name, "its agent was not running: started it", mode="join"))
        return self.spec()
