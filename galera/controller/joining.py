"""Starting members in join mode, one admission at a time."""

from __future__ import annotations

from galera.agent_client import AgentClient
from galera.config.clusterfile import ClusterSpec
from galera.controller import members, observe, waiting
from galera.domain import events, overwrite
from galera.domain.events import Kind
from galera.domain.position import Position
from galera.domain.snapshot import Snapshot
from galera.errors import OperationFailed

Emit = events.Emit


def _component(snapshot: Snapshot) -> tuple[str | None, int]:
    """A Primary member to watch, and the size of its component."""
    for o in snapshot.data_members:
        if o.status is not None and o.status.primary:
            return o.name, o.status.cluster_size
    return None, 0


def start_joiners(
    spec: ClusterSpec,
    clients: dict[str, AgentClient],
    names: list[str],
    emit: Emit,
    admit_timeout: float = 15.0,
) -> list[str]:
    """Start those of ``names`` whose server is not running, in join mode.

    Each next member starts as soon as the Primary component has admitted the previous one;
    their state transfers then run side by side. Members entering the group at the very same
    moment make the membership protocol churn for seconds (measured: two simultaneous joins
    of 3 took 7-10 s, one after the other 4.7 s). The wait is only pacing: after
    ``admit_timeout`` the next member starts anyway, since a crashed member can linger in the
    component's size until Galera evicts it (the size is a hint, not a proof).
    """
    snapshot = observe.snapshot(spec)
    todo = [
        n
        for n in names
        if not snapshot.get(n).reachable
        and (clients[n].status().get("process") or {}).get("state") != "running"
    ]
    # Donors: the members Synced before any of these joins. A member that has just joined
    # can serve an IST short of what its own transfer brought it ("IST didn't contain all
    # write sets ... node restart required": seen when joiners of a bootstrap served each
    # other), so the joiners take their transfers from those first.
    donors = tuple(o.name for o in snapshot.data_members if waiting.synced(o))
    for index, name in enumerate(todo):
        anchor, size = _component(observe.snapshot(spec)) if index < len(todo) - 1 else (None, 0)
        clients[name].start("join", donors)
        emit(events.of(Kind.STARTED, member=name, mode="join"))
        if anchor is None:
            continue
        try:
            waiting.wait_for(
                spec,
                [anchor],
                condition=waiting.primary_of_size(size + 1),
                timeout=admit_timeout,
                interval=0.1,
                what=f"{name} admitted to the Primary component",
            )
        except OperationFailed as e:
            emit(events.of(Kind.SLOW_ADMISSION, member=name, reason=e.message))
    return todo


def overwrites(
    spec: ClusterSpec,
    clients: dict[str, AgentClient],
    snapshot: Snapshot,
    names: list[str],
    emit: Emit,
) -> list[overwrite.Loss]:
    """What starting the stopped members among ``names`` would lose: a member ahead of the
    Primary component in ``snapshot`` (Galera aborts it, "Reversing history") or holding
    another history (Galera replaces it by SST without a word)."""
    primary = primary_position(snapshot)
    if primary is None or not names:
        return []
    reports = members.gather(spec, clients, recover=True, emit=emit, only=names)
    down = [r for r in reports if r.name in names and not r.running]
    return overwrite.losses(down, primary)


def discard(clients: dict[str, AgentClient], losses: list[overwrite.Loss], emit: Emit) -> None:
    """Give up these members' own transactions, on a person's word: each joins by SST."""
    for loss in losses:
        clients[loss.member].discard()
        emit(events.of(Kind.DISCARDED, member=loss.member, reason=loss.reason))


def primary_position(snapshot: Snapshot) -> Position | None:
    """Where the Primary component is: its history and the highest committed seqno."""
    primary = [o.status for o in snapshot.data_members if o.status is not None and o.status.primary]
    if not primary:
        return None
    best = max(primary, key=lambda s: s.last_committed)
    return Position(best.state_uuid, best.last_committed)
