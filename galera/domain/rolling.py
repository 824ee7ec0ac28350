"""Rolling restarts: whether a rollout may start or resume, the next step, the gate before
each member, the order, and the IST prediction. Pure."""

from __future__ import annotations

import enum
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from galera.domain import health, quorum
from galera.domain.snapshot import Snapshot


@dataclass(frozen=True)
class Gate:
    ok: bool
    reason: str


def gate(snapshot: Snapshot, member: str) -> Gate:
    """May ``member`` be taken down now? Safety invariant 4, with its reason.

    Every other expected data member must be reachable, Primary and Synced; all Primary
    members must share one history and one component (no split brain); and the rest must
    keep quorum by weight even if the member vanishes without a goodbye.
    """
    target = snapshot.get(member)
    if target.member.arbitrator:
        return Gate(False, f"{member} is an arbitrator; rolling restarts take data members")
    brain = quorum.split_brain(snapshot)
    if brain.detected:
        return Gate(False, f"split brain: {brain.reason}")
    if target.status is None or not health.check_status(target.status)[0]:
        why = target.error if target.status is None else health.check_status(target.status)[1]
        return Gate(
            False,
            f"{member} is not healthy before its restart ({why}); "
            "a rolling restart starts only from a healthy cluster",
        )
    for other in snapshot.data_members:
        if other.name == member:
            continue
        if other.status is None:
            return Gate(
                False,
                f"{other.name} is unreachable ({other.error}); taking {member} "
                "down now could lose the cluster",
            )
        ok, why = health.check_status(other.status)
        if not ok:
            return Gate(False, f"{other.name} is not Synced and Primary ({why})")
    # (Members in different histories are caught above: as a split brain when both are
    # Primary, as unhealthy otherwise.)
    down = quorum.if_down(snapshot, member)
    if not down.keeps_quorum:
        return Gate(False, f"quorum would be at risk: {down.reason}")
    return Gate(True, f"all other members Synced and Primary; {down.reason}")


@dataclass(frozen=True)
class IstForecast:
    ist: bool
    reason: str


def forecast_ist(
    snapshot: Snapshot, member: str, write_rate: float, downtime: float
) -> IstForecast:
    """Will ``member`` rejoin by IST after ``downtime`` seconds at ``write_rate`` writes/s?

    A donor serves IST from its gcache, which holds seqnos from ``cached_downto`` on and at
    most about ``gcache.size / average write set size`` write sets. After the restart the
    oldest write set still held is ``max(cached_downto, newest - capacity + 1)``, with
    ``newest = last_committed + write_rate * downtime``. IST is predicted when that is at
    or below the member's position + 1, counting only 80% of the estimated capacity.
    """
    target = snapshot.get(member)
    if target.status is None:
        return IstForecast(False, f"{member} is unreachable; its position is unknown")
    position = target.status.last_committed
    missed = max(write_rate, 0.0) * downtime
    best: tuple[float, str, str] | None = None
    for donor in snapshot.data_members:
        s = donor.status
        if donor.name == member or s is None or not s.primary:
            continue
        if s.cached_downto <= 0 or s.cached_downto > 2**62:
            continue
        newest = s.last_committed + missed
        oldest = float(s.cached_downto)
        how = f"its gcache holds seqnos from {s.cached_downto}"
        if s.gcache_bytes > 0 and s.avg_writeset_bytes > 0:
            # 20% below the estimate: write sets vary in size and the ring has overhead.
            capacity = 0.8 * s.gcache_bytes / s.avg_writeset_bytes
            oldest = max(oldest, newest - capacity + 1)
            how += f" and about {capacity:.0f} write sets of {s.avg_writeset_bytes:.0f} bytes"
        spare = position + 1 - oldest
        if best is None or spare > best[0]:
            best = (spare, donor.name, how)
    if best is None:
        return IstForecast(True, "no donor reports a gcache window; assuming IST")
    spare, donor_name, how = best
    if spare < 0:
        return IstForecast(
            False,
            f"{donor_name}: {how}; after ~{missed:.0f} writes in a "
            f"{downtime:.0f}s restart it would no longer hold {member}'s "
            f"position {position}: a full SST is likely",
        )
    return IstForecast(
        True,
        f"{donor_name}: {how}; it still covers {member}'s position "
        f"{position} after ~{missed:.0f} writes in a {downtime:.0f}s restart: IST",
    )


