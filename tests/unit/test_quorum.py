"""Components, split brain, quorum assessment and "what if this member goes down"."""

from __future__ import annotations

import pytest

from galera.domain.quorum import assess, components, if_down, split_brain
from galera.domain.snapshot import Snapshot
from galera.errors import InvalidInput
from tests.unit.builders import (
    NAMES3,
    UUID_A,
    UUID_B,
    arbitrator,
    healthy,
    non_primary,
    one_crashed,
    primary,
    seen,
    snapshot,
    unreachable,
)

WITH_GARBD = ("galera-0", "galera-1", "garbd")


def weighted() -> Snapshot:
    """galera-0 runs with pc.weight=2: the component weighs 4."""
    return snapshot(
        seen(primary("galera-0", NAMES3, weight=2, cluster_weight=4), declared_weight=2),
        seen(primary("galera-1", NAMES3, cluster_weight=4)),
        seen(primary("galera-2", NAMES3, cluster_weight=4)),
    )


def with_arbitrator(view: tuple[str, ...] = WITH_GARBD) -> Snapshot:
    return snapshot(
        seen(primary("galera-0", view)),
        seen(primary("galera-1", view)),
        arbitrator("garbd"),
    )


def split_by_uuid() -> Snapshot:
    """galera-0 bootstrapped a new history alone while galera-1/2 kept the old one."""
    return snapshot(
        seen(primary("galera-0", ("galera-0",), uuid=UUID_B, conf_id=1)),
        seen(primary("galera-1", ("galera-1", "galera-2"))),
        seen(primary("galera-2", ("galera-1", "galera-2"))),
    )


def split_by_conf_id() -> Snapshot:
    """Same history, but two disjoint Primary views with different configuration ids."""
    return snapshot(
        seen(primary("galera-0", ("galera-0",), conf_id=8)),
        seen(primary("galera-1", ("galera-1", "galera-2"), conf_id=9)),
        seen(primary("galera-2", ("galera-1", "galera-2"), conf_id=9)),
    )


def resumed_after_sigstop() -> Snapshot:
    """galera-0 was paused, the others formed a newer view without it; galera-0 woke up
    still reporting the old three-member view."""
    return snapshot(
        seen(primary("galera-0", NAMES3, conf_id=5)),
        seen(primary("galera-1", ("galera-1", "galera-2"), conf_id=6)),
        seen(primary("galera-2", ("galera-1", "galera-2"), conf_id=6)),
    )


ALL = "10.0.0.10:3306,10.0.0.11:3306,10.0.0.12:3306"
PAIR = "10.0.0.11:3306,10.0.0.12:3306"


def stale_unnamed() -> Snapshot:
    """Memberships unreadable (only USAGE): the members' incoming addresses show the two
    views share members; the older configuration is the stale one."""
    return snapshot(
        seen(primary("galera-0", (), size=3, conf_id=5, wsrep_incoming_addresses=ALL)),
        seen(primary("galera-1", (), size=2, conf_id=6, wsrep_incoming_addresses=PAIR)),
        seen(primary("galera-2", (), size=2, conf_id=6, wsrep_incoming_addresses=PAIR)),
    )


def unproven_overlap() -> Snapshot:
    """Neither memberships nor addresses: sizes 3 + 2 > 3 members prove nothing (a node the
    cluster file does not declare, a garbd, may make up the difference): a split brain."""
    return snapshot(
        seen(primary("galera-0", (), size=3, conf_id=1, wsrep_incoming_addresses="")),
        seen(primary("galera-1", (), size=2, conf_id=6, wsrep_incoming_addresses="")),
        seen(primary("galera-2", (), size=2, conf_id=6, wsrep_incoming_addresses="")),
    )


def disjoint_unnamed() -> Snapshot:
    """Memberships unreadable, sizes 1 + 2 fit in three members: they may be disjoint."""
    return snapshot(
        seen(primary("galera-0", (), size=1, conf_id=9)),
        seen(primary("galera-1", (), size=2, conf_id=6)),
        seen(primary("galera-2", (), size=2, conf_id=6)),
    )


def other_history_overlapping() -> Snapshot:
    """Views that overlap on paper but come from two histories: both can commit."""
    return snapshot(
        seen(primary("galera-0", NAMES3, uuid=UUID_B, conf_id=1)),
        seen(primary("galera-1", ("galera-1", "galera-2"))),
        seen(primary("galera-2", ("galera-1", "galera-2"))),
    )


def all_non_primary() -> Snapshot:
    return snapshot(*(seen(non_primary(n)) for n in NAMES3))


