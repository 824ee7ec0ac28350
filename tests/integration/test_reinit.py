"""``galeractl reinit`` on a real cluster: a member's data emptied through its agent and
given back by a full SST from the chosen donor, under a continuous writer; and the
refusals that change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from galera.config import endpoints
from galera.controller import waiting
from galera.testing import workload
from tests.helpers import events, galeractl, of, one_line_error
from tests.integration.conftest import SandboxHandle, _up

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Three members (ports from 26700)."""
    yield from _up(tmp_path_factory.mktemp("reinit"), "--nodes", "3", "--base-port", "26700")


def reinit(handle: SandboxHandle, *args: str) -> object:
    return galeractl("reinit", "-c", str(handle.cluster_file), *args, "-o", "json", timeout=400)


def data_files(handle: SandboxHandle, name: str) -> set[str]:
    return {p.name for p in (handle.root / "members" / name / "data").iterdir()}


def test_reinit_of_the_writer_under_a_writer_loses_nothing(sandbox: SandboxHandle) -> None:
    """The writer's writes move first; its data is emptied through its agent; it rejoins by
    a full SST from the donor chosen; every acknowledged write is everywhere and the
    members are identical."""
    cluster = str(sandbox.cluster_file)
    moved = galeractl("switchover", "-c", cluster, "--to", "galera-0")
    assert moved.code == 0, moved.stderr
    ssts = sandbox.sandbox.full_ssts()
    marker = sandbox.root / "members" / "galera-0" / "data" / "reinit-was-here"
    marker.write_text("gone after the reinit\n")
    with sandbox.writer() as writer:
        writer.wait_for_acks(100)
        result = reinit(sandbox, "galera-0", "--yes")
        assert result.code == 0, result.stderr
        writer.wait_for_acks(len(writer.stats.acked) + 100)
    evts = events(result)
    (plan,) = of(evts, "plan")
    assert plan["member"] == "galera-0" and plan["donor"] in ("galera-1", "galera-2")
    (switched,) = of(evts, "switchover")
    assert switched["previous"] == "galera-0" and switched["member"] != plan["donor"]
    (emptied,) = of(evts, "emptied")
    assert emptied["bytes"] > 0 and emptied["position"] is not None
    (started,) = of(evts, "started")
    assert started["donors"] == [plan["donor"]]
    kinds = [e["event"] for e in evts]
    assert kinds.index("switchover") < kinds.index("stopped") < kinds.index("emptied")
    assert kinds[-2:] == ["synced", "summary"]
    assert not marker.exists()  # the data directory really was emptied
    assert sandbox.sandbox.full_ssts() == ssts + 1  # one full SST, from the donor
    log = (sandbox.root / "members" / plan["donor"] / "mariadbd.err").read_text()
    assert "--role 'donor'" in log
    check = sandbox.check(writer.stats.acked)
    assert check.ok, check.message
    spec = sandbox.spec
    members = [endpoints.of_member(spec, m) for m in spec.members]
    sums = workload.checksums(members, spec.credentials())
    assert len(set(sums.values())) == 1, sums
    history = galeractl("history", "-c", cluster, "-o", "json")
    assert history.code == 0
    assert any(
        e["kind"] == "reinit" and e["member"] == "galera-0" and e["donor"] == plan["donor"]
        for e in history.json()
    ), history.stdout


def test_refusals_change_nothing(sandbox: SandboxHandle, tmp_path: Path) -> None:
    root = str(sandbox.root)
    before = data_files(sandbox, "galera-1")
    unknown = reinit(sandbox, "galera-9", "--yes")
    assert unknown.code == 2 and "unknown member 'galera-9'" in one_line_error(unknown)
    own = reinit(sandbox, "galera-1", "--donor", "galera-1", "--yes")
    assert own.code == 2 and "galera-1 cannot be its own donor" in one_line_error(own)
    unasked = galeractl("reinit", "-c", str(sandbox.cluster_file), "galera-1")  # no terminal
    assert unasked.code == 1 and "not confirmed" in one_line_error(unasked)
    # One member away: taking another down would leave the rest without quorum.
    stopped = galeractl("sandbox", "kill", "galera-2", "--signal", "TERM", "--dir", root)
    assert stopped.code == 0, stopped.stderr
    try:
        sandbox.wait(
            ["galera-0", "galera-1"], waiting.primary_of_size(2), what="a component of two"
        )
        quorum = reinit(sandbox, "galera-1", "--yes")
        assert quorum.code == 1
        assert "quorum would break: without galera-1" in one_line_error(quorum)
        # Two away: the one left alone holds the latest state.
        assert galeractl("sandbox", "kill", "galera-0", "--signal", "TERM", "--dir", root).code == 0
        alone = reinit(sandbox, "galera-1", "--yes")
        assert alone.code == 1
        assert "galera-1 alone holds the latest state" in one_line_error(alone)
    finally:
        for name in ("galera-0", "galera-2"):
            galeractl("sandbox", "start", name, "--dir", root, timeout=300)
    sandbox.wait_synced(timeout=180)
    assert data_files(sandbox, "galera-1") >= before  # nothing was emptied
    status = galeractl("status", "-c", str(sandbox.cluster_file))
    assert status.code == 0, status.stdout