def order(snapshot: Snapshot, members: Sequence[str]) -> list[str]:
    """Members taking no client connections first; the busiest (the writer) last.

    Ties keep the cluster-file order, so the plan is deterministic.
    """
    index = {name: i for i, name in enumerate(snapshot.names)}

    def load(name: str) -> int:
        status = snapshot.get(name).status
        return status.threads_connected if status is not None else 0

    return sorted(members, key=lambda n: (load(n), index[n]))


@dataclass(frozen=True)
class Record:
    """What a rollout's progress record says, as plain data.

    ``current_step`` is None while the member is being gated and drained, ``"stopped"``
    once galeractl stopped it (or deleted its pod), ``"started"`` once it was brought back.
    ``incarnation`` is the member's pod UID when it was taken (None on VMs).
    """

    in_flight: bool = False
    order: tuple[str, ...] = ()
    done: tuple[str, ...] = ()
    current: str | None = None
    current_step: str | None = None
    incarnation: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    image: str | None = None
    started_at: float = 0.0

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Record:
        return cls(
            in_flight=data.get("state") == "in_progress",
            order=tuple(str(n) for n in data.get("order") or ()),
            done=tuple(str(n) for n in data.get("done") or ()),
            current=str(data["current"]) if data.get("current") else None,
            current_step=data.get("current_step") or None,
            incarnation=data.get("pod_uid") or None,
            options={str(k): str(v) for k, v in (data.get("options") or {}).items()},
            image=data.get("image") or None,
            started_at=float(data.get("started_at") or 0),
        )


@dataclass(frozen=True)
class Start:
    """Whether a run may go ahead: a new rollout, or the one in flight resumed."""

    ok: bool
    reason: str
    bad_input: bool = False  # refused because of what was asked, not the cluster's state
    stale_record: bool = False  # the record names what no longer exists: a person removes it


def start(record: Record, resume: bool, members: Collection[str]) -> Start:
    """May this run go ahead? A new rollout never starts beside one in flight (it would
    restart a member twice, or two at once); ``--resume`` needs one in flight whose members
    are all still members of the cluster."""
    if resume and not record.in_flight:
        return Start(False, "no interrupted rollout to resume", bad_input=True)
    if resume:
        gone = [n for n in record.order if n not in members]
        if gone:
            return Start(
                False,
                f"the interrupted rollout names {', '.join(gone)}, no longer members of the "
                "cluster",
                bad_input=True,
                stale_record=True,
            )
        return Start(True, f"resuming the rollout of {', '.join(record.order)}")
    if record.in_flight:
        return Start(
            False,
            f"a rollout is in flight (started {time.ctime(record.started_at)}); "
            "continue it with --resume",
        )
    return Start(True, "no rollout in flight")


class Action(str, enum.Enum):
    RESTART = "restart"  # gate, drain, graceful stop (or pod replacement), back, Synced
    WAIT = "wait"  # an interrupted run already stopped it: bring it back and wait
    DONE = "done"


@dataclass(frozen=True)
class Seen:
    """What is seen now of the member the record names as current."""

    running: bool
    incarnation: str | None = None


@dataclass(frozen=True)
class Step:
    action: Action
    member: str | None
    reason: str


def next_step(record: Record, seen: Seen | None = None) -> Step:
    """The next step of a rollout from its record (and, for the member an interrupted run
    was restarting, what is seen of it now). A member is never restarted twice: one the
    interrupted run stopped is only brought back and waited for, unless it was started
    again in the same pod meanwhile (a rejoin), whose pod still has to be replaced."""
    pending = [n for n in record.order if n not in record.done]
    if not pending:
        return Step(Action.DONE, None, f"every member restarted: {', '.join(record.order)}")
    name = pending[0]
    if record.current != name or record.current_step not in ("stopped", "started"):
        return Step(Action.RESTART, name, f"{name} is next")
    if (
        record.current_step == "stopped"
        and record.incarnation is not None
        and seen is not None
        and seen.running
        and seen.incarnation == record.incarnation
    ):
        return Step(
            Action.RESTART,
            name,
            f"{name} was stopped by the interrupted run and started again in the same pod; "
            "its pod still has to be replaced: starting over, gates and drain included",
        )
    return Step(
        Action.WAIT,
        name,
        "galeractl stopped while this member was restarting; it is not restarted again",
    )
