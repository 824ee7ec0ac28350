"""Snapshot and Observation: the plain data every verdict is computed from."""

from __future__ import annotations

import pytest

from galera.domain.snapshot import Observation, Snapshot
from galera.errors import InvalidInput
from tests.unit.builders import arbitrator, primary, seen, snapshot, unreachable

VIEW = ("galera-0", "galera-1", "garbd")


@pytest.mark.parametrize(
    ("observation", "reachable", "weight"),
    [
        (seen(primary("galera-0", VIEW, weight=3), declared_weight=1), True, 3),
        (unreachable("galera-1", weight=2), False, 2),
        (arbitrator("garbd", weight=0), False, 0),
    ],
    ids=["reported-weight-wins", "declared-weight-when-unreachable", "arbitrator-declared"],
)
def test_observation_weight_prefers_what_the_member_reports(
    observation: Observation, reachable: bool, weight: int
) -> None:
    assert observation.reachable is reachable
    assert observation.weight == weight


def test_snapshot_sums_weights_and_separates_data_members() -> None:
    snap = snapshot(
        seen(primary("galera-0", VIEW, weight=2), declared_weight=1),
        unreachable("galera-1", weight=1),
        arbitrator("garbd", weight=1),
    )
    assert snap.names == VIEW
    assert snap.expected_weight == 4
    assert [o.name for o in snap.data_members] == ["galera-0", "galera-1"]
    assert [o.name for o in snap.reachable] == ["galera-0"]
    assert [m.arbitrator for m in snap.expected] == [False, False, True]
    assert list(snap) == list(snap.observations)


@pytest.mark.parametrize(
    ("snap", "expected"),
    [
        (snapshot(unreachable("galera-0")), "unknown member 'nope'; the cluster has galera-0"),
        (Snapshot(()), "unknown member 'nope'; the cluster has no members"),
    ],
    ids=["lists-known-members", "empty-cluster"],
)
def test_get_of_an_unknown_member_is_invalid_input(snap: Snapshot, expected: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        snap.get("nope")
    assert str(raised.value) == expected


def test_get_finds_a_member_by_name() -> None:
    snap = snapshot(unreachable("galera-0"), arbitrator("garbd"))
    assert snap.get("garbd").member.arbitrator is True
