"""One agent's share of the cluster's lease: granted to one holder at a time, ended by the
agent's own monotonic clock, honoured across a restart, and the fence a change passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from galera.agent.lease import Leases
from galera.errors import InvalidInput, UnsafeOperation


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ask(leases: Leases, holder: str, seconds: float = 15, force: bool = False) -> bool:
    return leases.acquire({"holder": holder, "seconds": seconds, "force": force})[0]


def test_one_holder_at_a_time_until_its_grant_ends_by_this_clock(tmp_path: Path) -> None:
    clock = Clock()
    leases = Leases(tmp_path / "lease.json", clock)
    assert ask(leases, "controller-a")
    granted, answer = leases.acquire({"holder": "controller-b", "seconds": 15})
    assert not granted and answer == {"granted": False, "holder": "controller-a", "remaining": 15}
    clock.now += 10
    assert ask(leases, "controller-a")  # renewed: 15 s from now again
    clock.now += 14
    assert not ask(leases, "controller-b")
    clock.now += 1.5  # no renewal for a whole term
    assert ask(leases, "controller-b")
    assert leases.state() == {"holder": "controller-b", "remaining": 15}


def test_force_takes_it_and_the_old_holder_is_fenced(tmp_path: Path) -> None:
    leases = Leases(tmp_path / "lease.json", Clock())
    assert ask(leases, "controller-a")
    assert ask(leases, "galeractl rejoin by root@vm1", force=True)
    leases.admit("galeractl rejoin by root@vm1")
    with pytest.raises(UnsafeOperation, match="fenced: controller-a does not hold"):
        leases.admit("controller-a")
    leases.admit(None)  # a request naming nobody (a person's curl) is not fenced


def test_an_expired_holder_is_fenced_even_when_nobody_took_over(tmp_path: Path) -> None:
    clock = Clock()
    leases = Leases(None, clock)
    assert ask(leases, "controller-a", seconds=5)
    leases.admit("controller-a")
    clock.now += 5
    with pytest.raises(UnsafeOperation, match="nobody holds it now"):
        leases.admit("controller-a")


def test_release_is_only_the_holders(tmp_path: Path) -> None:
    leases = Leases(tmp_path / "lease.json", Clock())
    assert ask(leases, "controller-a")
    assert leases.release({"holder": "controller-b"}) == {"released": False}
    assert leases.release({"holder": "controller-a"}) == {"released": True}
    assert not (tmp_path / "lease.json").exists()
    assert ask(leases, "controller-b")


def test_a_restarted_agent_honours_the_grant_for_a_whole_term(tmp_path: Path) -> None:
    path = tmp_path / "lease.json"
    assert ask(Leases(path, Clock()), "controller-a", seconds=20)
    clock = Clock()
    clock.now = 5.0  # a new process: its monotonic clock has nothing to do with the old one
    again = Leases(path, clock)
    assert again.state() == {"holder": "controller-a", "remaining": 20}
    assert not ask(again, "controller-b")
    clock.now += 20
    assert ask(again, "controller-b")


def test_a_corrupt_record_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "lease.json"
    path.write_text("{not json")
    assert Leases(path, Clock()).state() is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"seconds": 15}, "holder: must be 1 to 200 printable characters"),
        ({"holder": "x\n", "seconds": 15}, "holder: must be 1 to 200 printable"),
        ({"holder": "a", "seconds": 0}, "seconds: must be from 1 to 300, got 0"),
        ({"holder": "a", "seconds": "15"}, "seconds: must be a number"),
        ({"holder": "a", "seconds": True}, "seconds: must be a number"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    tmp_path: Path, body: dict[str, object], message: str
) -> None:
    leases = Leases(tmp_path / "lease.json", Clock())
    with pytest.raises(InvalidInput, match=message):
        leases.acquire(body)
    assert leases.state() is None and not (tmp_path / "lease.json").exists()
