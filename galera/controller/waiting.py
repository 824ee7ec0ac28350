"""The one waiter: poll snapshots until members reach a condition, or time out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from galera.clusterfile import ClusterSpec
from galera.controller import observe
from galera.domain import health
from galera.domain.snapshot import Observation, Snapshot
from galera.errors import OperationFailed


def synced(observation: Observation) -> bool:
    """The member is healthy by clustercheck rules: Synced, Primary and ready."""
    return observation.status is not None and health.check_status(observation.status)[0]


def non_primary(observation: Observation) -> bool:
    """The member answers and is outside any Primary component."""
    return observation.status is not None and not observation.status.primary


def primary_of_size(size: int) -> Callable[[Observation], bool]:
    """The member is in a Primary component of exactly ``size`` members."""

    def condition(observation: Observation) -> bool:
        status = observation.status
        return status is not None and status.primary and status.cluster_size == size

    return condition


def in_component(name: str) -> Callable[[Observation], bool]:
    """The member reports ``name`` (e.g. garbd) among its component's members."""

    def condition(observation: Observation) -> bool:
        return observation.status is not None and name in observation.status.members

    return condition


def wait_for(
    spec: ClusterSpec,
    names: Iterable[str],
    condition: Callable[[Observation], bool] = synced,
    timeout: float = 120.0,
    interval: float = 0.2,
    what: str = "Synced",
    on_poll: Callable[[Snapshot], None] | None = None,
) -> Snapshot:
    """Poll until every member in ``names`` satisfies ``condition``; return that snapshot.

    Raises :class:`OperationFailed` naming the members still not there, with their state,
    when ``timeout`` passes.
    """
    wanted = list(names)
    for name in wanted:
        spec.member(name)
    credentials = spec.credentials()
    deadline = time.monotonic() + timeout
    while True:
        snap = observe.snapshot(spec, credentials)
        if on_poll is not None:
            on_poll(snap)
        missing = [snap.get(n) for n in wanted if not condition(snap.get(n))]
        if not missing:
            return snap
        if time.monotonic() > deadline:
            detail = "; ".join(f"{o.name}: {_describe(o)}" for o in missing)
            raise OperationFailed(f"timed out after {timeout:.0f}s waiting for {what}: {detail}")
        time.sleep(interval)


def _describe(observation: Observation) -> str:
    status = observation.status
    if status is None:
        return observation.error or "no answer"
    return f"{status.local_state_comment}, {status.cluster_status.value}"
