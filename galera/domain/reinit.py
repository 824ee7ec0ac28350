"""``galeractl reinit``: whether a member's data may be emptied for a full state transfer,
and from which donor. Pure.

Reinitialising throws the member's data away and lets it rejoin by a full SST. It is safe
only while a Primary component that holds everything the member holds keeps running
without it: quorum must survive the member going down without a goodbye, another member
must be Synced in that component to give the state, and the member must hold no
transaction the component lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

from galera.domain import backup, quorum
from galera.domain.overwrite import Loss
from galera.domain.snapshot import Snapshot
from galera.domain.status import LocalState


@dataclass(frozen=True)
class Plan:
    member: str
    donor: str
    running: bool  # the member's server answers: it is stopped first
    reason: str


def plan(
    snapshot: Snapshot,
    member: str,
    donor: str | None,
    writer: str | None,
    loss: Loss | None,
) -> Plan | str:
    """The reinit of ``member`` from ``donor`` (None: the best one), or why it is refused.

    ``loss`` is what a stopped member holds that the Primary component lacks (see
    :mod:`galera.domain.overwrite`): a member ahead of the component is refused, since its
    own transactions would be lost; one of another history is what reinit is for.
    """
    target = snapshot.get(member)
    if target.member.arbitrator:
        return f"{member} is an arbitrator: it holds no data to reinitialise"
    brain = quorum.split_brain(snapshot)
    if brain.detected:
        return f"split brain: {brain.reason}"
    if not any(o.status is not None and o.status.primary for o in snapshot.data_members):
        return (
            "the cluster has no Primary component to give the state "
            "(after a full outage use 'galeractl bootstrap')"
        )
    synced = [name for name in backup.synced(snapshot) if name != member]
    if not synced:
        return (
            f"no member other than {member} is Synced in the Primary component: "
            f"{member} alone holds the latest state and nobody could give it back"
        )
    if loss is not None and loss.transactions is not None:
        return (
            f"{loss.reason}; reinit would lose them (to give them up on purpose: "
            f"galeractl rejoin --discard {member})"
        )
    running = target.status is not None
    serving = target.status is not None and (
        target.status.desync or target.status.local_state is LocalState.DONOR
    )
    if serving and target.status is not None:
        return (
            f"{member} is serving a state transfer or a backup "
            f"({target.status.local_state_comment}): reinit it once that ends"
        )
    if target.status is not None and target.status.primary:
        down = quorum.if_down(snapshot, member)
        if not down.keeps_quorum:
            return f"quorum would break: {down.reason}"
    if donor is not None:
        if donor == member:
            return f"{member} cannot be its own donor"
        snapshot.get(donor)
        if donor not in synced:
            return f"donor {donor} is not Synced in the Primary component"
        return Plan(member, donor, running, f"{donor} was asked for")
    chosen, why = backup.least_busy(synced, writer)
    return Plan(member, chosen, running, f"{chosen}: {why}")
