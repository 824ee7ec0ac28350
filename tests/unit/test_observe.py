"""What a reading of one member becomes in a snapshot (pure: no member is contacted)."""

from __future__ import annotations

from pathlib import Path

from galera import observe
from galera.config.clusterfile import ClusterSpec, MemberSpec
from galera.errors import AccessDenied, MemberUnreachable
from tests.unit import builders

DB0 = MemberSpec("galera-0", host="10.0.0.1", port=3306, agent="http://10.0.0.1:8008")


def test_a_member_that_answered_is_observed_without_its_agent() -> None:
    status = builders.primary("galera-0", ("galera-0",))
    o = observe.observation(observe.Reading(DB0, status=status, agent={"process": {}}))
    assert o.status is status and o.error is None and o.agent is None
    assert (o.host, o.port) == ("10.0.0.1", 3306)


def test_a_member_sql_cannot_read_carries_the_error_its_kind_and_the_agents_view() -> None:
    agent = {"process": {"state": "stopped"}, "grastate": {"present": True}}
    error = MemberUnreachable("cannot reach SQL at 10.0.0.1:3306")
    o = observe.observation(observe.Reading(DB0, error=error, agent=agent))
    assert (o.error, o.error_kind, o.agent) == (error.message, "MemberUnreachable", agent)


def test_hints_are_in_the_controllers_errors_and_not_in_the_exporters() -> None:
    error = AccessDenied("access denied at 10.0.0.1:3306", hint="wrong user or password")
    reading = observe.Reading(DB0, error=error)
    assert observe.observation(reading).error == f"{error.message} (wrong user or password)"
    assert observe.observation(reading, hints=False).error == error.message


def test_an_arbitrator_is_never_read() -> None:
    garbd = MemberSpec("garbd", host="10.0.0.9", port=0, arbitrator=True)
    o = observe.observation(observe.Reading(garbd))
    assert o.member.arbitrator and o.status is None and o.error is None and o.host == "10.0.0.9"


def spec_with(connect_timeout: float) -> ClusterSpec:
    return ClusterSpec(Path("c.yaml"), "c", (DB0,), connect_timeout=connect_timeout)


def test_the_agent_answers_before_a_silent_sql_times_out() -> None:
    spec = spec_with(2.0)
    assert observe.agent_deadline(spec) + observe.AGENT_TIMEOUT <= spec.connect_timeout


def test_with_a_short_connect_timeout_the_agent_is_still_not_asked_at_once() -> None:
    assert observe.agent_deadline(spec_with(0.5)) == observe.AGENT_GRACE
