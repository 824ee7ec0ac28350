"""Which member a backup is taken from, and what a backup's manifest must say."""

from __future__ import annotations

from dataclasses import dataclass

from galera.domain.grastate import JOIN_UNFINISHED, SAVED_VIEW
from galera.domain.snapshot import Snapshot

# What a restore does not copy from a backup: its manifest, and Galera's own state (the
# restore writes grastate.dat at the backup's position; a cache or a view of another
# cluster's means nothing here).
MANIFEST = "galeractl-backup.json"  # a backup directory's manifest, written last
NOT_RESTORED = (MANIFEST, "galera.cache", SAVED_VIEW, JOIN_UNFINISHED, "grastate.dat")


@dataclass(frozen=True)
class Donor:
    member: str
    reason: str


def synced(snapshot: Snapshot) -> list[str]:
    """Members Synced in a Primary component, by name."""
    return sorted(
        o.name
        for o in snapshot.data_members
        if o.status is not None and o.status.primary and o.status.synced
    )


def choose(snapshot: Snapshot, writer: str | None, asked: str | None) -> Donor | str:
    """The member to back up, or why none may be: the cluster must have a Primary component,
    the member must be Synced in it, and desynchronising it must leave another Synced
    member to serve (the writer is avoided when another member can serve)."""
    members = synced(snapshot)
    if not any(o.status is not None and o.status.primary for o in snapshot.data_members):
        return "the cluster has no Primary component: no member holds a consistent position"
    if asked is not None:
        if asked not in members:
            return f"{asked} is not Synced in the Primary component"
        if len(members) < 2:
            return f"desynchronising {asked} would leave no other Synced member"
        return Donor(asked, f"{asked} was asked for")
    if len(members) < 2:
        return (
            "desynchronising a member would leave no other Synced member "
            f"(Synced: {', '.join(members) or 'none'})"
        )
    name, why = least_busy(members, writer)
    return Donor(name, f"{name}: {why}; {len(members) - 1} other Synced member(s) keep serving")


def least_busy(synced: list[str], writer: str | None) -> tuple[str, str]:
    """Of ``synced`` members (at least one), the one to burden with a transfer: not the
    writer when another can serve; and why."""
    others = [name for name in synced if name != writer]
    name = others[-1] if others else synced[-1]
    return name, ("Synced, not the writer" if writer in synced and name != writer else "Synced")
