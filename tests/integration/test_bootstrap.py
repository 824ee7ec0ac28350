"""Full-outage recovery on a real cluster, under a continuous writer.

One module-scoped sandbox; every test ends with the cluster healthy again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from galera import poll, sql
from galera.config.endpoints import of_member
from galera.controller import waiting
from galera.domain.grastate import JOIN_UNFINISHED
from galera.domain.position import Position
from galera.platforms.sandbox import Sandbox
from tests.helpers import ROOT, Result, events, galeractl, kill_after, of, one_line_error
from tests.integration.conftest import (
    Samples,
    SandboxHandle,
    free_port,
    running_controller,
    scrape,
)

pytestmark = pytest.mark.cluster


def bootstrap(handle: SandboxHandle, *args: str) -> Result:
    return galeractl("bootstrap", "-c", str(handle.cluster_file), "-o", "json", *args)


def relaunch_agent(handle: SandboxHandle, name: str) -> Sandbox:
    """Start the agent a test killed again, its server left down; the sandbox as it is."""
    sandbox = handle.sandbox
    sandbox.state["agent_pids"].pop(name, None)
    sandbox.save()
    sandbox.launch_agent(name, "none")
    time.sleep(1)
    return sandbox


def assert_healthy(handle: SandboxHandle) -> None:
    status = galeractl("status", "-c", str(handle.cluster_file), "-o", "json")
    assert status.code == 0, status.stdout


def test_sigkill_all_then_bootstrap_loses_nothing(sandbox_recovery: SandboxHandle) -> None:
    ssts_before = sandbox_recovery.sandbox.full_ssts()
    with sandbox_recovery.writer() as writer:
        writer.wait_for_acks(300)
        sandbox_recovery.kill_all()
    stats = writer.stats
    result = bootstrap(sandbox_recovery, "--yes")
    assert result.code == 0, result.stderr + result.stdout
    evts = events(result)
    positions = {e["member"]: Position.parse(str(e["position"])) for e in of(evts, "member")}
    chosen = of(evts, "plan")[0]["member"]
    assert positions[str(chosen)].seqno == max(p.seqno for p in positions.values())
    assert len(of(evts, "recovered")) == 3  # every member crashed: all positions recovered
    assert of(evts, "summary")[0]["verdict"] == "healthy"
    check = sandbox_recovery.check(stats.acked)
    assert check.ok, check.message
    assert sandbox_recovery.sandbox.full_ssts() == ssts_before, "a member needed a full SST"
    marks = [
        sandbox_recovery.sandbox.client(n).status()["process"]["bootstrap_mark"]
        for n in ("galera-0", "galera-1", "galera-2")
    ]
    assert marks == [None, None, None]


def test_the_most_advanced_member_is_chosen_even_if_it_is_not_galera_0(
    sandbox_recovery: SandboxHandle,
) -> None:
    root = str(sandbox_recovery.root)
    with sandbox_recovery.writer() as writer:
        writer.wait_for_acks(100)
        assert galeractl("sandbox", "kill", "galera-0", "--dir", root).code == 0
        sandbox_recovery.wait(["galera-1"], waiting.primary_of_size(2), "size 2")
        writer.wait_for_acks(len(writer.stats.acked) + 100)
        # A graceful leave keeps galera-2 Primary alone: it moves ahead of everyone.
        assert galeractl("sandbox", "kill", "galera-1", "--signal", "TERM", "--dir", root).code == 0
        sandbox_recovery.wait(["galera-2"], waiting.primary_of_size(1), "size 1")
        writer.wait_for_acks(len(writer.stats.acked) + 100)
        assert galeractl("sandbox", "kill", "galera-2", "--dir", root).code == 0
    result = bootstrap(sandbox_recovery, "--yes")
    assert result.code == 0, result.stderr + result.stdout
    plan = of(events(result), "plan")[0]
    assert plan["member"] == "galera-2", plan["reason"]
    check = sandbox_recovery.check(writer.stats.acked)
    assert check.ok, check.message


def test_bootstrap_refuses_while_a_primary_component_exists(
    sandbox_recovery: SandboxHandle,
) -> None:
    root = str(sandbox_recovery.root)
    assert galeractl("sandbox", "kill", "galera-2", "--dir", root).code == 0
    sandbox_recovery.wait(["galera-0"], waiting.primary_of_size(2), "size 2")
    pids = {n: sandbox_recovery.sandbox.mariadbd_pid(n) for n in ("galera-0", "galera-1")}
    result = bootstrap(sandbox_recovery, "--yes")
    assert result.code == 1
    line = one_line_error(result)
    assert "galera-0, galera-1 are Primary" in line and "galeractl rejoin" in line
    assert sandbox_recovery.sandbox.mariadbd_pid("galera-2") is None
    assert {n: sandbox_recovery.sandbox.mariadbd_pid(n) for n in pids} == pids
    progress = sandbox_recovery.root / "cluster.bootstrap.json"
    before = progress.read_text() if progress.exists() else None
    assert galeractl("rejoin", "-c", str(sandbox_recovery.cluster_file)).code == 0
    assert (progress.read_text() if progress.exists() else None) == before
    assert_healthy(sandbox_recovery)


def test_rejoin_brings_back_a_crashed_member_by_ist_without_touching_the_others(
    sandbox_recovery: SandboxHandle,
) -> None:
    root = str(sandbox_recovery.root)
    ssts_before = sandbox_recovery.sandbox.full_ssts()
    pids = {n: sandbox_recovery.sandbox.mariadbd_pid(n) for n in ("galera-0", "galera-2")}
    with sandbox_recovery.writer() as writer:
        writer.wait_for_acks(100)
        assert galeractl("sandbox", "kill", "galera-1", "--dir", root).code == 0
        writer.wait_for_acks(len(writer.stats.acked) + 200)
        result = galeractl("rejoin", "-c", str(sandbox_recovery.cluster_file), "-o", "json")
        assert result.code == 0, result.stderr
        writer.wait_for_acks(len(writer.stats.acked) + 50)
    summary = of(events(result), "summary")[0]
    assert summary["started"] == ["galera-1"]
    assert sorted(summary["untouched"]) == ["galera-0", "galera-2"]  # type: ignore[arg-type]
    assert {n: sandbox_recovery.sandbox.mariadbd_pid(n) for n in pids} == pids
    assert sandbox_recovery.sandbox.full_ssts() == ssts_before
    check = sandbox_recovery.check(writer.stats.acked)
    assert check.ok, check.message


def test_an_unreachable_member_stops_the_decision_without_the_flag(
    sandbox_recovery: SandboxHandle,
) -> None:
    sandbox = sandbox_recovery.sandbox
    sandbox_recovery.kill_all()
    agent_pid = sandbox.state["agent_pids"]["galera-2"]
    os.kill(agent_pid, signal.SIGKILL)
    time.sleep(0.5)
    try:
        refused = bootstrap(sandbox_recovery, "--yes")
        assert refused.code == 1
        line = one_line_error(refused)
        assert "galera-2" in line and "--allow-missing galera-2" in line
        assert all(sandbox.mariadbd_pid(n) is None for n in ("galera-0", "galera-1"))
        allowed = bootstrap(
            sandbox_recovery, "--yes", "--allow-missing", "galera-2", "--timeout", "60"
        )
        # galera-2 cannot be started without its agent: the bootstrap forms the cluster from
        # the others, then reports that galera-2 did not come back.
        assert of(events(allowed), "plan")[0]["action"] == "bootstrap"
        assert of(events(allowed), "primary")
    finally:
        relaunch_agent(sandbox_recovery, "galera-2")
    assert galeractl("rejoin", "-c", str(sandbox_recovery.cluster_file)).code == 0
    assert_healthy(sandbox_recovery)


def test_a_corrupt_grastate_is_named_and_nothing_is_started(
    sandbox_recovery: SandboxHandle,
) -> None:
    sandbox_recovery.kill_all()
    path = sandbox_recovery.sandbox.member("galera-1").datadir / "grastate.dat"
    original = path.read_text()
    try:
        path.write_text(original.replace("uuid:", "uuid: not-a-uuid"))
        result = bootstrap(sandbox_recovery, "--yes")
        assert result.code == 1
        line = one_line_error(result)
        assert "galera-1: corrupt grastate.dat" in line and "line 3" in line
        assert all(sandbox_recovery.sandbox.mariadbd_pid(f"galera-{i}") is None for i in range(3))
    finally:
        path.write_text(original)
    assert bootstrap(sandbox_recovery, "--yes").code == 0


def test_clean_shutdown_bootstraps_the_last_to_leave_without_recovery(
    sandbox_recovery: SandboxHandle,
) -> None:
    root = str(sandbox_recovery.root)
    for name in ("galera-2", "galera-0", "galera-1"):  # galera-1 leaves last
        assert galeractl("sandbox", "kill", name, "--signal", "TERM", "--dir", root).code == 0
    result = bootstrap(sandbox_recovery, "--yes")
    assert result.code == 0, result.stderr
    evts = events(result)
    assert of(evts, "recovering") == []
    plan = of(evts, "plan")[0]
    assert plan["member"] == "galera-1", plan["reason"]
    assert_healthy(sandbox_recovery)


def test_galeractl_killed_mid_bootstrap_is_finished_by_a_rerun(
    sandbox_recovery: SandboxHandle,
) -> None:
    sandbox_recovery.kill_all()
    progress = sandbox_recovery.root / "cluster.bootstrap.json"
    # Killed after the first member formed the cluster, before the others joined.
    kill_after("primary", "bootstrap", "-c", str(sandbox_recovery.cluster_file), "--yes")
    assert json.loads(progress.read_text())["state"] == "in_progress"
    status = galeractl("status", "-c", str(sandbox_recovery.cluster_file), "-o", "json")
    assert status.json()["bootstrap"]["state"] == "in_progress"
    result = bootstrap(sandbox_recovery, "--yes")
    assert result.code == 0, result.stderr
    assert of(events(result), "resuming")
    assert json.loads(progress.read_text())["state"] == "done"
    assert_healthy(sandbox_recovery)


def test_a_leftover_mark_never_forms_a_second_cluster(sandbox_recovery: SandboxHandle) -> None:
    sandbox = sandbox_recovery.sandbox
    client = sandbox.client("galera-1")
    root = str(sandbox_recovery.root)
    assert galeractl("sandbox", "kill", "galera-1", "--signal", "TERM", "--dir", root).code == 0
    grastate = client.status()["grastate"]
    client.mark(f"{grastate['uuid']}:{grastate['seqno']}")  # a mark left behind
    assert galeractl("sandbox", "start", "galera-1", "--dir", root).code == 0
    report = galeractl("status", "-c", str(sandbox_recovery.cluster_file), "-o", "json").json()
    assert report["cluster"]["verdict"] == "healthy"
    assert {m["cluster_conf_id"] for m in report["members"]} == {
        report["members"][0]["cluster_conf_id"]
    }
    # The restart joined; and a bootstrap start with a mark for another position is refused.
    with pytest.raises(Exception, match="a running member is never marked"):
        client.mark(f"{grastate['uuid']}:{grastate['seqno']}")
    assert galeractl("sandbox", "kill", "galera-1", "--signal", "TERM", "--dir", root).code == 0
    client.mark(f"{grastate['uuid']}:{int(grastate['seqno']) + 1000}")
    with pytest.raises(Exception, match="bootstrap mark is for position"):
        client.start("bootstrap")
    client.unmark()
    assert galeractl("sandbox", "start", "galera-1", "--dir", root).code == 0
    assert_healthy(sandbox_recovery)


def test_controller_rejoins_a_crashed_member_and_recovers_a_full_outage(
    sandbox_recovery: SandboxHandle,
) -> None:
    import threading

    root = str(sandbox_recovery.root)
    log = open(sandbox_recovery.root / "controller.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "galera",
            "controller",
            "-c",
            str(sandbox_recovery.cluster_file),
            "-o",
            "json",
            "--interval",
            "1",
            "--no-primary-grace",
            "3",
            "--member-down-grace",
            "2",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    seen: list[tuple[float, dict[str, object]]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append((time.monotonic(), json.loads(line)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert galeractl("sandbox", "kill", "galera-2", "--dir", root).code == 0
        # (The controller may rejoin it before the others even evict the dead incarnation.)
        sandbox_recovery.wait_synced(timeout=120)  # the controller brought galera-2 back
        outage = time.monotonic()
        sandbox_recovery.kill_all()
        sandbox_recovery.wait_synced(timeout=180)  # ... and recovered the full outage
        progress = sandbox_recovery.root / "cluster.bootstrap.json"
        deadline = time.monotonic() + 30
        while json.loads(progress.read_text())["state"] != "done":
            assert time.monotonic() < deadline, "the controller's bootstrap never finished"
            time.sleep(0.2)
    except Exception:
        print("\n".join(json.dumps(e) for _t, e in seen)[-4000:])
        print((sandbox_recovery.root / "controller.log").read_text()[-4000:])
        raise
    finally:
        proc.terminate()
        proc.wait(30)
        reader.join(5)
        log.close()
    decisions = [(t, e) for t, e in seen if e["event"] == "decision"]
    rejoins = [e for t, e in decisions if e["action"] == "rejoin" and t < outage]
    assert rejoins and rejoins[0]["members"] == ["galera-2"]
    bootstraps = [t for t, e in decisions if e["action"] == "bootstrap"]
    assert bootstraps, "the controller never bootstrapped after the full outage"
    assert all(t > outage for t in bootstraps), "bootstrapped while a Primary existed"
    assert_healthy(sandbox_recovery)


def test_members_that_reform_the_primary_by_themselves_are_left_alone(
    sandbox_recovery: SandboxHandle,
) -> None:
    """pc.recovery: all members of the last Primary view come back after a crash of all."""
    root = str(sandbox_recovery.root)
    (sandbox_recovery.root / "cluster.bootstrap.json").unlink(missing_ok=True)
    sandbox_recovery.kill_all()
    for name in ("galera-0", "galera-1", "galera-2"):
        started = galeractl("sandbox", "start", name, "--no-wait", "--dir", root)
        assert started.code == 0, started.stderr
    result = bootstrap(sandbox_recovery, "--yes")
    assert result.code == 1
    assert "Primary" in one_line_error(result) and "galeractl rejoin" in result.stderr
    assert not of(events(result), "marked")
    sandbox_recovery.wait_synced(timeout=120)
    assert_healthy(sandbox_recovery)


def test_a_join_attempt_that_lost_its_donor_is_stopped_and_read_before_a_bootstrap(
    sandbox_recovery: SandboxHandle,
) -> None:
    """A joiner whose log no longer proves it untouched (here: the log was truncated under
    it, as when its donor left mid-transfer) has no position while it runs. The bootstrap
    stops it first and reads its position, instead of refusing until it dies by itself."""
    sandbox = sandbox_recovery.sandbox
    with sandbox_recovery.writer() as writer:
        writer.wait_for_acks(100)
        sandbox_recovery.kill_all()
    client = sandbox.client("galera-0")
    client.start("join")
    (sandbox_recovery.root / "members" / "galera-0" / "mariadbd.err").write_bytes(b"")
    process = client.status()["process"]
    assert process["state"] == "running" and process["joining_from"] is None, process
    result = bootstrap(sandbox_recovery, "--yes")
    assert result.code == 0, result.stderr + result.stdout
    evts = events(result)
    stopped = [e for e in of(evts, "stopped") if e["member"] == "galera-0"]
    assert stopped and "lost its donor" in str(stopped[0]["reason"]), evts
    assert of(evts, "summary")[0]["verdict"] == "healthy"
    check = sandbox_recovery.check(writer.stats.acked)
    assert check.ok, check.message


def test_rejoin_never_overwrites_a_member_ahead_of_the_primary_without_discard(
    sandbox_recovery: SandboxHandle,
) -> None:
    """After a forced bootstrap from a member behind, a member that was away holds writes
    the new Primary component lacks: rejoin refuses it (saying how many), --discard does it."""
    sandbox, root = sandbox_recovery.sandbox, str(sandbox_recovery.root)
    with sandbox_recovery.writer() as writer:
        writer.wait_for_acks(50)
        assert galeractl("sandbox", "kill", "galera-2", "--signal", "TERM", "--dir", root).code == 0
        writer.wait_for_acks(len(writer.stats.acked) + 100)  # galera-0 and galera-1 only
        for name in ("galera-0", "galera-1"):
            stopped = galeractl("sandbox", "kill", name, "--signal", "TERM", "--dir", root)
            assert stopped.code == 0, stopped.stderr
    os.kill(sandbox.state["agent_pids"]["galera-0"], signal.SIGKILL)  # galera-0 stays away
    try:
        forced = bootstrap(
            sandbox_recovery, "--yes", "--force-member", "galera-2", "--timeout", "60"
        )
        assert of(events(forced), "primary"), forced.stderr
    finally:
        sandbox = relaunch_agent(sandbox_recovery, "galera-0")
    refused = galeractl("rejoin", "-c", str(sandbox_recovery.cluster_file))
    assert refused.code == 1
    line = one_line_error(refused)
    assert "galera-0 is ahead of the Primary component by" in line
    assert "--discard galera-0" in line
    assert sandbox.mariadbd_pid("galera-0") is None  # nothing was started
    # reinit too refuses to empty a member that holds writes the Primary component lacks.
    reinit = galeractl("reinit", "-c", str(sandbox_recovery.cluster_file), "galera-0", "--yes")
    assert reinit.code == 1
    assert "galera-0 is ahead of the Primary component by" in one_line_error(reinit)
    assert "galeractl rejoin --discard galera-0" in reinit.stderr
    assert (sandbox_recovery.root / "members" / "galera-0" / "data" / "mysql").is_dir()
    assert_the_controller_holds_it_down_and_alerts(sandbox_recovery, "galera-0")
    # galera-1 too was not joined by the bootstrap (galera-0's agent was away when it joined
    # the others): it is ahead as well, and named.
    discard = [a for n in ("galera-0", "galera-1") if n in line for a in ("--discard", n)]
    allowed = galeractl("rejoin", "-c", str(sandbox_recovery.cluster_file), *discard)
    assert allowed.code == 0, allowed.stderr
    assert_healthy(sandbox_recovery)


def assert_the_controller_holds_it_down_and_alerts(handle: SandboxHandle, name: str) -> None:
    """The controller never discards: cycle after cycle it refuses to start ``name``, says
    so once (a ``held_down`` event) and publishes galera_member_held_down on its /metrics."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    args = ("--interval", "1", "--member-down-grace", "1", "--metrics", f"127.0.0.1:{port}")
    with running_controller(handle, *args) as controller:
        deadline = time.monotonic() + 120
        while True:
            held = {
                dict(labels)["member"]: dict(labels)["reason"]
                for (series, labels), value in _scrape_or_empty(url).items()
                if series == "galera_member_held_down" and value == 1
            }
            if name in held and controller.of("held_down"):
                break
            assert time.monotonic() < deadline, "the controller never said it holds it down"
            time.sleep(0.5)
        time.sleep(4)  # several more cycles, each refusing again
        said = [e for e in controller.of("held_down") if e["member"] == name]
        failed = controller.of("failed", "rejoin")
    assert held[name] == "ahead_of_primary"
    assert len(said) == 1, said  # said once while it holds
    assert said[0]["cause"] == "ahead_of_primary" and said[0]["transactions"] > 0
    assert failed and f"--discard {name}" in failed[0]["error"]
    assert handle.sandbox.mariadbd_pid(name) is None


