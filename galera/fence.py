"""Who this process acts for, and the check made before each change it makes.

One actor at a time changes a cluster: the controller that leads, or a person's command.
It takes the cluster's lease (a Kubernetes Lease, or on VMs and in the sandbox a lease
granted by a majority of the members' agents) and acts under it through :func:`acting`.
From then on every request that changes a member (start, stop, recover, mark, drain,
discard, a pod deleted) is preceded by :func:`before_change`, which confirms that the lease
is still held (raising :class:`~galera.errors.LeaseLost` otherwise: the step is never
taken), and names the holder so that an agent can refuse a holder that is no longer its
own. A process that takes no lease (``status``, the exporter, a dry run) changes nothing
through this path and names nobody.

The registry is process-wide on purpose: an actor's identity belongs to the process, and
the threads of one operation all act for it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Fence(Protocol):
    """A lease this process holds."""

    @property
    def holder(self) -> str:
        """This actor's identity, as the lease records it."""
        ...

    @property
    def named_to_agents(self) -> bool:
        """Whether the agents grant this lease (VMs, the sandbox), so that a change names
        its holder to them; where a coordination service keeps it (a Kubernetes Lease),
        the agents cannot tell who holds it and are not asked to."""
        ...

    def confirm(self, member: str | None = None) -> None:
        """Return only while the lease is held (for ``member``'s agent, where agents
        grant it); raise :class:`~galera.errors.LeaseLost` otherwise."""
        ...


_lock = threading.Lock()
_current: Fence | None = None


@contextmanager
def acting(fence: Fence) -> Iterator[Fence]:
    """Act under ``fence`` until the block ends (never nested: one actor per process)."""
    global _current
    with _lock:
        previous, _current = _current, fence
    try:
        yield fence
    finally:
        with _lock:
            _current = previous


def current() -> Fence | None:
    return _current


def before_change(member: str | None = None) -> str | None:
    """Confirm the lease before changing ``member`` (None: the cluster's objects); the
    holder to name in a request to an agent, or None when this process acts under no lease
    or under one the agents do not grant."""
    fence = _current
    if fence is None:
        return None
    fence.confirm(member)
    return fence.holder if fence.named_to_agents else None
