"""A member ahead of the Primary component, or of another history, is never overwritten
implicitly: joining would replace its data by a full SST."""

from __future__ import annotations

from galera.domain import overwrite
from galera.domain.bootstrap import MemberReport
from galera.domain.grastate import Grastate
from galera.domain.position import Position
from tests.unit.builders import UUID_A, UUID_B, ZERO_UUID

PRIMARY = Position(UUID_A, 100)


def stopped(name: str, seqno: int, uuid: str = UUID_A) -> MemberReport:
    return MemberReport(name, grastate=Grastate("2.1", uuid, seqno, False))


def test_a_member_behind_or_level_joins_by_ist() -> None:
    assert overwrite.of(stopped("a", 60), PRIMARY) is None
    assert overwrite.of(stopped("a", 100), PRIMARY) is None


def test_a_member_ahead_would_lose_its_extra_transactions() -> None:
    loss = overwrite.of(stopped("a", 130), PRIMARY)
    assert loss is not None and loss.transactions == 30
    assert "a is ahead of the Primary component by 30 transaction(s)" in loss.reason


def test_a_member_of_another_history_would_lose_everything() -> None:
    loss = overwrite.of(stopped("a", 5, uuid=UUID_B), PRIMARY)
    assert loss is not None and loss.transactions is None
    assert "holds another history" in loss.reason


def test_empty_or_unknown_members_lose_nothing_known() -> None:
    empty = MemberReport("a", grastate=Grastate("2.1", ZERO_UUID, -1, False))
    unknown = MemberReport("b", error="agent unreachable")
    assert overwrite.losses([empty, unknown], PRIMARY) == []


def test_a_person_may_discard_by_name() -> None:
    reports = [stopped("a", 130), stopped("b", 5, uuid=UUID_B)]
    assert [loss.member for loss in overwrite.losses(reports, PRIMARY)] == ["a", "b"]
    assert [loss.member for loss in overwrite.losses(reports, PRIMARY, ["a"])] == ["b"]
