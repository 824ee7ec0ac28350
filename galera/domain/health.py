"""Health verdicts: per member with clustercheck semantics, and for the whole cluster."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from galera.domain import quorum
from galera.domain.snapshot import Observation, Snapshot
from galera.domain.status import LocalState, MemberStatus


@dataclass(frozen=True)
class HealthPolicy:
    """What a member must be to count as healthy (the knobs of ``clustercheck``).

    ``donor_ok`` accepts a Donor/Desynced member (``AVAILABLE_WHEN_DONOR``);
    ``require_writable`` rejects a member with ``read_only=ON`` (``AVAILABLE_WHEN_READONLY=0``).
    """

    donor_ok: bool = False
    require_writable: bool = False


@dataclass(frozen=True)
class MemberVerdict:
    name: str
    healthy: bool
    reason: str


def check_status(status: MemberStatus, policy: HealthPolicy = HealthPolicy()) -> tuple[bool, str]:
    """Clustercheck semantics for one running member: (ok, reason).

    Healthy means: in a Primary component, ``wsrep_ready=ON``, and Synced — or Donor when
    the policy allows it — and, when the policy requires it, not ``read_only``.
    """
    if not status.primary:
        return False, f"not in a Primary component ({status.cluster_status.value})"
    if not status.ready:
        return False, "wsrep_ready is OFF"
    state_ok = status.local_state is LocalState.SYNCED or (
        policy.donor_ok and status.local_state is LocalState.DONOR
    )
    if not state_ok:
        return False, f"not Synced ({status.local_state_comment or status.local_state.label})"
    if policy.require_writable and status.read_only:
        return False, "read_only is ON"
    return True, f"{status.local_state_comment or 'Synced'}, Primary, ready"


def member_verdict(
    observation: Observation,
    snapshot: Snapshot,
    policy: HealthPolicy = HealthPolicy(),
) -> MemberVerdict:
    """The verdict for one expected member of the snapshot."""
    if observation.member.arbitrator:
        present = any(observation.name in c.members for c in quorum.primary_components(snapshot))
        reason = (
            "arbitrator in the Primary component"
            if present
            else ("arbitrator not seen in any Primary component")
        )
        return MemberVerdict(observation.name, present, reason)
    if observation.status is None:
        return MemberVerdict(
            observation.name, False, f"unreachable: {observation.error or 'no answer'}"
        )
    ok, reason = check_status(observation.status, policy)
    stale = next(
        (v for v in quorum.split_brain(snapshot).stale if observation.name in v.reporters), None
    )
    if ok and stale is not None:
        return MemberVerdict(observation.name, False, f"stale view: {stale.reason}")
    return MemberVerdict(observation.name, ok, reason)


class Verdict(str, enum.Enum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    NON_PRIMARY = "non_primary"
    SPLIT_BRAIN = "split_brain"
    DOWN = "down"


@dataclass(frozen=True)
class ClusterHealth:
    verdict: Verdict
    reason: str
    members: tuple[MemberVerdict, ...]

    @property
    def healthy(self) -> bool:
        return self.verdict is Verdict.HEALTHY


def cluster_verdict(snapshot: Snapshot, policy: HealthPolicy = HealthPolicy()) -> ClusterHealth:
    """The cluster's verdict from one snapshot.

    - ``split_brain``: more than one Primary component that can commit (disjoint views or
      different histories); a member left behind in an older, overlapping view is a stale
      view and makes the cluster ``degraded`` at most.
    - ``down``: no data member answered.
    - ``non_primary``: members answered, none is in a Primary component.
    - ``healthy``: one Primary component holding every expected member, all healthy.
    - ``degraded``: a Primary component exists but something is missing or not healthy.
    """
    verdicts = tuple(member_verdict(o, snapshot, policy) for o in snapshot.observations)
    brain = quorum.split_brain(snapshot)
    if brain.detected:
        return ClusterHealth(Verdict.SPLIT_BRAIN, brain.reason, verdicts)
    data = snapshot.data_members
    if not any(o.reachable for o in data):
        return ClusterHealth(Verdict.DOWN, "no member answered", verdicts)
    if not brain.components:
        return ClusterHealth(
            Verdict.NON_PRIMARY, "members answered but none is in a Primary component", verdicts
        )
    unhealthy = [v for v in verdicts if not v.healthy]
    component = brain.components[0]
    if not unhealthy and component.size >= len(snapshot.observations):
        return ClusterHealth(
            Verdict.HEALTHY,
            f"all {len(snapshot.observations)} members Synced in one Primary component",
            verdicts,
        )
    problems = "; ".join(f"{v.name}: {v.reason}" for v in unhealthy) or (
        f"Primary component has {component.size} of {len(snapshot.observations)} members"
    )
    return ClusterHealth(Verdict.DEGRADED, problems, verdicts)
