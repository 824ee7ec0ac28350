"""The controller's decision for one cycle: wait, rejoin, bootstrap or alert."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from galera.domain.autopilot import Decision, Grace, Kind, Observed, decide

NAMES = ("galera-0", "galera-1", "galera-2")
GRACE = Grace(no_primary=30.0, member_down=20.0)


def observed(**changes: Any) -> Observed:
    """A healthy cycle: every member in the Primary component, nothing down."""
    values: dict[str, Any] = {
        "members": NAMES,
        "primary_members": NAMES,
        "split_brain": False,
        "unreachable_agents": (),
        "no_primary_for": 0.0,
        "down_for": {},
    }
    values.update(changes)
    return Observed(**values)


def no_primary(**changes: Any) -> Observed:
    """Every member up but none in a Primary component (e.g. after a full power loss)."""
    return observed(primary_members=(), **changes)


# --- split brain --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cycle",
    [
        observed(split_brain=True),
        observed(split_brain=True, down_for={"galera-2": 600.0}),
        no_primary(split_brain=True, no_primary_for=600.0),
        no_primary(split_brain=True, no_primary_for=600.0, unreachable_agents=("galera-1",)),
    ],
    ids=["with-primary", "with-primary-and-overdue-member", "no-primary-long", "agent-down"],
)
def test_split_brain_only_alerts(cycle: Observed) -> None:
    decision = decide(cycle, GRACE)
    assert decision.kind is Kind.ALERT
    assert decision.reason.startswith("split brain")
    assert "a person must decide" in decision.reason
    assert decision.members == ()


# --- a Primary component runs -------------------------------------------------------------


def test_healthy_cluster_waits() -> None:
    assert decide(observed(), GRACE) == Decision(Kind.WAIT, "healthy")


@pytest.mark.parametrize(
    ("down_for", "named"),
    [
        ({"galera-2": 0.0}, "galera-2 down"),
        ({"galera-2": 19.9}, "galera-2 down"),
        ({"galera-2": 5.0, "galera-1": 1.0}, "galera-1, galera-2 down"),
    ],
    ids=["just-down", "just-under-grace", "two-members-sorted"],
)
def test_member_down_within_grace_waits_naming_it(down_for: dict[str, float], named: str) -> None:
    decision = decide(observed(primary_members=("galera-0",), down_for=down_for), GRACE)
    assert decision.kind is Kind.WAIT
    assert decision.reason.startswith(named)
    assert "waiting 20s before rejoining" in decision.reason
    assert decision.members == ()


@pytest.mark.parametrize(
    ("down_for", "rejoined"),
    [
        ({"galera-2": 20.0}, ("galera-2",)),
        ({"galera-2": 300.0}, ("galera-2",)),
        ({"galera-2": 25.0, "galera-1": 21.0}, ("galera-1", "galera-2")),
        ({"galera-2": 25.0, "galera-1": 3.0}, ("galera-2",)),
    ],
    ids=["exactly-grace", "long-down", "two-sorted", "only-overdue-ones"],
)
def test_member_down_for_the_grace_is_rejoined(
    down_for: dict[str, float], rejoined: tuple[str, ...]
) -> None:
    decision = decide(observed(primary_members=("galera-0",), down_for=down_for), GRACE)
    assert decision.kind is Kind.REJOIN
    assert decision.members == rejoined
    assert decision.reason.startswith(", ".join(rejoined) + " down for at least 20s")
    assert "while a Primary component runs: rejoining" in decision.reason


def test_a_member_whose_agent_is_unreachable_does_not_keep_the_others_down() -> None:
    """(Found by the nemesis: one agent cut off from the controller kept a crashed member
    down until the cut healed.)"""
    down = {"galera-1": 60.0, "galera-2": 30.0}
    cut = observed(primary_members=("galera-0",), down_for=down, unreachable_agents=("galera-1",))
    decision = decide(cut, GRACE)
    assert decision.kind is Kind.REJOIN and decision.members == ("galera-2",)
    alone = observed(
        primary_members=("galera-0",), down_for={"galera-1": 60.0}, unreachable_agents=("galera-1",)
    )
    waiting = decide(alone, GRACE)
    assert waiting.kind is Kind.WAIT
    assert waiting.reason == (
        "galera-1 down and its agent unreachable: waiting for the agent to answer before rejoining"
    )


def test_the_default_grace_applies_when_none_is_given() -> None:
    cycle = observed(primary_members=("galera-0",), down_for={"galera-2": 20.0})
    assert decide(cycle).kind is Kind.REJOIN
    assert decide(no_primary(no_primary_for=29.0)).kind is Kind.WAIT


# --- no Primary component -----------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds",
    [0.0, 10.0, 29.9],
    ids=["just-lost", "ten-seconds", "just-under-grace"],
)
def test_no_primary_within_grace_waits_for_pc_recovery(seconds: float) -> None:
    decision = decide(no_primary(no_primary_for=seconds), GRACE)
    assert decision.kind is Kind.WAIT
    assert "pc.recovery" in decision.reason
    assert f"no Primary component for {seconds:.0f}s; waiting 30s" in decision.reason


@pytest.mark.parametrize(
    "agents",
    [("galera-1",), ("galera-0", "galera-2")],
    ids=["one-agent", "two-agents"],
)
def test_no_primary_with_an_unreachable_agent_waits_and_never_bootstraps(
    agents: tuple[str, ...],
) -> None:
    decision = decide(no_primary(no_primary_for=3600.0, unreachable_agents=agents), GRACE)
    assert decision.kind is Kind.WAIT
    assert ", ".join(agents) in decision.reason
    assert "not bootstrapping without every member's position" in decision.reason


@pytest.mark.parametrize("seconds", [30.0, 3600.0], ids=["exactly-grace", "an-hour"])
def test_no_primary_long_enough_with_every_agent_bootstraps(seconds: float) -> None:
    decision = decide(no_primary(no_primary_for=seconds), GRACE)
    assert decision.kind is Kind.BOOTSTRAP
    assert "every agent answers: bootstrapping from the most advanced member" in decision.reason
    assert f"no Primary component for {seconds:.0f}s" in decision.reason


# --- invariant: never bootstrap while a Primary component exists --------------------------

names = st.sampled_from(NAMES)
name_tuples = st.lists(names, unique=True, max_size=3).map(tuple)
seconds = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)


@given(
    primary_members=st.lists(names, unique=True, min_size=1, max_size=3).map(tuple),
    split=st.booleans(),
    unreachable=name_tuples,
    no_primary_for=seconds,
    down_for=st.dictionaries(names, seconds, max_size=3),
    grace_no_primary=seconds,
    grace_member_down=seconds,
)
def test_never_bootstraps_while_a_member_is_primary(
    primary_members: tuple[str, ...],
    split: bool,
    unreachable: tuple[str, ...],
    no_primary_for: float,
    down_for: dict[str, float],
    grace_no_primary: float,
    grace_member_down: float,
) -> None:
    cycle = observed(
        primary_members=primary_members,
        split_brain=split,
        unreachable_agents=unreachable,
        no_primary_for=no_primary_for,
        down_for=down_for,
    )
    decision = decide(cycle, Grace(grace_no_primary, grace_member_down))
    assert decision.kind is not Kind.BOOTSTRAP
    assert decision.reason


@given(
    split=st.booleans(),
    primary_members=name_tuples,
    unreachable=st.lists(names, unique=True, min_size=1, max_size=3).map(tuple),
    no_primary_for=seconds,
)
def test_never_bootstraps_while_an_agent_is_unreachable(
    split: bool,
    primary_members: tuple[str, ...],
    unreachable: tuple[str, ...],
    no_primary_for: float,
) -> None:
    cycle = observed(
        primary_members=primary_members,
        split_brain=split,
        unreachable_agents=unreachable,
        no_primary_for=no_primary_for,
    )
    assert decide(cycle, GRACE).kind is not Kind.BOOTSTRAP


# --- the designated writer ---------------------------------------------------------------


def without_writer(down: float, **changes: Any) -> Observed:
    """galera-0, the writer, out of the Primary component for ``down`` seconds."""
    return observed(
        primary_members=NAMES[1:], down_for={"galera-0": down}, writer="galera-0", **changes
    )


def test_a_writer_out_of_the_primary_component_past_its_grace_has_its_writes_moved() -> None:
    decision = decide(without_writer(6.0), GRACE)
    assert decision == Decision(
        Kind.SWITCHOVER,
        "galera-0, the writer, out of the Primary component for 6s: moving the writes to "
        "the best member in it",
        ("galera-0",),
    )


def test_the_writes_move_before_the_writer_itself_is_rejoined() -> None:
    assert decide(without_writer(60.0), GRACE).kind is Kind.SWITCHOVER


def test_within_the_writer_grace_the_controller_waits() -> None:
    decision = decide(without_writer(4.0), GRACE)
    assert decision.kind is Kind.WAIT and "galera-0 down" in decision.reason


@pytest.mark.parametrize(
    "cycle",
    [
        observed(writer="galera-0", down_for={"galera-1": 60.0}, primary_members=NAMES[::2]),
        observed(writer="galera-9", down_for={}),  # a writer no longer in the cluster file
        without_writer(60.0, split_brain=True),
        no_primary(writer="galera-0", down_for={"galera-0": 60.0}, no_primary_for=5.0),
    ],
    ids=["another-member-down", "unknown-writer", "split-brain", "no-primary"],
)
def test_the_writes_are_not_moved_when_the_writer_is_not_the_one_out(cycle: Observed) -> None:
    assert decide(cycle, GRACE).kind is not Kind.SWITCHOVER


def joined_writer(unready_for: float, **changes: Any) -> Observed:
    """galera-0, the writer, in the Primary component but Joined for ``unready_for`` s."""
    return observed(
        writer="galera-0", writer_unready="is Joined", writer_unready_for=unready_for, **changes
    )


def test_a_writer_in_the_component_but_not_synced_past_its_grace_has_its_writes_moved() -> None:
    assert decide(joined_writer(6.0), GRACE) == Decision(
        Kind.SWITCHOVER,
        "galera-0, the writer, is Joined (neither Synced nor a Donor) for 6s: moving the "
        "writes to the best Synced member",
        ("galera-0",),
    )
    assert decide(joined_writer(4.0), GRACE) == Decision(Kind.WAIT, "healthy")
    assert decide(joined_writer(60.0, split_brain=True), GRACE).kind is Kind.ALERT


# --- when the next cycle is due -----------------------------------------------------------


@pytest.mark.parametrize(
    ("cycle", "due"),
    [
        (observed(), None),
        (no_primary(no_primary_for=12.0), 18.0),
        (no_primary(no_primary_for=31.0), None),  # over: acted on now, not waited for
        (observed(primary_members=NAMES[:2], down_for={"galera-2": 15.0}), 5.0),
        (without_writer(3.5), 1.5),  # the writer's grace ends before its rejoin grace
        (joined_writer(2.0), 3.0),
    ],
    ids=["healthy", "no-primary", "no-primary-over", "member-down", "writer-down", "joined"],
)
def test_the_next_cycle_is_due_when_the_first_running_grace_ends(
    cycle: Observed, due: float | None
) -> None:
    from galera.domain.autopilot import due_in

    assert due_in(cycle, Grace(no_primary=30.0, member_down=20.0, writer_down=5.0)) == due


@pytest.mark.parametrize(
    ("state", "comment", "expected"),
    [
        ("3", "Joined", "is Joined"),
        ("1", "Joining", "is Joining"),
        ("2", "Donor/Desynced", None),  # a Donor still takes writes (the agent's check too)
        ("4", "Synced", None),
    ],
)
def test_the_controller_sees_a_writer_that_is_neither_synced_nor_a_donor(
    state: str, comment: str, expected: str | None
) -> None:
    from galera.controller.loop import writer_unready
    from tests.unit.builders import primary, seen, snapshot

    component = NAMES[:3]
    taken = snapshot(
        seen(
            primary(
                "galera-0", component, wsrep_local_state=state, wsrep_local_state_comment=comment
            )
        ),
        *(seen(primary(n, component)) for n in component[1:]),
    )
    assert writer_unready(taken, "galera-0", component) == expected
    assert writer_unready(taken, "galera-1", component) is None
    assert writer_unready(taken, "galera-0", component[1:]) is None  # out: failover as before
    assert writer_unready(taken, None, component) is None
