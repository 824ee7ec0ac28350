"""``galeractl reinit MEMBER``: empty one member's data and let it rejoin by a full SST from
a chosen donor, through its agent (never by deleting a volume).

Refused, changing nothing, when it would break quorum, when no other member is Synced to
give the state, when the member holds transactions the Primary component lacks, or while
it serves a transfer or a backup (see :mod:`galera.domain.reinit`). A writer's writes move
first; a running member is drained and stopped gracefully; its agent empties the data
directory; it starts in join mode asking the donor for the state; progress is reported
until it is Synced.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from galera.agent_client import AgentClient
from galera.config.clusterfile import ClusterSpec
from galera.controller import joining, members, observe, records, waiting, writer
from galera.domain import backup, events, premises, reinit
from galera.domain.events import Kind
from galera.domain.overwrite import Loss
from galera.domain.snapshot import Snapshot
from galera.errors import GaleraError, InvalidInput, UnsafeOperation
from galera.platforms.base import Emit, Platform

PROGRESS_EVERY = 5.0  # seconds between two transfer events


def run(
    platform: Platform,
    member: str,
    donor: str | None,
    confirm: Callable[[reinit.Plan], bool],
    emit: Emit,
    drain_seconds: float = 10.0,
    timeout: float = 1800.0,
) -> events.Event:
    """Reinitialise ``member`` from ``donor`` (None: the best one); the summary event."""
    spec = platform.spec()
    spec.member(member)
    if donor is not None:
        spec.member(donor)
        if donor == member:
            raise InvalidInput(f"--donor {donor}: {member} cannot be its own donor")
    clients = members.agents(spec)
    client = clients[member]
    snapshot = observe.confirmed_snapshot(spec)
    loss = _loss(spec, clients, snapshot, member, emit)
    plan = reinit.plan(snapshot, member, donor, writer.current(platform), loss)
    if isinstance(plan, str):
        raise UnsafeOperation(f"reinit of {member} refused: {plan}; nothing was changed")
    emit(
        events.of(
            Kind.PLAN,
            member=member,
            reason=plan.reason,
            action=f"reinit {member} by a full SST from {plan.donor}",
            donor=plan.donor,
        )
    )
    if not confirm(plan):
        raise UnsafeOperation("not confirmed; nothing was changed (pass --yes to confirm)")
    records.append(platform, "reinit", member=member, donor=plan.donor)
    started = time.monotonic()
    if plan.running:
        if member == writer.current(platform):  # its writes move first
            spare = [n for n in backup.synced(snapshot) if n not in (member, plan.donor)]
            writer.switchover(platform, None, emit, drain_seconds, prefer=spare)
        _stop(platform, spec, client, member, plan, drain_seconds, emit)
    else:  # not answering SQL, but its agent may still mean to restart it: no longer
        client.stop()
    emptied = client.reinit()["emptied"]
    emit(events.of(Kind.EMPTIED, member=member, donor=plan.donor, **emptied))
    _rejoin(spec, client, plan, timeout, emit)
    seconds = round(time.monotonic() - started, 1)
    emit(events.of(Kind.SYNCED, member=member))
    summary = events.of(
        Kind.SUMMARY,
        member=member,
        donor=plan.donor,
        seconds=seconds,
        bytes_removed=emptied["bytes"],
    )
    emit(summary)
    return summary


def _rejoin(
    spec: ClusterSpec, client: AgentClient, plan: reinit.Plan, timeout: float, emit: Emit
) -> None:
    """Start the emptied member in join mode, asking the donor; wait until it is Synced."""
    client.start("join", (plan.donor,))
    emit(events.of(Kind.STARTED, member=plan.member, mode="join", donors=[plan.donor]))
    waiting.wait_for(
        spec,
        [plan.member],
        timeout=timeout,
        interval=0.5,
        what=f"{plan.member} Synced after its full state transfer",
        on_poll=_progress(plan.member, plan.donor, emit),
        premise=premises.a_primary_exists,
    )


def _loss(
    spec: ClusterSpec,
    clients: dict[str, AgentClient],
    snapshot: Snapshot,
    member: str,
    emit: Emit,
) -> Loss | None:
    """What a stopped member holds that the Primary component lacks (None: nothing known)."""
    if snapshot.get(member).reachable:
        return None
    found = joining.overwrites(spec, clients, snapshot, [member], emit)
    return found[0] if found else None


def _stop(
    platform: Platform,
    spec: ClusterSpec,
    client: AgentClient,
    member: str,
    plan: reinit.Plan,
    drain_seconds: float,
    emit: Emit,
) -> None:
    """Drain the member, check the plan again (the drain took time), stop it gracefully."""
    client.drain(max(drain_seconds * 4, 60.0))
    try:
        waited, left = waiting.clients_gone(spec, member, drain_seconds)
        emit(events.of(Kind.DRAINED, member=member, seconds=waited, connections_left=left))
        again = reinit.plan(
            observe.confirmed_snapshot(spec),
            member,
            plan.donor,
            writer.current(platform),
            None,
        )
        if isinstance(again, str):
            raise UnsafeOperation(f"reinit of {member} stopped before its stop: {again}")
        client.stop()
    except BaseException:
        with contextlib.suppress(GaleraError):
            client.undrain()
        raise
    emit(events.of(Kind.STOPPED, member=member))


def _progress(member: str, donor: str, emit: Emit) -> Callable[[Snapshot], None]:
    """Say how the transfer goes about every :data:`PROGRESS_EVERY` seconds."""
    started = time.monotonic()
    said = [started]

    def seen(snapshot: Snapshot) -> None:
        now = time.monotonic()
        if now - said[0] < PROGRESS_EVERY:
            return
        said[0] = now
        status = snapshot.get(member).status
        state = status.local_state_comment if status is not None else "unreachable"
        emit(
            events.of(
                Kind.TRANSFER, member=member, state=state, seconds=round(now - started), donor=donor
            )
        )

    return seen
