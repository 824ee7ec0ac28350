"""Quorum arithmetic with ``pc.weight``, Primary components and split-brain detection.

Galera keeps a component Primary when the weight of its members is *more than half* of the
weight of the previous Primary component; exactly half is not enough. Members that leave
gracefully are subtracted from the previous total first, so a clean shutdown never costs
quorum, while a crash or a partition does. Everything here answers from one snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from galera.domain.snapshot import Observation, Snapshot


@dataclass(frozen=True)
class Component:
    """One Primary component, as the Primary members that belong to it report it."""

    state_uuid: str
    conf_id: int | None
    members: frozenset[str]
    reporters: tuple[str, ...]
    size: int
    weight: int
    member_weights: tuple[int, ...]
    addresses: frozenset[str] = frozenset()

    def describe(self) -> str:
        names = ", ".join(sorted(self.members)) or ", ".join(self.reporters)
        return f"{{{names}}} (uuid {self.state_uuid[:8]}…, conf {self.conf_id})"


def keeps_quorum(remaining_weight: int, previous_weight: int) -> bool:
    """Galera's rule: strictly more than half of the previous Primary's weight."""
    return 2 * remaining_weight > previous_weight


def weight_margin(total: int) -> int:
    """The largest weight that can vanish at once (crash/partition) with quorum kept."""
    return max((total - 1) // 2, 0)


def member_margin(weights: tuple[int, ...] | list[int]) -> int:
    """How many members can vanish at once, heaviest first, with quorum kept."""
    total = sum(weights)
    lost = 0
    count = 0
    for weight in sorted(weights, reverse=True):
        if not keeps_quorum(total - lost - weight, total):
            break
        lost += weight
        count += 1
    return count


def _weights_of(
    snapshot: Snapshot, names: frozenset[str], reporters: list[Observation], size: int
) -> tuple[int, ...]:
    known = {o.name: o.weight for o in snapshot.observations}
    weights = [known.get(n, 1) for n in sorted(names)] if names else [o.weight for o in reporters]
    # Members we cannot name (a component larger than its named members) count as weight 1.
    weights += [1] * max(size - len(weights), 0)
    return tuple(weights)


def components(snapshot: Snapshot) -> list[Component]:
    """Group the reachable Primary members into the Primary components they report.

    Members belong to the same component when they agree on the cluster state UUID, the
    configuration id and (where they report it) the membership.
    """
    groups: dict[tuple[str, int | None, frozenset[str]], list[Observation]] = {}
    unnamed: list[Observation] = []
    for observation in snapshot.observations:
        status = observation.status
        if status is None or not status.primary:
            continue
        if not status.members:
            unnamed.append(observation)
            continue
        key = (status.state_uuid, status.conf_id, frozenset(status.members))
        groups.setdefault(key, []).append(observation)
    for observation in unnamed:
        status = observation.status
        assert status is not None
        match = next(
            (k for k in groups if k[0] == status.state_uuid and k[1] == status.conf_id), None
        )
        key = match or (status.state_uuid, status.conf_id, frozenset())
        groups.setdefault(key, []).append(observation)

    result = []
    for (uuid, conf_id, members), reporters in groups.items():
        statuses = [o.status for o in reporters if o.status is not None]
        size = max(s.cluster_size for s in statuses)
        weights = _weights_of(snapshot, members, reporters, size)
        reported_weight = max(s.cluster_weight for s in statuses)
        result.append(
            Component(
                state_uuid=uuid,
                conf_id=conf_id,
                members=members,
                reporters=tuple(o.name for o in reporters),
                size=size,
                weight=reported_weight or sum(weights),
                member_weights=weights,
                addresses=frozenset(a for s in statuses for a in s.incoming_addresses if a),
            )
        )
    result.sort(key=lambda c: (-c.size, c.reporters))
    return result


@dataclass(frozen=True)
class StaleView:
    """Members still reporting a Primary view the cluster has already left behind.

    A member paused (SIGSTOP, a long GC-like stall, a frozen VM) wakes up believing in the
    view it last saw, while the others have formed a newer one without it. The two views
    overlap, and a member can be in only one component, so at most one of them can commit:
    this is a stale view, gone at the member's next view change, not a split brain.
    """

    reporters: tuple[str, ...]
    view: Component
    current: Component
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {
            "members": list(self.reporters),
            "view": sorted(self.view.members),
            "conf_id": self.view.conf_id,
            "current": sorted(self.current.members),
            "reason": self.reason,
        }


def _overlap(a: Component, b: Component) -> bool:
    """Whether two Primary views of one history provably share a member (so both cannot
    commit). Without memberships (``mysql.wsrep_cluster_members`` unreadable) the members'
    incoming addresses say it; with neither, nothing is proven and it counts as a split."""
    if a.state_uuid != b.state_uuid:
        return False  # two histories: both can commit, whatever they list
    if a.members and b.members:
        return bool(a.members & b.members)
    if a.addresses and b.addresses:
        return bool(a.addresses & b.addresses)
    return False


def _refuted(view: Component, other: Component) -> frozenset[str]:
    """Members ``view`` lists that answer from ``other``, a view not listing its reporters."""
    answering = view.members & set(other.reporters)
    if answering and not set(view.reporters) <= other.members:
        return frozenset(answering)
    return frozenset()


def _stale_of(a: Component, b: Component) -> tuple[Component, Component, frozenset[str]]:
    """Of two overlapping views, (the stale one, the current one, members refuting it)."""
    refutes_a, refutes_b = _refuted(a, b), _refuted(b, a)
    if bool(refutes_a) != bool(refutes_b):
        return (a, b, refutes_a) if refutes_a else (b, a, refutes_b)
    if a.conf_id is not None and b.conf_id is not None and a.conf_id != b.conf_id:
        return (a, b, refutes_a) if a.conf_id < b.conf_id else (b, a, refutes_b)
    # No way to tell which is newer: the smaller view is taken as the stale one.
    return (b, a, refutes_b) if (b.size, b.reporters) < (a.size, a.reporters) else (a, b, refutes_a)


def _stale_reason(stale: Component, current: Component, refuting: frozenset[str]) -> str:
    who = ", ".join(stale.reporters)
    verb = "reports" if len(stale.reporters) == 1 else "report"
    if refuting:
        why = f"{', '.join(sorted(refuting))} no longer list {who}"
    else:
        why = f"it overlaps the newer view {current.describe()}"
    return f"{who} still {verb} the older view {stale.describe()}; {why}: a stale view"


def classify(snapshot: Snapshot) -> tuple[list[Component], list[StaleView]]:
    """The snapshot's Primary components split into current ones and stale views.

    Two views of one history that share a member cannot both commit: the one refuted by its
    own members (they answer from a view that does not list its reporters), else the one
    with the older configuration id, is stale. What remains are the components that can
    commit; more than one of those is a split brain.
    """
    found = components(snapshot)
    stale: dict[int, StaleView] = {}
    for i, a in enumerate(found):
        for j in range(i + 1, len(found)):
            b = found[j]
            if not _overlap(a, b):
                continue
            old, new, refuting = _stale_of(a, b)
            index = found.index(old)
            if index not in stale:
                reason = _stale_reason(old, new, refuting)
                stale[index] = StaleView(old.reporters, old, new, reason)
    if found and len(stale) == len(found):
        # Views refuting one another in a cycle: the newest configuration stays current.
        newest = max(range(len(found)), key=lambda k: (found[k].conf_id or 0, found[k].size))
        del stale[newest]
    current = [c for k, c in enumerate(found) if k not in stale]
    return current, [stale[k] for k in sorted(stale)]


def primary_components(snapshot: Snapshot) -> list[Component]:
    """The Primary components that can commit (stale views left out), largest first."""
    return classify(snapshot)[0]


@dataclass(frozen=True)
class SplitBrain:
    """Whether more than one Primary component can commit, and a sentence saying which.

    ``components`` are the current components; ``stale`` the views left behind (never a
    split brain by themselves).
    """

    detected: bool
    components: tuple[Component, ...]
    reason: str
    stale: tuple[StaleView, ...] = ()


def split_brain(snapshot: Snapshot) -> SplitBrain:
    """Split brain: Primary components that can each commit, i.e. disjoint memberships or
    different histories. Overlapping views are a stale view, reported in ``stale``."""
    current, stale = classify(snapshot)
    found = tuple(current)
    if len(found) <= 1:
        reason = "at most one Primary component"
        if stale:
            reason += "; " + "; ".join(v.reason for v in stale)
        return SplitBrain(False, found, reason, tuple(stale))
    described = "; ".join(c.describe() for c in found)
    return SplitBrain(True, found, f"{len(found)} Primary components: {described}", tuple(stale))


@dataclass(frozen=True)
class Quorum:
    """Quorum of the cluster as one snapshot shows it.

    ``weight`` is the current Primary component's weight and ``expected_weight`` the weight
    of every member the cluster file declares. The margins say how many members (heaviest
    first) or how much weight can crash or be partitioned away at once before the Primary
    component loses quorum; they are None when there is no single Primary component.
    """

    expected_size: int
    expected_weight: int
    size: int
    weight: int
    primary: Component | None
    margin_members: int | None
    margin_weight: int | None
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {
            "expected_size": self.expected_size,
            "expected_weight": self.expected_weight,
            "size": self.size,
            "weight": self.weight,
            "primary": self.primary is not None,
            "members": sorted(self.primary.members) if self.primary else [],
            "margin": {"members": self.margin_members, "weight": self.margin_weight},
            "reason": self.reason,
        }


def assess(snapshot: Snapshot) -> Quorum:
    """Quorum arithmetic for the snapshot's Primary component (if exactly one exists)."""
    expected_size = len(snapshot.observations)
    expected_weight = snapshot.expected_weight
    found = primary_components(snapshot)
    if len(found) != 1:
        reason = (
            f"split brain: {split_brain(snapshot).reason}"
            if found
            else "no reachable member is in a Primary component"
        )
        return Quorum(expected_size, expected_weight, 0, 0, None, None, None, reason)
    primary = found[0]
    margin_m = member_margin(primary.member_weights)
    margin_w = weight_margin(primary.weight)
    reason = (
        f"Primary component of {primary.size}/{expected_size} members, weight "
        f"{primary.weight}/{expected_weight}; it survives losing {margin_m} member(s) "
        f"or weight {margin_w} at once"
    )
    return Quorum(
        expected_size,
        expected_weight,
        primary.size,
        primary.weight,
        primary,
        margin_m,
        margin_w,
        reason,
    )