def _scrape_or_empty(url: str) -> Samples:
    try:
        return scrape(url)
    except OSError:  # not serving yet
        return {}


def test_a_joiner_left_alone_in_a_primary_view_never_forms_a_primary_of_its_own(
    sandbox_recovery: SandboxHandle,
) -> None:
    """A joiner is a member of the Primary component before it holds the component's state.
    Here its donors are busy (desynced) until both leave cleanly: Galera leaves the joiner
    alone in a Primary view and saves it (gvwstate.dat), though nobody there holds the
    state. The bootstrap that follows stops it and starts it again to join; pc.recovery must
    not make it a Primary component of its own at its old position, beside the bootstrapped
    one (Galera then aborts the newer one, "conflicting prims: older overrides", and its
    transactions are lost: seen when a full outage outran the controller's rejoin)."""
    sandbox, root = sandbox_recovery.sandbox, str(sandbox_recovery.root)
    spec = sandbox_recovery.spec
    members = sandbox_recovery.root / "members"
    joiner = members / "galera-2"
    names = ("galera-0", "galera-1", "galera-2")
    logs = {
        n: (members / n / "mariadbd.err", (members / n / "mariadbd.err").stat().st_size)
        for n in names
    }
    agent_log = joiner / "agent.log"
    agent_said = agent_log.stat().st_size
    with sandbox_recovery.writer() as writer:
        writer.wait_for_acks(50)
        assert galeractl("sandbox", "kill", "galera-2", "--signal", "TERM", "--dir", root).code == 0
        writer.wait_for_acks(len(writer.stats.acked) + 100)  # galera-2 is behind: a join asks
        for name in ("galera-0", "galera-1"):
            sql.execute(
                of_member(spec, spec.member(name)),
                spec.admin_credentials(),
                ["SET GLOBAL wsrep_desync = ON"],  # no longer a donor anyone may pick
                member=name,
            )
        logged = (joiner / "mariadbd.err").stat().st_size
        sandbox.client("galera-2").start("join")
        poll.until(
            lambda: (
                b"Requesting state transfer failed"
                in (joiner / "mariadbd.err").read_bytes()[logged:]
                or None
            ),
            timeout=60,
            interval=0.2,
            what="galera-2 asking for a state transfer in vain",
        )
        for name in ("galera-0", "galera-1"):
            stopped = galeractl("sandbox", "kill", name, "--signal", "TERM", "--dir", root)
            assert stopped.code == 0, stopped.stderr
    view = joiner / "data" / "gvwstate.dat"

    def alone() -> bool | None:
        text = view.read_text() if view.exists() else ""
        return text.count("member:") == 1 or None

    poll.until(alone, timeout=60, interval=0.2, what="galera-2 alone in a saved Primary view")
    result = bootstrap(sandbox_recovery, "--yes")
    assert result.code == 0, result.stderr + result.stdout
    evts = events(result)
    assert of(evts, "plan")[0]["member"] in ("galera-0", "galera-1")
    assert of(evts, "summary")[0]["verdict"] == "healthy"
    for name, (log, offset) in logs.items():
        with open(log, "rb") as f:
            f.seek(offset)
            assert b"conflicting prims" not in f.read(), f"{name} saw two Primary components"
    check = sandbox_recovery.check(writer.stats.acked)
    assert check.ok, check.message
    with open(agent_log, "rb") as f:
        f.seek(agent_said)
        assert b"removed the Primary view it saved" in f.read()  # the path taken
    assert not (joiner / "data" / JOIN_UNFINISHED).exists()  # its join reached Synced
