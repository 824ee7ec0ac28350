"""A refusal that holds is reported once, not every cycle (a refused plan used to be re-run
and re-reported with new Events each cycle)."""

from __future__ import annotations

from typing import Any

from galera.controller.loop import Watch
from galera.domain import autopilot, events
from galera.errors import LeaseLost, UnsafeOperation


class Refusing:
    """A platform whose cluster cannot be read: every step fails the same way."""

    def __init__(self) -> None:
        self.message = "galera-0 is ahead of the Primary component by 30 transaction(s)"

    def spec(self) -> Any:
        raise UnsafeOperation(self.message)


def test_the_same_failure_is_reported_once_and_a_new_one_again() -> None:
    said: list[events.Event] = []
    platform = Refusing()
    watch = Watch(platform, autopilot.Grace(), said.append)  # type: ignore[arg-type]
    rejoin = autopilot.Decision(autopilot.Kind.REJOIN, "galera-0 down", ("galera-0",))
    for _ in range(3):
        assert watch._act(rejoin) is True
    assert [e.kind for e in said] == [events.Kind.FAILED]
    platform.message = "another reason"
    watch._act(rejoin)
    assert [e.details["error"] for e in said] == [
        "galera-0 is ahead of the Primary component by 30 transaction(s)",
        "another reason",
    ]


def test_the_no_primary_grace_counts_from_when_the_last_member_stopped() -> None:
    """Every data member down, each agent saying for how long: the outage began when the
    last one stopped (at the latest), not when the controller first looked. One member
    running, or an agent that did not see its member stop: unknown."""
    from pathlib import Path

    from galera.config.clusterfile import parse
    from galera.controller.loop import _last_stop
    from tests.unit.builders import cluster_yaml

    spec = parse(cluster_yaml(), Path("prod.yaml"))  # db-0, db-1 and an arbitrator
    down = {"db-0": {"stopped_for": 12.0}, "db-1": {"stopped_for": 7.5}}
    assert _last_stop(spec, down, now=100.0) == 92.5
    assert _last_stop(spec, {**down, "db-1": {"stopped_for": None}}, now=100.0) is None
    assert _last_stop(spec, {**down, "db-1": None}, now=100.0) is None


class Routing:
    """A platform that records how the controller routes writes."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.lost = False

    def route_writer(self, member: str | None, moved: bool = False) -> None:
        self.calls.append(("route", member, moved))
        if self.lost:
            raise LeaseLost("the lease was lost: stopping before changing the cluster")


def test_stray_writer_flags_are_cleared_before_the_route_and_a_lost_lease_ends_the_cycle(
    monkeypatch: Any,
) -> None:
    """A stray flag cleared first: a proxy whose check passed once on the stray member
    would otherwise take it back in (``rise 1``) after the route took it out. Each cycle
    only keeps the route (``moved`` is for a switchover)."""
    from galera.controller import loop

    platform = Routing()
    monkeypatch.setattr(
        loop.writer,
        "clear_flags",
        lambda _platform, names, _emit: platform.calls.append(("clear", tuple(names))),
    )
    watch = Watch(platform, autopilot.Grace(), lambda _e: None)  # type: ignore[arg-type]
    observed = autopilot.Observed(
        members=("galera-0", "galera-1"),
        primary_members=("galera-0", "galera-1"),
        split_brain=False,
        unreachable_agents=(),
        no_primary_for=0.0,
        down_for={},
        writer="galera-0",
        flagged=("galera-0", "galera-1"),
    )
    assert watch._route_writer(observed) is True
    assert platform.calls == [("clear", ("galera-1",)), ("route", "galera-0", False)]
    platform.lost = True
    assert watch._route_writer(observed) is False
