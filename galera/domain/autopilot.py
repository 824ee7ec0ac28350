"""The controller's decision for one cycle: wait, move the writes off a writer that left
the Primary component, rejoin members, bootstrap, roll members that run an older
configuration, or only alert.

Pure: it takes what one cycle observed plus how long each condition has lasted, and returns
a :class:`Decision` with its reason. It never chooses ``bootstrap`` while any member is in
a Primary component, and never acts on a split brain (a person must choose).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(str, enum.Enum):
    WAIT = "wait"
    REJOIN = "rejoin"
    BOOTSTRAP = "bootstrap"
    ROLLOUT = "rollout"
    SWITCHOVER = "switchover"
    ALERT = "alert"


@dataclass(frozen=True)
class Observed:
    """One cycle's view. Durations are seconds the condition has held so far."""

    members: tuple[str, ...]
    primary_members: tuple[str, ...]
    split_brain: bool
    unreachable_agents: tuple[str, ...]
    no_primary_for: float
    down_for: dict[str, float]
    # Members whose pods run an older template than the platform stores; None when the
    # platform stores no configuration (VMs, the sandbox): never rolled by the controller.
    outdated: tuple[str, ...] | None = None
    rollout_in_flight: bool = False
    rollout_owner: str | None = None  # another live galeractl carrying the rollout out
    writer: str | None = None  # the designated writer (galeractl switchover), if any
    flagged: tuple[str, ...] = ()  # members whose agents answer as the writer
    # The writer in the Primary component but neither Synced nor a Donor (Joined, catching
    # up): its state, and how long it has been so; its proxy check fails meanwhile.
    writer_unready: str | None = None
    writer_unready_for: float = 0.0


@dataclass(frozen=True)
class Grace:
    no_primary: float = 30.0
    member_down: float = 20.0
    # The writer out of the Primary component, or in it but not Synced, this long: its
    # writes move to another member (the proxy has had no writer since; a brief stall
    # resolves itself before this).
    writer_down: float = 5.0


@dataclass(frozen=True)
class Decision:
    kind: Kind
    reason: str
    members: tuple[str, ...] = ()
    resume: bool = False  # a rollout: continue the one in flight


def decide(observed: Observed, grace: Grace = Grace()) -> Decision:
    """The next step for the controller, with the sentence that explains it."""
    if observed.split_brain:
        return Decision(
            Kind.ALERT,
            "split brain: more than one Primary component; a person "
            "must decide which side keeps its writes",
        )
    if observed.primary_members:
        failover = _writer_failover(observed, grace)
        if failover is not None:
            return failover
        late = sorted(n for n, since in observed.down_for.items() if since >= grace.member_down)
        # A member whose agent does not answer cannot be started: it is left out, so that
        # it does not keep the others down with it.
        overdue = tuple(n for n in late if n not in observed.unreachable_agents)
        if late and not overdue:
            return Decision(
                Kind.WAIT,
                f"{', '.join(late)} down and {'its agent' if len(late) == 1 else 'their agents'}"
                " unreachable: waiting for the agent to answer before rejoining",
            )
        if overdue:
            return Decision(
                Kind.REJOIN,
                f"{', '.join(overdue)} down for at least "
                f"{grace.member_down:.0f}s while a Primary component runs: "
                "rejoining",
                overdue,
            )
        waiting = [n for n in observed.down_for]
        if waiting:
            return Decision(
                Kind.WAIT,
                f"{', '.join(sorted(waiting))} down; waiting "
                f"{grace.member_down:.0f}s before rejoining",
            )
        return _rollout(observed) or Decision(Kind.WAIT, "healthy")
    if observed.no_primary_for < grace.no_primary:
        return Decision(
            Kind.WAIT,
            f"no Primary component for {observed.no_primary_for:.0f}s; "
            f"waiting {grace.no_primary:.0f}s (pc.recovery may re-form it)",
        )
    if observed.unreachable_agents:
        return Decision(
            Kind.WAIT,
            f"no Primary component, but the agents of "
            f"{', '.join(observed.unreachable_agents)} are unreachable: not "
            "bootstrapping without every member's position",
        )
    return Decision(
        Kind.BOOTSTRAP,
        f"no Primary component for {observed.no_primary_for:.0f}s "
        "and every agent answers: bootstrapping from the most advanced member",
    )


def _rollout(observed: Observed) -> Decision | None:
    """Replace members that run an older configuration, once every member is in the
    Primary component (the rolling gates check the rest: Synced, quorum, IST). A rollout
    another galeractl (a pipeline) carries out is not the controller's to touch."""
    if observed.outdated is None or observed.rollout_owner is not None:
        return None
    if not observed.outdated and not observed.rollout_in_flight:
        return None
    return Decision(
        Kind.ROLLOUT,
        f"{', '.join(observed.outdated) or 'an interrupted rollout'} "
        "run an older pod template: replacing them one at a time",
        observed.outdated,
        resume=observed.rollout_in_flight,
    )


def due_in(observed: Observed, grace: Grace) -> float | None:
    """Seconds until the first grace still running ends (the next cycle is due then, not a
    whole interval later), or None when none runs."""
    left: list[float] = []
    if observed.primary_members:
        left += [grace.member_down - since for since in observed.down_for.values()]
        if observed.writer is not None and observed.writer in observed.down_for:
            left.append(grace.writer_down - observed.down_for[observed.writer])
        if observed.writer_unready is not None:
            left.append(grace.writer_down - observed.writer_unready_for)
    else:
        left.append(grace.no_primary - observed.no_primary_for)
    ahead = [s for s in left if s > 0]
    return min(ahead) if ahead else None


def _writer_failover(observed: Observed, grace: Grace) -> Decision | None:
    """The designated writer left the Primary component while it runs, or stays in it
    neither Synced nor a Donor (Joined: catching up after it fell behind): no member takes
    writes through the proxy until they move. Moved after ``writer_down`` seconds, before
    the writer itself is rejoined (that takes longer, and may not succeed)."""
    name = observed.writer
    if name is None or name not in observed.members:
        return None
    if name in observed.primary_members:
        if observed.writer_unready is None or observed.writer_unready_for < grace.writer_down:
            return None
        return Decision(
            Kind.SWITCHOVER,
            f"{name}, the writer, {observed.writer_unready} (neither Synced nor a Donor) for "
            f"{observed.writer_unready_for:.0f}s: moving the writes to the best Synced member",
            (name,),
        )
    down = observed.down_for.get(name, 0.0)
    if down < grace.writer_down:
        return None
    return Decision(
        Kind.SWITCHOVER,
        f"{name}, the writer, out of the Primary component for {down:.0f}s: moving the "
        "writes to the best member in it",
        (name,),
    )
