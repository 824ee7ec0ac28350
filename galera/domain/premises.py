"""What a waiting step assumes about the cluster, and the sentence when it no longer holds.

A controller step decides from one snapshot and then waits (for a joiner to be Synced, for
a restarted member to come back). The cluster may outrun that decision while it waits: the
Primary component the joiner was to join leaves, another member drops out of a rollout.
Each premise here is a pure function of a snapshot returning None while it holds, or the
reason it no longer does; the waiter then gives the step up and the loop decides afresh.
"""

from __future__ import annotations

from collections.abc import Callable

from galera.domain import quorum
from galera.domain.snapshot import Snapshot

Premise = Callable[[Snapshot], str | None]


def a_primary_exists(snapshot: Snapshot) -> str | None:
    """Joining needs a Primary component to join: holds while any member is in one."""
    if quorum.primary_components(snapshot):
        return None
    return "no member is in a Primary component any more: there is nothing left to join"


def others_stay_primary(member: str) -> Premise:
    """A rolling step restarts ``member`` on the premise that every other data member stays
    in the Primary component; it fails when one of them leaves it (or no Primary is left)."""

    def premise(snapshot: Snapshot) -> str | None:
        current = quorum.primary_components(snapshot)
        if not current:
            return "no member is in a Primary component any more"
        inside = {
            o.name
            for o in snapshot.data_members
            if o.status is not None
            and o.status.primary
            and any(o.name in c.reporters for c in current)
        }
        gone = [o.name for o in snapshot.data_members if o.name != member and o.name not in inside]
        if gone:
            return f"{', '.join(gone)} left the Primary component while {member} was restarting"
        return None

    return premise


def server_alive(member: str) -> Premise:
    """A bootstrap waits for ``member``'s server to form the Primary component: holds while
    its agent does not report the server stopped or exited."""

    def premise(snapshot: Snapshot) -> str | None:
        observation = snapshot.get(member)
        if observation.status is not None or not observation.agent:
            return None
        process = observation.agent.get("process")
        state = process.get("state") if isinstance(process, dict) else None
        if state in ("stopped", "backoff"):
            return (
                f"{member}'s server is not running (its agent reports {state}): it will not "
                "form the Primary component"
            )
        return None

    return premise
