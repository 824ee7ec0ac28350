"""``galeractl reinit`` without a database: when a member's data may be emptied, the donor,
and the agent's emptying of a data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from galera.agent.datadir import DataDir
from galera.domain.overwrite import Loss
from galera.domain.reinit import Plan, plan
from galera.errors import InvalidInput
from tests.unit.builders import (
    NAMES3,
    arbitrator,
    healthy,
    non_primary,
    one_crashed,
    primary,
    seen,
    snapshot,
)


def test_a_synced_member_is_reinitialised_from_a_member_that_is_not_the_writer() -> None:
    assert plan(healthy(), "galera-0", None, "galera-2", None) == Plan(
        "galera-0", "galera-1", True, "galera-1: Synced, not the writer"
    )
    assert plan(healthy(), "galera-0", "galera-2", "galera-2", None) == Plan(
        "galera-0", "galera-2", True, "galera-2 was asked for"
    )


def test_a_crashed_member_is_reinitialised_without_a_quorum_question() -> None:
    assert plan(one_crashed(), "galera-2", None, None, None) == Plan(
        "galera-2", "galera-1", False, "galera-1: Synced"
    )


def test_refused_when_quorum_would_break() -> None:
    pair = NAMES3[:2]
    two = snapshot(*(seen(primary(n, pair)) for n in pair))
    refusal = plan(two, "galera-0", None, None, None)
    assert isinstance(refusal, str)
    assert refusal.startswith("quorum would break: without galera-0 (weight 1)")


def test_refused_for_the_only_synced_member_and_without_a_primary_component() -> None:
    alone = snapshot(
        seen(primary("galera-0", ("galera-0",))),
        seen(non_primary("galera-1")),
        seen(non_primary("galera-2")),
    )
    assert plan(alone, "galera-0", None, None, None) == (
        "no member other than galera-0 is Synced in the Primary component: galera-0 alone "
        "holds the latest state and nobody could give it back"
    )
    nobody = snapshot(*(seen(non_primary(n)) for n in NAMES3))
    refusal = plan(nobody, "galera-1", None, None, None)
    assert isinstance(refusal, str) and "no Primary component" in refusal


def test_refused_for_a_member_ahead_of_the_primary_component_but_not_for_another_history() -> None:
    ahead = Loss("galera-2", "galera-2 is ahead of the Primary component by 3 transaction(s)", 3)
    refusal = plan(one_crashed(), "galera-2", None, None, ahead)
    assert isinstance(refusal, str)
    assert refusal.startswith("galera-2 is ahead of the Primary component by 3")
    assert "galeractl rejoin --discard galera-2" in refusal
    other = Loss("galera-2", "galera-2 holds another history")
    assert isinstance(plan(one_crashed(), "galera-2", None, None, other), Plan)


def test_refused_while_the_member_serves_a_transfer_or_a_backup() -> None:
    snap = snapshot(
        seen(
            primary(
                "galera-0",
                NAMES3,
                wsrep_local_state="2",
                wsrep_local_state_comment="Donor/Desynced",
                wsrep_desync="ON",
            )
        ),
        *(seen(primary(n, NAMES3)) for n in NAMES3[1:]),
    )
    assert plan(snap, "galera-0", None, None, None) == (
        "galera-0 is serving a state transfer or a backup (Donor/Desynced): reinit it once "
        "that ends"
    )


def test_bad_donors_and_members_are_refused() -> None:
    assert plan(healthy(), "galera-0", "galera-0", None, None) == (
        "galera-0 cannot be its own donor"
    )
    joining = snapshot(
        *(seen(primary(n, NAMES3)) for n in NAMES3[:2]),
        seen(
            primary("galera-2", NAMES3, wsrep_local_state="1", wsrep_local_state_comment="Joiner")
        ),
    )
    assert plan(joining, "galera-0", "galera-2", None, None) == (
        "donor galera-2 is not Synced in the Primary component"
    )
    with pytest.raises(InvalidInput, match="unknown member 'galera-9'"):
        plan(healthy(), "galera-0", "galera-9", None, None)
    with pytest.raises(InvalidInput, match="unknown member 'nope'"):
        plan(healthy(), "nope", None, None, None)
    with_garbd = snapshot(*healthy().observations, arbitrator())
    assert plan(with_garbd, "garbd", None, None, None) == (
        "garbd is an arbitrator: it holds no data to reinitialise"
    )


def test_emptying_keeps_the_directory_the_error_log_and_lost_and_found(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data", tmp_path / "run", "galera-0")
    (data.datadir / "mysql").mkdir(parents=True)
    (data.datadir / "mysql" / "user.MAI").write_bytes(b"u" * 100)
    (data.datadir / "ibdata1").write_bytes(b"\0" * 1000)
    data.grastate_path.write_text("# GALERA saved state\n")
    (data.datadir / "lost+found").mkdir()
    log = data.datadir / "mariadbd.err"
    log.write_text("kept\n")
    entries, size = data.empty(frozenset({log}))
    assert (entries, size) == (3, 1100 + len("# GALERA saved state\n"))
    assert sorted(p.name for p in data.datadir.iterdir()) == ["lost+found", "mariadbd.err"]
    assert data.pristine()


def test_the_transfer_is_reported_as_it_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    from galera.controller import reinit as workflow

    said: list[dict[str, object]] = []
    monkeypatch.setattr(workflow, "PROGRESS_EVERY", 0.0)
    report = workflow._progress("galera-2", "galera-1", lambda e: said.append(e.as_dict()))
    report(one_crashed())  # galera-2's server prepares: no SQL yet
    joiner = primary("galera-2", NAMES3, wsrep_local_state="1", wsrep_local_state_comment="Joiner")
    report(snapshot(*one_crashed().observations[:2], seen(joiner)))
    assert [(e["event"], e["member"], e["state"], e["donor"]) for e in said] == [
        ("transfer", "galera-2", "unreachable", "galera-1"),
        ("transfer", "galera-2", "Joiner", "galera-1"),
    ]
