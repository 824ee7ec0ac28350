"""From an agent's status answer to the member's report for a bootstrap decision."""

from __future__ import annotations

from typing import Any

import pytest

from galera.config.clusterfile import MemberSpec
from galera.controller.members import report_of
from galera.domain.position import Position
from tests.unit.builders import UUID_A, ZERO_UUID

MEMBER = MemberSpec("galera-0", "127.0.0.1", 3306, "http://127.0.0.1:8080")


def body(
    state: str = "running",
    *,
    wsrep: dict[str, Any] | None = None,
    grastate: dict[str, Any] | None = None,
    **process: Any,
) -> dict[str, Any]:
    return {
        "process": {"state": state, **process},
        "wsrep": wsrep,
        "grastate": grastate
        or {"present": True, "uuid": UUID_A, "seqno": -1, "safe_to_bootstrap": False},
    }


def non_primary(cluster_uuid: str, local_uuid: str, committed: int = 42) -> dict[str, Any]:
    return {
        "cluster_status": "non-Primary",
        "cluster_state_uuid": cluster_uuid,
        "local_state_uuid": local_uuid,
        "last_committed": committed,
    }


@pytest.mark.parametrize(
    ("answer", "position", "empty"),
    [
        (body(wsrep=non_primary(ZERO_UUID, UUID_A)), Position(UUID_A, 42), False),
        (body(wsrep=non_primary(UUID_A, ZERO_UUID)), Position(UUID_A, 42), False),
        # Nothing says which history it holds: unknown, and never "empty".
        (body(wsrep=non_primary(ZERO_UUID, ZERO_UUID)), None, False),
        (
            body(
                grastate={"present": True, "uuid": ZERO_UUID, "seqno": -1},
                joining_from=f"{UUID_A}:16",
                sst_interrupted=True,
            ),
            Position(UUID_A, 16),
            False,
        ),
    ],
    ids=[
        "non-primary-zero-cluster-uuid",
        "local-uuid-unknown",
        "both-uuids-zero",
        "joiner-waiting-for-a-donor",
    ],
)
def test_a_running_member_is_never_taken_for_empty(
    answer: dict[str, Any], position: Position | None, empty: bool
) -> None:
    report = report_of(MEMBER, answer, None)
    assert report.running
    assert report.error is None
    assert report.position == position
    assert report.empty is empty


def test_a_stopped_member_after_an_interrupted_transfer_has_no_position() -> None:
    report = report_of(MEMBER, body("stopped", sst_interrupted=True), None)
    assert report.position is None
    assert report.error == "a state transfer into it was interrupted; data incomplete"


def test_a_join_attempt_that_lost_its_donor_is_stalled_until_stopped() -> None:
    """Started in join mode, a state transfer begun (no untouched evidence), no Primary and
    no position while it runs: a bootstrap stops it first, then reads its position."""
    answer = body(wsrep=non_primary(ZERO_UUID, ZERO_UUID, -1), mode="join", join_touched=True)
    report = report_of(MEMBER, answer, None)
    assert report.stalled
    assert report.running
    assert report.position is None
    assert report.error is not None and "lost its donor" in report.error


def test_a_join_just_started_is_not_stalled() -> None:
    """No log line yet (a member re-forming the Primary by pc.recovery looks like this)."""
    answer = body(wsrep=non_primary(ZERO_UUID, ZERO_UUID, -1), mode="join", join_touched=False)
    assert not report_of(MEMBER, answer, None).stalled


def test_a_joined_member_outside_the_primary_keeps_its_position() -> None:
    report = report_of(MEMBER, body(wsrep=non_primary(ZERO_UUID, UUID_A), mode="join"), None)
    assert not report.stalled
    assert report.position == Position(UUID_A, 42)
