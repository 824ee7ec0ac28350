"""Health: clustercheck semantics per member, and one verdict for the whole cluster."""

from __future__ import annotations

import pytest

from galera.domain.health import HealthPolicy, Verdict, check_status, cluster_verdict
from galera.domain.snapshot import Snapshot
from galera.domain.status import MemberStatus
from tests.unit.builders import (
    NAMES3,
    UUID_B,
    arbitrator,
    healthy,
    member,
    non_primary,
    one_crashed,
    primary,
    seen,
    snapshot,
    unreachable,
)

DEFAULT = HealthPolicy()
DONOR_OK = HealthPolicy(donor_ok=True)
WRITABLE = HealthPolicy(require_writable=True)

SYNCED = member("galera-0")
DONOR = member("galera-0", wsrep_local_state="2", wsrep_local_state_comment="Donor/Desynced")
JOINED = member("galera-0", wsrep_local_state="3", wsrep_local_state_comment="Joined")
JOINING_NO_COMMENT = member("galera-0", wsrep_local_state="1", wsrep_local_state_comment="")
READ_ONLY = member("galera-0", read_only="ON")
NOT_READY = member("galera-0", wsrep_ready="OFF")
NON_PRIMARY = non_primary("galera-0")
DISCONNECTED = member("galera-0", wsrep_cluster_status="Disconnected", wsrep_ready="OFF")


@pytest.mark.parametrize(
    ("status", "policy", "ok", "reason"),
    [
        (SYNCED, DEFAULT, True, "Synced, Primary, ready"),
        (SYNCED, WRITABLE, True, "Synced, Primary, ready"),
        (DONOR, DEFAULT, False, "not Synced (Donor/Desynced)"),
        (DONOR, DONOR_OK, True, "Donor/Desynced, Primary, ready"),
        (JOINED, DONOR_OK, False, "not Synced (Joined)"),
        (JOINING_NO_COMMENT, DEFAULT, False, "not Synced (Joining)"),
        (READ_ONLY, DEFAULT, True, "Synced, Primary, ready"),
        (READ_ONLY, WRITABLE, False, "read_only is ON"),
        (NOT_READY, DEFAULT, False, "wsrep_ready is OFF"),
        (NON_PRIMARY, DEFAULT, False, "not in a Primary component (non-Primary)"),
        (NON_PRIMARY, DONOR_OK, False, "not in a Primary component (non-Primary)"),
        (DISCONNECTED, DEFAULT, False, "not in a Primary component (Disconnected)"),
    ],
    ids=[
        "synced",
        "synced-writable",
        "donor-rejected-by-default",
        "donor-accepted-when-allowed",
        "joined-never-ok",
        "joining-without-comment-uses-label",
        "read-only-accepted-by-default",
        "read-only-rejected-when-writable-required",
        "not-ready",
        "non-primary",
        "non-primary-even-with-donor-ok",
        "disconnected",
    ],
)
def test_check_status_has_clustercheck_semantics(
    status: MemberStatus, policy: HealthPolicy, ok: bool, reason: str
) -> None:
    assert check_status(status, policy) == (ok, reason)


# --- Cluster verdicts ---------------------------------------------------------------------


def one_donor() -> Snapshot:
    donor = primary(
        "galera-1", NAMES3, wsrep_local_state="2", wsrep_local_state_comment="Donor/Desynced"
    )
    return snapshot(
        seen(primary("galera-0", NAMES3)), seen(donor), seen(primary("galera-2", NAMES3))
    )


def split_brain() -> Snapshot:
    return snapshot(
        seen(primary("galera-0", ("galera-0",), uuid=UUID_B, conf_id=1)),
        seen(primary("galera-1", ("galera-1", "galera-2"))),
        seen(primary("galera-2", ("galera-1", "galera-2"))),
    )


def garbd_cluster(view: tuple[str, ...]) -> Snapshot:
    return snapshot(
        seen(primary("galera-0", view, size=3)),
        seen(primary("galera-1", view, size=3)),
        arbitrator("garbd"),
    )