# --- assess -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snap", "size", "weight", "expected_weight", "margins"),
    [
        (healthy(), 3, 3, 3, (1, 1)),
        (one_crashed(), 2, 2, 3, (0, 0)),
        (weighted(), 3, 4, 4, (0, 1)),
        (with_arbitrator(), 3, 3, 3, (1, 1)),
        (healthy(("galera-0", "galera-1")), 2, 2, 2, (0, 0)),
        (healthy(tuple(f"galera-{i}" for i in range(5))), 5, 5, 5, (2, 2)),
    ],
    ids=["healthy-3", "two-of-three-after-a-crash", "weighted", "arbitrator", "pair", "five"],
)
def test_assess_counts_size_weight_and_margins(
    snap: Snapshot, size: int, weight: int, expected_weight: int, margins: tuple[int, int]
) -> None:
    q = assess(snap)
    assert q.primary is not None
    assert (q.size, q.weight, q.expected_weight) == (size, weight, expected_weight)
    assert q.expected_size == len(snap.observations)
    assert (q.margin_members, q.margin_weight) == margins
    assert f"survives losing {margins[0]} member(s) or weight {margins[1]}" in q.reason


def test_two_of_three_after_a_crash_has_no_margin() -> None:
    q = assess(one_crashed())
    assert q.as_dict()["margin"] == {"members": 0, "weight": 0}
    assert q.as_dict()["members"] == ["galera-0", "galera-1"]
    assert "Primary component of 2/3 members, weight 2/3" in q.reason


@pytest.mark.parametrize(
    ("snap", "reason"),
    [
        (all_non_primary(), "no reachable member is in a Primary component"),
        (snapshot(*(unreachable(n) for n in NAMES3)), "no reachable member is in a Primary"),
        (split_by_uuid(), "split brain: 2 Primary components"),
        (split_by_conf_id(), "split brain: 2 Primary components"),
    ],
    ids=["all-non-primary", "all-unreachable", "split-by-uuid", "split-by-conf-id"],
)
def test_assess_without_a_single_primary_has_no_margins(snap: Snapshot, reason: str) -> None:
    q = assess(snap)
    assert q.primary is None
    assert (q.size, q.weight, q.margin_members, q.margin_weight) == (0, 0, None, None)
    assert reason in q.reason
    assert q.as_dict()["primary"] is False


# --- components and split brain -----------------------------------------------------------


def test_healthy_members_form_one_component() -> None:
    [component] = components(healthy())
    assert component.members == frozenset(NAMES3)
    assert component.reporters == NAMES3
    assert (component.size, component.weight, component.member_weights) == (3, 3, (1, 1, 1))
    assert component.state_uuid == UUID_A


def test_arbitrator_is_counted_through_the_primary_members_view() -> None:
    [component] = components(with_arbitrator())
    assert "garbd" in component.members
    assert component.reporters == ("galera-0", "galera-1")
    assert component.member_weights == (1, 1, 1)


def test_members_without_a_membership_list_join_the_matching_named_group() -> None:
    snap = snapshot(
        seen(primary("galera-0", NAMES3)),
        seen(primary("galera-1", (), size=3)),
        seen(primary("galera-2", (), size=3)),
    )
    [component] = components(snap)
    assert component.reporters == NAMES3
    assert component.members == frozenset(NAMES3)


def test_unnamed_component_counts_unknown_members_as_weight_one() -> None:
    snap = snapshot(
        seen(primary("galera-0", (), size=3, cluster_weight=0, weight=2), declared_weight=2),
        seen(primary("galera-1", (), size=3, cluster_weight=0)),
        unreachable("galera-2"),
    )
    [component] = components(snap)
    assert component.members == frozenset()
    assert component.member_weights == (2, 1, 1)
    assert component.weight == 4  # no wsrep_cluster_weight reported: summed
    assert "galera-0, galera-1" in component.describe()


def test_non_primary_and_unreachable_members_form_no_component() -> None:
    snap = snapshot(seen(non_primary("galera-0")), unreachable("galera-1"))
    assert components(snap) == []
    assert split_brain(snap).detected is False


@pytest.mark.parametrize(
    ("snap", "detected"),
    [
        (healthy(), False),
        (one_crashed(), False),
        (with_arbitrator(), False),
        (all_non_primary(), False),
        (split_by_uuid(), True),
        (split_by_conf_id(), True),
        (disjoint_unnamed(), True),
        (other_history_overlapping(), True),
        (unproven_overlap(), True),
    ],
    ids=[
        "healthy",
        "one-crashed",
        "arbitrator",
        "non-primary",
        "by-uuid",
        "by-conf-id",
        "disjoint-unnamed",
        "other-history-overlapping",
        "unproven-overlap",
    ],
)
def test_split_brain_is_more_than_one_primary_component(snap: Snapshot, detected: bool) -> None:
    brain = split_brain(snap)
    assert brain.detected is detected
    assert len(brain.components) == (2 if detected else len(components(snap)))
    if not detected:
        assert brain.reason == "at most one Primary component"


@pytest.mark.parametrize(
    ("snap", "marks"),
    [(split_by_uuid(), (UUID_A[:8], UUID_B[:8])), (split_by_conf_id(), ("conf 8", "conf 9"))],
    ids=["by-uuid", "by-conf-id"],
)
def test_split_brain_reason_names_both_components(snap: Snapshot, marks: tuple) -> None:
    brain = split_brain(snap)
    assert brain.reason.startswith("2 Primary components: ")
    for text in ("galera-0", "galera-1, galera-2", *marks):
        assert text in brain.reason
    assert brain.components[0].members == frozenset({"galera-1", "galera-2"})  # larger first


