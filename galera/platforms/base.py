"""The platform port: what the controller needs from where a cluster runs.

The controller decides; a platform only knows its place. Three implement this port:
:class:`galera.platforms.static.Static` (VMs: the cluster file and the node agents),
:class:`galera.platforms.local.SandboxPlatform` (the local sandbox: static plus the agents it
starts itself) and :class:`galera.platforms.kubernetes.Kubernetes` (a StatefulSet's pods,
ConfigMaps, a Lease, Events). Every controller operation receives one as an argument.
"""

from __future__ import annotations

from typing import Any, Protocol

from galera.config.clusterfile import ClusterSpec
from galera.domain import events

Emit = events.Emit


class Store(Protocol):
    """Where one operation's record lives. ``version`` is opaque (None: not yet written)."""

    def read(self) -> tuple[dict[str, Any], str | None]: ...

    def write(self, data: dict[str, Any], version: str | None) -> str | None:
        """Write if the record is still at ``version``; :class:`Conflict` otherwise."""
        ...

    @property
    def where(self) -> str: ...


class Platform(Protocol):
    """Where a cluster runs, as the controller sees it."""

    @property
    def kind(self) -> str:
        """``static`` or ``kubernetes``: for messages and records."""
        ...

    def spec(self) -> ClusterSpec:
        """The members as they are now (on Kubernetes a replaced pod has a new address)."""
        ...

    def progress_store(self, operation: str) -> Store:
        """Where the record of ``operation`` (bootstrap, rolling) is kept."""
        ...

    # Who acts through this platform object, as the lease records it.
    identity: str
    # Whether the members' agents grant the lease (and so can fence a stale holder).
    agents_grant_lease: bool

    def acquire_lease(
        self, duration: int = 30, force: bool = False, member: str | None = None
    ) -> tuple[bool, str]:
        """Take or renew the right to change the cluster: (held, holder). ``force`` takes it
        from a holder that still renews it (a person's explicit word); ``member``: about to
        change that member (where agents grant the lease, its agent's answer is awaited).
        Expiry is never judged by comparing this host's clock with another's."""
        ...

    def release_lease(self) -> None:
        """Give that right up (never fatal)."""
        ...

    def lease_reaches(self, member: str | None) -> bool:
        """Whether the lease this process holds covers a change to ``member`` (None: the
        cluster's objects): where agents grant it, whether that member's agent did."""
        ...

    def emitter(self, emit: Emit) -> Emit:
        """``emit``, plus whatever the platform records of decisions and changes."""
        ...

    def check_rollout(self, options: dict[str, str], image: str | None) -> None:
        """Refuse (:class:`InvalidInput`) a rollout this platform cannot carry out as asked:
        options through the agents where members restart from stored configuration, an image
        where the installed server is used. Changes nothing."""
        ...

    def set_image(self, image: str, emit: Emit, check_only: bool = False) -> list[str]:
        """Run ``image`` from the next restart of each member on; the workloads changed."""
        ...

    # How long a member is typically away in a rolling step here (seconds): what the IST
    # forecast plans for before the rollout has measured a step of its own.
    step_downtime: float

    def incarnation(self, name: str) -> str | None:
        """What identifies this run of the member's server host (a pod uid), or None where
        a member is never replaced (its server restarts in place)."""
        ...

    def bring_back(
        self, name: str, emit: Emit, timeout: float, previous: str | None = None
    ) -> ClusterSpec:
        """After a graceful stop in a rolling step: run the member again with its current
        configuration (a replaced pod, or a start in join mode through its agent). With
        ``previous`` (a resumed step) nothing is replaced twice. The refreshed cluster."""
        ...

    def outdated(self) -> list[str] | None:
        """Members that run an older configuration than the one the platform stores (to be
        rolled); None where the platform stores none (the controller never rolls there)."""
        ...

    def route_writer(self, member: str | None, moved: bool = False) -> None:
        """Point the platform's own routing of writes at ``member`` (None: at nobody): on
        Kubernetes the label the ``<name>-writer`` Service selects, kept on exactly one
        pod; on VMs and in the sandbox, the proxies whose runtime API the cluster file
        names (``moved``: the writes were just moved to ``member``, which passed its gate:
        a proxy may take it in at once rather than after its checks)."""
        ...

    def apply(self, objects: list[dict[str, Any]], emit: Emit) -> list[str]:
        """Create or update the cluster's objects rendered from values."""
        ...
