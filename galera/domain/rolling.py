"""Rolling restarts: the gate before each member, the order, and the IST prediction. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
