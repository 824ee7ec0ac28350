"""``galeractl agent --start new-cluster`` forms a new Primary component without a mark: only
where that cannot split a history or lose data (issue 12). Table-driven, plain data."""

from __future__ import annotations

import pytest

from galera.domain import newcluster
from galera.domain.grastate import Grastate
from tests.unit.builders import UUID_A, ZERO_UUID


def state(seqno: int = 42, safe: bool = True, uuid: str = UUID_A) -> Grastate:
    return Grastate("2.1", uuid, seqno, safe)


@pytest.mark.parametrize(
    ("grastate", "pristine", "interrupted", "answering", "reason"),
    [
        pytest.param(
            state(safe=False),
            False,
            False,
            (),
            "Galera did not mark it safe_to_bootstrap",
            id="not-the-last-to-leave",
        ),
        pytest.param(
            state(seqno=-1),
            False,
            False,
            (),
            "its position is unknown (grastate.dat seqno -1",
            id="crashed-position-unknown",
        ),
        pytest.param(
            None, False, False, (), "data but no grastate.dat", id="data-without-grastate"
        ),
        pytest.param(
            state(seqno=-1, safe=False, uuid=ZERO_UUID),
            False,
            False,
            (),
            "grastate.dat holds no history (the zero UUID: a discarded member",
            id="discarded-data",
        ),
        pytest.param(
            state(),
            False,
            True,
            (),
            "a state transfer into this member was interrupted",
            id="interrupted-transfer",
        ),
        pytest.param(
            state(),
            False,
            False,
            ("galera-1 (127.0.0.1:4567)",),
            "galera-1 (127.0.0.1:4567) answers on its Galera port",
            id="last-to-leave-but-a-peer-runs",
        ),
        pytest.param(
            None,
            True,
            False,
            ("galera-1 (127.0.0.1:4567)", "galera-2 (127.0.0.1:4568)"),
            "galera-1 (127.0.0.1:4567), galera-2 (127.0.0.1:4568) answer on their Galera port",
            id="empty-but-peers-run",
        ),
    ],
)
def test_new_cluster_is_refused_where_it_could_split_a_history(
    grastate: Grastate | None,
    pristine: bool,
    interrupted: bool,
    answering: tuple[str, ...],
    reason: str,
) -> None:
    verdict = newcluster.verdict(grastate, pristine, interrupted, answering)
    assert not verdict.allowed
    assert reason in verdict.reason
    assert "galeractl bootstrap" in verdict.reason or "join" in verdict.reason


@pytest.mark.parametrize(
    ("grastate", "pristine", "reason"),
    [
        pytest.param(None, True, "an empty data directory", id="brand-new"),
        pytest.param(
            state(seqno=-1, safe=False, uuid=ZERO_UUID),
            True,
            "an empty data directory",
            id="empty-grastate-of-a-join-that-found-nobody",
        ),
        pytest.param(
            state(seqno=42),
            False,
            f"the last member to leave the cluster, cleanly, at {UUID_A}:42",
            id="last-to-leave-cleanly",
        ),
    ],
)
def test_new_cluster_is_allowed_where_nothing_can_split(
    grastate: Grastate | None, pristine: bool, reason: str
) -> None:
    verdict = newcluster.verdict(grastate, pristine, False, ())
    assert verdict.allowed
    assert reason in verdict.reason
    assert "no other member answers" in verdict.reason


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        ("10.0.0.2:4567", ("10.0.0.2", 4567)),
        ("10.0.0.2", ("10.0.0.2", 4567)),
        ("galera-1.galera-peers.db.svc", ("galera-1.galera-peers.db.svc", 4567)),
        ("db-1:23302", ("db-1", 23302)),
        ("[fd00::2]:4567", ("fd00::2", 4567)),
        ("[fd00::2]", ("fd00::2", 4567)),
    ],
    ids=["ip-port", "ip", "dns", "dns-port", "ipv6-port", "ipv6"],
)
def test_peer_addresses_default_to_the_galera_port(peer: str, expected: tuple[str, int]) -> None:
    assert newcluster.address(peer) == expected


def test_the_member_itself_is_not_a_peer() -> None:
    peers = ("127.0.0.1:23300", "127.0.0.1:23310", "127.0.0.1:23320")
    assert newcluster.others(peers, "127.0.0.1", 23310) == [
        ("127.0.0.1", 23300),
        ("127.0.0.1", 23320),
    ]