@pytest.mark.parametrize(
    ("snap", "policy", "verdict", "reason"),
    [
        (healthy(), DEFAULT, Verdict.HEALTHY, "all 3 members Synced in one Primary component"),
        (
            garbd_cluster(("galera-0", "galera-1", "garbd")),
            DEFAULT,
            Verdict.HEALTHY,
            "all 3 members Synced in one Primary component",
        ),
        (one_crashed(), DEFAULT, Verdict.DEGRADED, "galera-2: unreachable: connection refused"),
        (one_donor(), DEFAULT, Verdict.DEGRADED, "galera-1: not Synced (Donor/Desynced)"),
        (one_donor(), DONOR_OK, Verdict.HEALTHY, "all 3 members Synced"),
        (
            garbd_cluster(("galera-0", "galera-1")),
            DEFAULT,
            Verdict.DEGRADED,
            "garbd: arbitrator not seen in any Primary component",
        ),
        (
            snapshot(*(seen(non_primary(n)) for n in NAMES3)),
            DEFAULT,
            Verdict.NON_PRIMARY,
            "members answered but none is in a Primary component",
        ),
        (
            snapshot(seen(non_primary("galera-0")), unreachable("galera-1")),
            DEFAULT,
            Verdict.NON_PRIMARY,
            "none is in a Primary component",
        ),
        (split_brain(), DEFAULT, Verdict.SPLIT_BRAIN, "2 Primary components"),
        (
            snapshot(*(unreachable(n) for n in NAMES3)),
            DEFAULT,
            Verdict.DOWN,
            "no member answered",
        ),
        (
            snapshot(unreachable("galera-0"), unreachable("galera-1"), arbitrator()),
            DEFAULT,
            Verdict.DOWN,
            "no member answered",
        ),
    ],
    ids=[
        "healthy",
        "healthy-with-arbitrator",
        "one-crashed-is-degraded",
        "donor-is-degraded",
        "donor-ok-is-healthy",
        "arbitrator-missing-is-degraded",
        "all-non-primary",
        "non-primary-and-unreachable",
        "split-brain",
        "all-unreachable-is-down",
        "only-arbitrator-left-is-down",
    ],
)
def test_cluster_verdict(
    snap: Snapshot, policy: HealthPolicy, verdict: Verdict, reason: str
) -> None:
    health = cluster_verdict(snap, policy)
    assert health.verdict is verdict
    assert reason in health.reason
    assert health.healthy is (verdict is Verdict.HEALTHY)
    assert [v.name for v in health.members] == list(snap.names)


def test_split_brain_reason_names_both_components() -> None:
    reason = cluster_verdict(split_brain()).reason
    assert "{galera-0}" in reason
    assert "{galera-1, galera-2}" in reason


def test_degraded_reason_lists_every_unhealthy_member() -> None:
    snap = snapshot(
        seen(primary("galera-0", ("galera-0",))),
        unreachable("galera-1", error="timed out"),
        unreachable("galera-2"),
    )
    health = cluster_verdict(snap)
    assert health.verdict is Verdict.DEGRADED
    assert health.reason == (
        "galera-1: unreachable: timed out; galera-2: unreachable: connection refused"
    )


def test_a_member_resumed_in_an_older_view_is_stale_and_the_cluster_degraded() -> None:
    snap = snapshot(
        seen(primary("galera-0", NAMES3, conf_id=5)),
        seen(primary("galera-1", ("galera-1", "galera-2"), conf_id=6)),
        seen(primary("galera-2", ("galera-1", "galera-2"), conf_id=6)),
    )
    health = cluster_verdict(snap)
    assert health.verdict is Verdict.DEGRADED
    assert [v.healthy for v in health.members] == [False, True, True]
    assert health.members[0].reason.startswith("stale view: galera-0 still reports")
    assert "galera-0: stale view" in health.reason


def test_two_lone_primaries_in_one_history_are_a_split_brain() -> None:
    snap = snapshot(
        seen(primary("galera-0", ("galera-0",), size=1)),
        seen(primary("galera-1", ("galera-1",), size=1, conf_id=7)),
    )
    # Disjoint Primary views, same history and conf id: a split brain, not "degraded".
    assert cluster_verdict(snap).verdict is Verdict.SPLIT_BRAIN


@pytest.mark.parametrize(
    ("snap", "expected"),
    [
        (one_crashed(), [True, True, False]),
        (garbd_cluster(("galera-0", "galera-1", "garbd")), [True, True, True]),
        (garbd_cluster(("galera-0", "galera-1")), [True, True, False]),
    ],
    ids=["one-crashed", "arbitrator-present", "arbitrator-absent"],
)
def test_member_verdicts_follow_the_snapshot_order(snap: Snapshot, expected: list[bool]) -> None:
    assert [v.healthy for v in cluster_verdict(snap).members] == expected
