"""Two data members and garbd: the arbitrator's vote keeps the survivor Primary."""

from __future__ import annotations

import pytest

from galera.controller import waiting
from tests.helpers import galeractl, one_line_error
from tests.integration.conftest import SandboxHandle

pytestmark = pytest.mark.cluster


def test_arbitrator_counts_in_quorum(sandbox_arbitrator: SandboxHandle) -> None:
    result = galeractl("status", "-c", str(sandbox_arbitrator.cluster_file), "-o", "json")
    assert result.code == 0, result.stdout
    report = result.json()
    assert report["cluster"]["verdict"] == "healthy"
    assert report["cluster"]["expected_size"] == 3
    assert report["cluster"]["size"] == 3
    assert report["cluster"]["weight"] == 3
    garbd = next(m for m in report["members"] if m["name"] == "garbd")
    assert garbd["role"] == "arbitrator" and garbd["reachable"] is True


def test_survivor_and_arbitrator_keep_quorum_after_a_crash(
    sandbox_arbitrator: SandboxHandle,
) -> None:
    root = str(sandbox_arbitrator.root)
    assert galeractl("sandbox", "kill", "galera-1", "--dir", root).code == 0
    sandbox_arbitrator.wait(["galera-0"], waiting.primary_of_size(2), "size 2", timeout=60)
    report = galeractl("status", "-c", str(sandbox_arbitrator.cluster_file), "-o", "json").json()
    assert report["cluster"]["verdict"] == "degraded"
    galera0 = report["members"][0]
    assert galera0["cluster_status"] == "Primary" and galera0["healthy"] is True
    quorum = galeractl(
        "quorum", "-c", str(sandbox_arbitrator.cluster_file), "--if-down", "garbd", "-o", "json"
    )
    assert quorum.code == 1
    assert quorum.json()["if_down"]["keeps_quorum"] is False
    assert galeractl("sandbox", "start", "galera-1", "--dir", root).code == 0
    assert galeractl("status", "-c", str(sandbox_arbitrator.cluster_file)).code == 0


def test_killing_the_arbitrator_is_seen(sandbox_arbitrator: SandboxHandle) -> None:
    root = str(sandbox_arbitrator.root)
    assert galeractl("sandbox", "kill", "garbd", "--dir", root).code == 0
    sandbox_arbitrator.wait(["galera-0"], waiting.primary_of_size(2), "size 2", timeout=60)
    report = galeractl("status", "-c", str(sandbox_arbitrator.cluster_file), "-o", "json").json()
    garbd = next(m for m in report["members"] if m["name"] == "garbd")
    assert garbd["reachable"] is False
    assert report["cluster"]["verdict"] == "degraded"
    again = galeractl("sandbox", "kill", "garbd", "--dir", root)
    assert again.code == 1
    assert "garbd is not running" in one_line_error(again)
    assert galeractl("sandbox", "start", "garbd", "--dir", root).code == 0
    assert galeractl("status", "-c", str(sandbox_arbitrator.cluster_file)).code == 0
