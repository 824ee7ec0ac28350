"""Rolling restarts and upgrades on a real cluster, under a continuous writer."""

from __future__ import annotations

import json

import pytest

from galera import sql
from galera.config import endpoints
from tests.helpers import Result, events, galeractl, kill_after, of, one_line_error, streaming
from tests.integration.conftest import SandboxHandle

pytestmark = pytest.mark.cluster
NAMES = ["galera-0", "galera-1", "galera-2"]


def roll(handle: SandboxHandle, *args: str) -> Result:
    return galeractl(
        "rolling-restart",
        "-c",
        str(handle.cluster_file),
        "-o",
        "json",
        "--drain-seconds",
        "0.5",
        *args,
    )


def pids(handle: SandboxHandle) -> dict[str, int | None]:
    sandbox = handle.sandbox
    return {n: sandbox.mariadbd_pid(n) for n in NAMES if n in [m.name for m in sandbox.members]}


def variable(handle: SandboxHandle, name: str, member: str) -> str:
    spec = handle.spec
    m = spec.member(member)
    conn = sql.connect(endpoints.of_member(spec, m), spec.credentials())
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT @@{name}")
            return str(cur.fetchone()[0])
    finally:
        conn.close()


def test_rolling_restart_under_writes_loses_nothing_and_uses_ist(
    sandbox_rolling: SandboxHandle,
) -> None:
    before = pids(sandbox_rolling)
    ssts = sandbox_rolling.sandbox.full_ssts()
    with sandbox_rolling.writer() as writer:
        writer.wait_for_acks(100)
        result = roll(sandbox_rolling, "--yes")
        writer.wait_for_acks(len(writer.stats.acked) + 50)
    assert result.code == 0, result.stderr + result.stdout
    evts = events(result)
    assert [e["member"] for e in of(evts, "synced")] == of(evts, "plan")[0]["order"]
    assert all(e["ok"] for e in of(evts, "gate"))
    after = pids(sandbox_rolling)
    assert all(after[n] is not None and after[n] != before[n] for n in NAMES)
    assert sandbox_rolling.sandbox.full_ssts() == ssts, "a member rejoined by full SST"
    check = sandbox_rolling.check(writer.stats.acked)
    assert check.ok, check.message
    assert galeractl("status", "-c", str(sandbox_rolling.cluster_file)).code == 0


def test_upgrade_applies_a_server_option_on_every_member(sandbox_rolling: SandboxHandle) -> None:
    result = galeractl(
        "upgrade",
        "-c",
        str(sandbox_rolling.cluster_file),
        "-o",
        "json",
        "--drain-seconds",
        "60",
        "--yes",
        "--set",
        "max_connections=157",
    )
    assert result.code == 0, result.stderr + result.stdout
    assert [variable(sandbox_rolling, "max_connections", n) for n in NAMES] == ["157"] * 3
    # No client was connected: each drain ended at once instead of waiting its 60 s.
    drained = of(events(result), "drained")
    assert [e["connections_left"] for e in drained] == [0, 0, 0]
    assert all(e["seconds"] < 60 for e in drained)  # ended before its limit


def test_unknown_option_is_rejected_before_any_restart(sandbox_rolling: SandboxHandle) -> None:
    before = pids(sandbox_rolling)
    result = galeractl(
        "upgrade", "-c", str(sandbox_rolling.cluster_file), "--yes", "--set", "no_such_option=1"
    )
    assert result.code == 2
    assert "no_such_option" in one_line_error(result)
    assert pids(sandbox_rolling) == before


def test_a_member_already_down_refuses_before_touching_anything(
    sandbox_rolling: SandboxHandle,
) -> None:
    root = str(sandbox_rolling.root)
    assert galeractl("sandbox", "kill", "galera-2", "--dir", root).code == 0
    before = pids(sandbox_rolling)
    try:
        result = roll(sandbox_rolling, "--yes")
        assert result.code == 1
        assert "refused before touching anything" in one_line_error(result)
        assert pids(sandbox_rolling) == before
    finally:
        assert galeractl("sandbox", "start", "galera-2", "--dir", root).code == 0


