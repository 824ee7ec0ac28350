"""A refusal that holds is reported once, not every cycle (a refused plan used to be re-run
and re-reported with new Events each cycle)."""

from __future__ import annotations

from typing import Any

from galera.controller.loop import Watch
from galera.domain import autopilot, events
from galera.errors import UnsafeOperation


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