@dataclass(frozen=True)
class IfDown:
    """The answer to "does the cluster keep quorum if this member goes down?"."""

    member: str
    keeps_quorum: bool
    keeps_quorum_if_graceful: bool
    remaining_weight: int
    previous_weight: int
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {
            "member": self.member,
            "keeps_quorum": self.keeps_quorum,
            "keeps_quorum_if_graceful": self.keeps_quorum_if_graceful,
            "remaining_weight": self.remaining_weight,
            "previous_weight": self.previous_weight,
            "reason": self.reason,
        }


def if_down(snapshot: Snapshot, name: str) -> IfDown:
    """Whether the Primary component keeps quorum when ``name`` goes down.

    ``keeps_quorum`` is the safe answer: it assumes the member vanishes without saying
    goodbye (crash, kill, partition), as it may during any restart. A graceful shutdown is
    subtracted from the previous weight, so it keeps quorum whenever anyone remains.
    Unknown names raise :class:`galera.errors.InvalidInput`.
    """
    observation = snapshot.get(name)
    q = assess(snapshot)
    if q.primary is None:
        return IfDown(name, False, False, 0, 0, f"no single Primary component to keep ({q.reason})")
    primary = q.primary
    if primary.members:
        in_component = name in primary.members
    else:
        # Membership unknown: a member we could not read may still be inside the component
        # whenever it has more members than reported; assume the unsafe case.
        unnamed_slots = primary.size > len(primary.reporters)
        in_component = name in primary.reporters or (
            unnamed_slots and not (observation.status and observation.status.primary)
        )
    if not in_component:
        ok = keeps_quorum(primary.weight, primary.weight)
        return IfDown(
            name,
            ok,
            ok,
            primary.weight,
            primary.weight,
            f"{name} is not in the Primary component; taking it down changes "
            f"nothing (weight stays {primary.weight})",
        )
    weight = observation.weight
    remaining = primary.weight - weight
    ok = keeps_quorum(remaining, primary.weight)
    graceful = remaining > 0
    if ok:
        reason = (
            f"without {name} (weight {weight}) the component keeps weight "
            f"{remaining} of {primary.weight}, more than half: quorum kept"
        )
    else:
        reason = (
            f"without {name} (weight {weight}) the component keeps weight "
            f"{remaining} of {primary.weight}, not more than half: a crash of {name} "
            f"would leave the rest non-Primary"
        )
        if graceful:
            reason += "; a graceful shutdown alone would keep quorum"
    return IfDown(name, ok, graceful, remaining, primary.weight, reason)