def test_a_member_that_cannot_come_back_stops_the_rollout(sandbox_rolling: SandboxHandle) -> None:
    before = pids(sandbox_rolling)
    # 192.0.2.1 is a documentation address: the option is valid, binding to it fails.
    result = galeractl(
        "upgrade",
        "-c",
        str(sandbox_rolling.cluster_file),
        "-o",
        "json",
        "--yes",
        "--drain-seconds",
        "0.5",
        "--step-timeout",
        "20",
        "--set",
        "bind-address=192.0.2.1",
    )
    order = of(events(result), "plan")[0]["order"]
    first = str(order[0])  # type: ignore[index]
    try:
        assert result.code == 1
        line = one_line_error(result)
        assert f"{first} did not come back" in line and "error log ends" in line
        untouched = [n for n in NAMES if n != first]
        assert {n: pids(sandbox_rolling)[n] for n in untouched} == {n: before[n] for n in untouched}
    finally:
        sandbox = sandbox_rolling.sandbox
        client = sandbox.client(first)
        client.configure({"bind-address": sandbox.member(first).address}, apply=True)
        (sandbox_rolling.root / "cluster.rolling.json").unlink(missing_ok=True)
        client.stop()
        client.start("join")
        sandbox_rolling.wait_synced()


def test_galeractl_killed_mid_rollout_resumes_without_restarting_twice(
    sandbox_rolling: SandboxHandle,
) -> None:
    first = kill_after(
        "synced",
        "rolling-restart",
        "-c",
        str(sandbox_rolling.cluster_file),
        "--yes",
        "--drain-seconds",
        "0.5",
    )["member"]
    assert first is not None
    restarted_once = pids(sandbox_rolling)[str(first)]
    result = roll(sandbox_rolling, "--resume")
    assert result.code == 0, result.stderr + result.stdout
    evts = events(result)
    assert [e["member"] for e in of(evts, "skipped")] == [first]
    assert pids(sandbox_rolling)[str(first)] == restarted_once
    assert galeractl("status", "-c", str(sandbox_rolling.cluster_file)).code == 0


def test_two_members_without_an_arbitrator_refuse_for_quorum(sandbox_pair: SandboxHandle) -> None:
    before = pids(sandbox_pair)
    result = roll(sandbox_pair, "--yes")
    assert result.code == 1
    line = one_line_error(result)
    assert "quorum would be at risk" in line and "not more than half" in line
    assert pids(sandbox_pair) == before


def test_dry_run_prints_the_order_for_people_and_changes_nothing(
    sandbox_rolling: SandboxHandle,
) -> None:
    before = pids(sandbox_rolling)
    result = galeractl("rolling-restart", "-c", str(sandbox_rolling.cluster_file), "--dry-run")
    assert result.code == 0, result.stderr
    assert "order: galera-" in result.stdout and "decision: rollout: all other" in result.stdout
    assert "dry run: nothing changed" in result.stdout
    assert pids(sandbox_rolling) == before


def test_a_rollout_stopped_during_the_drain_puts_the_member_back_in_service(
    sandbox_rolling: SandboxHandle,
) -> None:
    """The gates are checked again right before the stop: a peer lost during the drain
    stops the rollout there, and the drained member is in service again, never stopped."""
    root, spec = str(sandbox_rolling.root), sandbox_rolling.spec
    held = [sql.connect(endpoints.of_member(spec, m), spec.credentials()) for m in spec.members]
    before = pids(sandbox_rolling)
    cluster = str(sandbox_rolling.cluster_file)
    proc = streaming("rolling-restart", "-c", cluster, "--yes", "--drain-seconds", "6")
    try:
        assert proc.stdout is not None
        gate = next(e for e in map(json.loads, proc.stdout) if e["event"] == "gate")
        drained = str(gate["member"])
        other = next(n for n in NAMES if n != drained)
        assert galeractl("sandbox", "kill", other, "--dir", root).code == 0
        rest, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 1, stderr
        assert f"stopped before stopping {drained}" in stderr
        assert not [e for e in map(json.loads, rest.splitlines()) if e["event"] == "stopped"]
        process = sandbox_rolling.sandbox.client(drained).status()["process"]
        assert process["draining"] is False and process["state"] == "running"
        assert pids(sandbox_rolling)[drained] == before[drained]
    finally:
        proc.kill()
        for conn in held:
            conn.close()
        assert galeractl("sandbox", "start", other, "--dir", root).code == 0
        sandbox_rolling.wait_synced()
