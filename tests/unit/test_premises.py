"""What a waiting step assumes, table-driven: None while it holds, the reason once it fails."""

from __future__ import annotations

import dataclasses

import pytest

from galera.domain import premises
from galera.domain.snapshot import Snapshot
from tests.unit.builders import (
    NAMES3,
    healthy,
    non_primary,
    one_crashed,
    primary,
    seen,
    snapshot,
    unreachable,
)

PAIR = ("galera-1", "galera-2")


def joiner_alone() -> Snapshot:
    """galera-0 joins while the last Primary members left: nothing is Primary any more."""
    return snapshot(*(seen(non_primary(n)) for n in NAMES3))


def all_down_but_joiner() -> Snapshot:
    return snapshot(seen(non_primary("galera-0")), unreachable("galera-1"), unreachable("galera-2"))


def resumed_stale() -> Snapshot:
    """Only a stale view is left Primary: galera-0 still believes in the old view."""
    return snapshot(
        seen(primary("galera-0", NAMES3, conf_id=5)),
        seen(primary("galera-1", PAIR, conf_id=6)),
        seen(primary("galera-2", PAIR, conf_id=6)),
    )


def with_agent(snap: Snapshot, name: str, state: str) -> Snapshot:
    observations = tuple(
        dataclasses.replace(o, agent={"process": {"state": state}}) if o.name == name else o
        for o in snap.observations
    )
    return dataclasses.replace(snap, observations=observations)


@pytest.mark.parametrize(
    ("snap", "broken"),
    [
        (healthy(), None),
        (one_crashed(), None),
        (resumed_stale(), None),
        (joiner_alone(), "no member is in a Primary component any more"),
        (all_down_but_joiner(), "nothing left to join"),
    ],
    ids=["healthy", "one-crashed", "stale-view-beside-primary", "all-non-primary", "all-gone"],
)
def test_joining_needs_a_primary_component(snap: Snapshot, broken: str | None) -> None:
    reason = premises.a_primary_exists(snap)
    if broken is None:
        assert reason is None
    else:
        assert reason is not None and broken in reason


@pytest.mark.parametrize(
    ("snap", "member", "broken"),
    [
        (healthy(), "galera-2", None),
        # The member being restarted is itself out: that is the step, not a failure.
        (one_crashed(), "galera-2", None),
        (one_crashed(), "galera-0", "galera-2 left the Primary component while galera-0"),
        (
            snapshot(seen(primary("galera-0", ("galera-0",))), *map(unreachable, PAIR)),
            "galera-2",
            "galera-1 left the Primary component",
        ),
        (joiner_alone(), "galera-0", "no member is in a Primary component any more"),
        (resumed_stale(), "galera-1", "galera-0 left the Primary component"),
    ],
    ids=[
        "healthy",
        "restarted-member-down",
        "another-member-down",
        "only-one-left",
        "no-primary",
        "another-in-a-stale-view",
    ],
)
def test_a_rolling_step_needs_the_others_to_stay_primary(
    snap: Snapshot, member: str, broken: str | None
) -> None:
    reason = premises.others_stay_primary(member)(snap)
    if broken is None:
        assert reason is None
    else:
        assert reason is not None and broken in reason


@pytest.mark.parametrize(
    ("state", "broken"),
    [
        ("running", None),
        ("recovering", None),
        ("stopped", "galera-0's server is not running (its agent reports stopped)"),
        ("backoff", "galera-0's server is not running (its agent reports backoff)"),
    ],
)
def test_a_bootstrap_needs_its_server_alive(state: str, broken: str | None) -> None:
    snap = with_agent(
        snapshot(unreachable("galera-0"), *(seen(non_primary(n)) for n in PAIR)), "galera-0", state
    )
    reason = premises.server_alive("galera-0")(snap)
    if broken is None:
        assert reason is None
    else:
        assert reason is not None and broken in reason


def test_a_bootstrap_premise_holds_while_the_member_answers_sql() -> None:
    assert premises.server_alive("galera-0")(joiner_alone()) is None
