"""The one waiter: poll snapshots until members reach a condition, or time out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from galera import poll
from galera.config.clusterfile import ClusterSpec
from galera.controller import observe
from galera.domain import health
from galera.domain.premises import Premise
from galera.domain.snapshot import Observation, Snapshot
from galera.errors import AccessDenied, GaleraError, OperationFailed


class Outrun(OperationFailed):
    """The cluster outran the step: what the wait was for no longer makes sense (its premise
    failed). Nothing was lost by stopping; the caller returns for a fresh decision.
    ``since`` is when the premise first failed (``time.monotonic()``)."""

    def __init__(self, message: str, *, since: float, member: str | None = None) -> None:
        super().__init__(message, member=member)
        self.since = since


def synced(observation: Observation) -> bool:
    """The member is healthy by clustercheck rules: Synced, Primary and ready."""
    return observation.status is not None and health.check_status(observation.status)[0]


def primary(observation: Observation) -> bool:
    """The member answers and is in a Primary component."""
    return observation.status is not None and observation.status.primary


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
    premise: Premise | None = None,
    premise_grace: float = 2.0,
) -> Snapshot:
    """Poll until every member in ``names`` satisfies ``condition``; return that snapshot.

    Raises :class:`OperationFailed` naming the members still not there, with their state,
    when ``timeout`` passes, and :class:`Outrun` as soon as ``premise`` (what the caller's
    decision assumed) has failed on every poll for ``premise_grace`` seconds and at least
    three polls in a row: a moment of disagreement during a view change, or one slow read,
    does not end the wait; a cluster that moved on does.
    """
    wanted = list(names)
    for name in wanted:
        spec.member(name)
    credentials = spec.credentials()
    missing: list[Observation] = []
    premise_failing = _Streak(premise_grace)

    def check() -> Snapshot | None:
        snap = observe.snapshot(spec, credentials)
        if on_poll is not None:
            on_poll(snap)
        missing[:] = [snap.get(n) for n in wanted if not condition(snap.get(n))]
        if not missing:
            return snap
        broken = premise(snap) if premise is not None else None
        if premise_failing.holds(broken):
            raise Outrun(f"stopped waiting for {what}: {broken}", since=premise_failing.since)
        return None

    return poll.until(
        check,
        timeout=timeout,
        interval=interval,
        what=what,
        seen=lambda: "; ".join(f"{o.name}: {_describe(o)}" for o in missing),
    )


class _Streak:
    """A premise failing on every poll for ``grace`` seconds and at least three polls."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.since = 0.0
        self.polls = 0

    def holds(self, broken: str | None) -> bool:
        now = time.monotonic()
        if broken is None:
            self.polls = 0
            return False
        self.since = now if self.polls == 0 else self.since
        self.polls += 1
        return self.polls >= 3 and now - self.since >= self.grace


def _describe(observation: Observation) -> str:
    status = observation.status
    if status is None:
        return observation.error or "no answer"
    return f"{status.local_state_comment}, {status.cluster_status.value}"


def clients_gone(spec: ClusterSpec, name: str, limit: float) -> tuple[float, int | None]:
    """The member no longer takes new clients (drained, or no longer the writer): wait
    until its clients are gone (only galeractl's own connection left), at most ``limit``
    seconds. (seconds waited, connections left)"""
    started = time.monotonic()
    left: list[int | None] = [None]

    def gone() -> bool | None:
        observation = observe.snapshot(spec).get(name)
        if observation.status is not None:
            left[0] = max(observation.status.threads_connected - 1, 0)
        return True if left[0] == 0 else None

    poll.quietly(gone, timeout=limit, interval=0.25)
    return round(time.monotonic() - started, 2), left[0]


def transactions_gone(spec: ClusterSpec, name: str, limit: float) -> tuple[float, int | None, str]:
    """The member is no longer the writer: wait until it runs no client transaction (its
    idle connections may stay), at most ``limit`` seconds. Without the PROCESS privilege
    the transactions cannot be seen: then until its clients are gone. (seconds waited,
    what is left, "transactions" or "connections")"""
    from galera import sql  # the one SQL read here that is not the status read
    from galera.config import endpoints

    member = spec.member(name)
    endpoint, credentials = endpoints.of_member(spec, member), spec.credentials()
    started = time.monotonic()
    left: list[int | None] = [None]

    def idle() -> bool | None:
        left[0] = sql.client_transactions(endpoint, credentials, name)
        return True if left[0] == 0 else None

    try:
        idle()
    except AccessDenied:
        waited, connections = clients_gone(spec, name, limit)
        return waited, connections, "connections"
    except GaleraError:
        pass  # unreachable now: it may answer again within the limit
    if left[0] != 0:
        poll.quietly(idle, timeout=limit, interval=0.1)
    return round(time.monotonic() - started, 2), left[0], "transactions"