@pytest.mark.parametrize(
    ("snap", "stale", "current", "reason"),
    [
        (
            resumed_after_sigstop(),
            ("galera-0",),
            frozenset({"galera-1", "galera-2"}),
            "galera-0 still reports the older view {galera-0, galera-1, galera-2} "
            f"(uuid {UUID_A[:8]}…, conf 5); galera-1, galera-2 no longer list galera-0: "
            "a stale view",
        ),
        (
            stale_unnamed(),
            ("galera-0",),
            frozenset(),
            "galera-0 still reports the older view {galera-0} "
            f"(uuid {UUID_A[:8]}…, conf 5); it overlaps the newer view",
        ),
    ],
    ids=["resumed-after-sigstop", "unnamed-by-addresses"],
)
def test_overlapping_views_are_a_stale_view_not_a_split_brain(
    snap: Snapshot, stale: tuple[str, ...], current: frozenset[str], reason: str
) -> None:
    brain = split_brain(snap)
    assert brain.detected is False
    [view] = brain.stale
    assert view.reporters == stale
    assert reason in view.reason
    assert [c.members for c in brain.components] == [current]
    assert view.reason in brain.reason
    q = assess(snap)
    assert q.primary is not None and q.primary.members == current
    assert q.size == 2


# --- if_down ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snap", "name", "keeps", "graceful", "remaining", "previous"),
    [
        (healthy(), "galera-1", True, True, 2, 3),
        (one_crashed(), "galera-0", False, True, 1, 2),
        (one_crashed(), "galera-2", True, True, 2, 2),
        (weighted(), "galera-0", False, True, 2, 4),
        (weighted(), "galera-1", True, True, 3, 4),
        (with_arbitrator(), "garbd", True, True, 2, 3),
        (with_arbitrator(("galera-0", "galera-1")), "garbd", True, True, 2, 2),
        (healthy(("galera-0",)), "galera-0", False, False, 0, 1),
    ],
    ids=[
        "healthy-member",
        "survivor-of-a-crash",
        "crashed-member-outside",
        "heavy-member",
        "light-member",
        "arbitrator-present",
        "arbitrator-absent-pair",
        "last-member",
    ],
)
def test_if_down_answers_for_a_crash_and_for_a_graceful_stop(
    snap: Snapshot, name: str, keeps: bool, graceful: bool, remaining: int, previous: int
) -> None:
    answer = if_down(snap, name)
    assert answer.member == name
    assert (answer.keeps_quorum, answer.keeps_quorum_if_graceful) == (keeps, graceful)
    assert (answer.remaining_weight, answer.previous_weight) == (remaining, previous)
    assert answer.as_dict()["keeps_quorum"] is keeps


def test_if_down_of_an_absent_arbitrator_changes_nothing() -> None:
    answer = if_down(with_arbitrator(("galera-0", "galera-1")), "garbd")
    assert answer.reason == (
        "garbd is not in the Primary component; taking it down changes nothing (weight stays 2)"
    )


def test_if_down_of_a_survivor_says_only_a_graceful_stop_is_safe() -> None:
    answer = if_down(one_crashed(), "galera-1")
    assert "weight 1 of 2, not more than half" in answer.reason
    assert "a graceful shutdown alone would keep quorum" in answer.reason


def test_if_down_of_a_member_outside_the_component_changes_nothing() -> None:
    answer = if_down(one_crashed(), "galera-2")
    assert "galera-2 is not in the Primary component" in answer.reason


@pytest.mark.parametrize(
    "snap", [all_non_primary(), split_by_uuid()], ids=["non-primary", "split-brain"]
)
def test_if_down_without_a_single_primary_keeps_nothing(snap: Snapshot) -> None:
    answer = if_down(snap, "galera-0")
    assert (answer.keeps_quorum, answer.keeps_quorum_if_graceful) == (False, False)
    assert answer.reason.startswith("no single Primary component to keep")


@pytest.mark.parametrize("snap", [healthy(), all_non_primary()], ids=["healthy", "non-primary"])
def test_if_down_of_an_unknown_member_is_invalid_input(snap: Snapshot) -> None:
    with pytest.raises(InvalidInput, match="unknown member 'nope'; the cluster has galera-0"):
        if_down(snap, "nope")


def test_if_down_with_unknown_membership_does_not_claim_a_crash_is_safe() -> None:
    # galera-0 cannot read mysql.wsrep_cluster_members; it reports a component of size 2 and
    # weight 2, so galera-1 (unreachable from here, alive for Galera) is in it.
    snap = snapshot(
        seen(primary("galera-0", (), size=2, cluster_weight=2)),
        unreachable("galera-1"),
    )
    assert if_down(snap, "galera-1").keeps_quorum is False
