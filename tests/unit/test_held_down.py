"""Members the controller holds down (starting them would overwrite data only they hold): said
once while it holds, published as ``galera_member_held_down{member,reason}`` until the member
runs again. The controller never discards; it alerts (issue 12)."""

from __future__ import annotations

from galera.domain import events, overwrite
from galera.domain.events import Kind
from galera.exporter.held import HeldDown
from tests.unit.builders import one_crashed


def held_down(member: str, cause: str, reason: str = "it holds writes") -> events.Event:
    return events.of(Kind.HELD_DOWN, member=member, reason=reason, cause=cause)


def test_the_cause_of_a_loss_is_a_label_value() -> None:
    assert overwrite.Loss("a", "ahead", 30).cause == "ahead_of_primary"
    assert overwrite.Loss("a", "another history").cause == "other_history"


def test_a_hold_down_is_said_once_while_it_holds_and_again_when_its_cause_changes() -> None:
    said: list[events.Event] = []
    emit = HeldDown().recording(said.append)
    for seqno in (130, 131, 132):  # each cycle refuses again, the numbers move
        emit(held_down("galera-2", "ahead_of_primary", f"ahead by {seqno - 100}"))
    emit(events.of(Kind.DECISION, reason="rejoining", action="rejoin"))
    emit(held_down("galera-2", "other_history"))
    assert [(e.kind, e.details.get("cause")) for e in said] == [
        (Kind.HELD_DOWN, "ahead_of_primary"),
        (Kind.DECISION, None),
        (Kind.HELD_DOWN, "other_history"),
    ]


def test_a_member_galeractl_starts_or_discards_is_no_longer_held() -> None:
    held = HeldDown()
    said: list[events.Event] = []
    emit = held.recording(said.append)
    emit(held_down("galera-1", "ahead_of_primary"))
    emit(held_down("galera-2", "other_history"))
    emit(events.of(Kind.DISCARDED, member="galera-1", reason="a person said so"))
    emit(events.of(Kind.STARTED, member="galera-2", mode="join"))
    assert held.held() == {}
    emit(held_down("galera-2", "other_history"))  # held again: said again
    assert [e.kind for e in said].count(Kind.HELD_DOWN) == 3


def test_a_member_that_runs_again_is_released_and_one_still_down_stays_held() -> None:
    """However it came back (a person's rejoin --discard elsewhere), a member whose server
    answers is not held down; galera-2 of this snapshot is still down."""
    held = HeldDown()
    emit = held.recording(lambda _e: None)
    emit(held_down("galera-1", "ahead_of_primary"))
    emit(held_down("galera-2", "other_history"))
    assert held.current(one_crashed()) == {"galera-2": "other_history"}
    assert held.held() == {"galera-2": "other_history"}


def test_the_controllers_metrics_publish_each_held_member_with_its_reason() -> None:
    held = HeldDown()
    held.recording(lambda _e: None)(held_down("galera-2", "ahead_of_primary"))
    family = held.family(one_crashed(), {"cluster": "prod"})
    assert family.name == "galera_member_held_down"
    assert [(s.labels, s.value) for s in family.samples] == [
        ({"cluster": "prod", "member": "galera-2", "reason": "ahead_of_primary"}, 1.0)
    ]
