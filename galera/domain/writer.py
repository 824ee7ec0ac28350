"""Which member may take the cluster's writes: the gate a switchover passes, and the best
candidate when nobody named one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from galera.domain.snapshot import Snapshot


@dataclass(frozen=True)
class Choice:
    member: str | None
    reason: str


def gate(snapshot: Snapshot, name: str) -> str | None:
    """Why ``name`` may not take writes now, or None: it must be Synced in a Primary
    component with nothing waiting in its receive queue (it would apply that first, and
    its clients would read behind the others)."""
    status = snapshot.get(name).status
    if status is None:
        return f"{name} does not answer"
    if not status.primary:
        return f"{name} is not in a Primary component"
    if not status.synced:
        return f"{name} is {status.local_state_comment}, not Synced"
    if status.recv_queue > 0:
        return f"{name} has {status.recv_queue} write sets in its receive queue"
    return None


def choose(snapshot: Snapshot, current: str | None, prefer: Iterable[str] = ()) -> Choice:
    """The best member to take writes from ``current``: one that passes the gate, first
    among ``prefer`` (members a rollout already restarted), then the one with the shortest
    receive queue and the least flow control, then by name."""
    preferred = set(prefer)
    fit = []
    refused = []
    for observation in snapshot.data_members:
        if observation.name == current:
            continue
        why = gate(snapshot, observation.name)
        if why is not None:
            refused.append(why)
            continue
        status = observation.status
        assert status is not None
        key = (
            observation.name not in preferred,
            status.recv_queue,
            status.flow_control_paused,
            observation.name,
        )
        fit.append((key, observation.name, status))
    if not fit:
        return Choice(None, "no member can take writes: " + ("; ".join(refused) or "none left"))
    _key, name, status = min(fit)
    reason = (
        f"{name}: Synced in the Primary component, receive queue {status.recv_queue}, "
        f"flow control paused {status.flow_control_paused:.1%}"
    )
    if name in preferred:
        reason += ", already restarted"
    return Choice(name, reason)
