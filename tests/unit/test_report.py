"""status_report: the JSON document behind ``galeractl status -o json``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from galera.domain.report import status_report
from galera.domain.snapshot import Snapshot
from tests.unit.builders import (
    NAMES3,
    UUID_A,
    arbitrator,
    healthy,
    non_primary,
    one_crashed,
    primary,
    seen,
    snapshot,
    unreachable,
)


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in report["members"]}


@pytest.mark.parametrize(
    ("snap", "verdict", "expected_size", "size", "margin"),
    [
        (healthy(), "healthy", 3, 3, {"members": 1, "weight": 1}),
        (one_crashed(), "degraded", 3, 2, {"members": 0, "weight": 0}),
        (
            snapshot(*(seen(non_primary(n)) for n in NAMES3)),
            "non_primary",
            3,
            0,
            {"members": None, "weight": None},
        ),
        (
            snapshot(*(unreachable(n) for n in NAMES3)),
            "down",
            3,
            0,
            {"members": None, "weight": None},
        ),
    ],
    ids=["healthy", "one-crashed", "non-primary", "down"],
)
def test_cluster_section_has_verdict_sizes_and_margins(
    snap: Snapshot, verdict: str, expected_size: int, size: int, margin: dict[str, Any]
) -> None:
    cluster = status_report(snap)["cluster"]
    assert cluster["verdict"] == verdict
    assert cluster["expected_size"] == expected_size
    assert cluster["size"] == size
    assert cluster["quorum_margin"] == margin
    assert cluster["name"] == "prod"
    assert cluster["taken_at"] == snap.taken_at


def test_reachable_member_row_has_its_status() -> None:
    row = by_name(status_report(one_crashed()))["galera-0"]
    assert row["name"] == "galera-0"
    assert row["role"] == "data"
    assert row["host"] == "galera-0.db.internal"
    assert row["port"] == 3306
    assert row["reachable"] is True
    assert row["cluster_status"] == "Primary"
    assert row["local_state"] == 4
    assert row["last_committed"] == 1
    assert row["cluster_state_uuid"] == UUID_A
    assert row["ready"] is True
    assert row["healthy"] is True
    assert row["cluster_size"] == 2


def test_unreachable_member_row_has_the_error_and_no_status() -> None:
    row = by_name(status_report(one_crashed()))["galera-2"]
    assert row["reachable"] is False
    assert row["error"] == "connection refused"
    assert row["host"] == "10.0.0.99"
    for key in ("cluster_status", "local_state", "last_committed", "cluster_state_uuid", "ready"):
        assert row[key] is None, key
    assert row["evs_delayed"] == []
    assert row["healthy"] is False
    assert row["reason"] == "unreachable: connection refused"
    assert row["weight"] == 1


@pytest.mark.parametrize(
    ("view", "reachable", "verdict"),
    [
        (("galera-0", "galera-1", "garbd"), True, "healthy"),
        (("galera-0", "galera-1"), False, "degraded"),
    ],
    ids=["in-view", "missing"],
)
def test_arbitrator_is_reachable_when_the_primary_view_has_it(
    view: tuple[str, ...], reachable: bool, verdict: str
) -> None:
    snap = snapshot(
        seen(primary("galera-0", view, size=3)),
        seen(primary("galera-1", view, size=3)),
        arbitrator("garbd"),
    )
    report = status_report(snap)
    row = by_name(report)["garbd"]
    assert row["role"] == "arbitrator"
    assert row["reachable"] is reachable
    assert row["port"] is None
    assert row["cluster_status"] == ("Primary" if reachable else None)
    assert report["cluster"]["verdict"] == verdict


def test_report_is_json_serialisable_and_keeps_member_order() -> None:
    report = status_report(one_crashed())
    assert [m["name"] for m in json.loads(json.dumps(report))["members"]] == list(NAMES3)
