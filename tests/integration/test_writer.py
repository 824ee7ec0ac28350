"""Writes through a real HAProxy that follows the agents' /health/writer: switchover,
writer-first rolling restarts, and the refusals that change nothing.

The module's sandbox (``sandbox up --proxy``) is left healthy after every test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from galera import sql
from galera.config import endpoints
from galera.platforms import haproxy_admin
from galera.testing import workload
from tests.helpers import events, galeractl, of, one_line_error
from tests.integration.conftest import SandboxHandle, _up

pytestmark = pytest.mark.cluster
NAMES = ("galera-0", "galera-1", "galera-2")


@pytest.fixture(scope="module")
def sandbox_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Three members behind HAProxy (ports from 24200; the proxy's at +97 and +98)."""
    yield from _up(
        tmp_path_factory.mktemp("proxy"), "--nodes", "3", "--base-port", "24200", "--proxy"
    )


def through_proxy(handle: SandboxHandle, threads: int = 2) -> workload.Writer:
    """A continuous writer whose only way in is the proxy's writer frontend."""
    proxy = endpoints.of_proxy(handle.spec, "writer")
    return workload.Writer([proxy], handle.spec.credentials(), threads=threads)


def served_by(handle: SandboxHandle) -> int:
    """The SQL port of the member behind the proxy's writer frontend now."""
    proxy = endpoints.of_proxy(handle.spec, "writer")
    conn = sql.connect(proxy, handle.spec.credentials())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@port")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def roles(handle: SandboxHandle) -> dict[str, str]:
    listed = galeractl("list", "-c", str(handle.cluster_file), "-o", "json").json()
    return {m["name"]: m["role"] for m in listed["members"]}


def test_the_proxy_sends_writes_to_the_writer_only_and_a_switchover_moves_them(
    sandbox_proxy: SandboxHandle,
) -> None:
    handle = sandbox_proxy
    cluster = str(handle.cluster_file)
    assert roles(handle) == {"galera-0": "writer", "galera-1": "reader", "galera-2": "reader"}
    proxy = galeractl("status", "-c", cluster, "-o", "json").json()["proxy"]
    assert proxy == handle.spec.proxy and set(proxy) == {"writer", "reader"}
    assert (
        f"writers through the proxy at {proxy['writer']}" in galeractl("list", "-c", cluster).stdout
    )
    with through_proxy(handle) as writer:
        writer.wait_for_acks(100)
        assert served_by(handle) == handle.spec.member("galera-0").port
        moved = galeractl("switchover", "--to", "galera-2", "-c", cluster, "-o", "json")
        assert moved.code == 0, moved.stderr
        (event,) = of(events(moved), "switchover")
        assert event["previous"] == "galera-0" and event["member"] == "galera-2"
        # It waited for galera-0's client transactions to end (the account has PROCESS).
        assert event["waited_for"] == "transactions" and event["left"] == 0, event
        (admin,) = handle.spec.proxy_admin
        pool = haproxy_admin.pool(admin)
        assert {n: s.running for n, s in pool.items()} == {n: n == "galera-2" for n in NAMES}
        writer.wait_for_acks(len(writer.stats.acked) + 100)
        assert served_by(handle) == handle.spec.member("galera-2").port
        moved_back = galeractl("switchover", "-c", cluster, "-o", "json")  # the best one
        assert moved_back.code == 0, moved_back.stderr
        writer.wait_for_acks(len(writer.stats.acked) + 100)
    assert writer.stats.longest_stall < 5, writer.stats
    check = handle.check(writer.stats.acked)
    assert check.ok, check.message
    writes_to = next(n for n, r in roles(handle).items() if r == "writer")
    assert writes_to != "galera-2"
    assert served_by(handle) == handle.spec.member(writes_to).port
    # The proxy was told through its runtime API, not left to its health checks (they
    # would need two failed checks, 200 ms apart at the least, to take the old writer out).
    assert "is DOWN, changed from CLI" in (admin.parent / "haproxy.log").read_text()
    kinds = [e["kind"] for e in galeractl("history", "-c", cluster, "-o", "json").json()]
    assert kinds.count("switchover") >= 3  # sandbox up designated galera-0, then two moves


def test_switchover_to_a_member_that_is_not_synced_is_refused_changing_nothing(
    sandbox_proxy: SandboxHandle,
) -> None:
    handle = sandbox_proxy
    cluster = str(handle.cluster_file)
    before = roles(handle)
    assert galeractl("sandbox", "kill", "galera-1", "--dir", str(handle.root)).code == 0
    try:
        refused = galeractl("switchover", "--to", "galera-1", "-c", cluster)
        assert refused.code != 0
        assert one_line_error(refused).endswith(
            "switchover to galera-1 refused: galera-1 does not answer; nothing was changed"
        )
        unknown = galeractl("switchover", "--to", "galera-9", "-c", cluster)
        assert unknown.code == 2 and "unknown member 'galera-9'" in one_line_error(unknown)
    finally:
        assert galeractl("sandbox", "start", "galera-1", "--dir", str(handle.root)).code == 0
    handle.wait_synced()
    assert roles(handle) == before


def test_a_rolling_restart_moves_the_writer_first_and_loses_nothing(
    sandbox_proxy: SandboxHandle,
) -> None:
    handle = sandbox_proxy
    cluster = str(handle.cluster_file)
    writer_before = next(n for n, r in roles(handle).items() if r == "writer")
    with through_proxy(handle) as writer:
        writer.wait_for_acks(100)
        result = galeractl("rolling-restart", "--yes", "-c", cluster, "-o", "json")
        assert result.code == 0, result.stderr
        writer.wait_for_acks(len(writer.stats.acked) + 100)
    stream = events(result)
    (plan,) = of(stream, "plan")
    assert plan["order"][-1] == writer_before  # the writer restarts last
    (moved,) = of(stream, "switchover")
    assert moved["previous"] == writer_before and moved["member"] in plan["order"][:-1]
    assert "already restarted" in moved["reason"]
    stopped = [e["member"] for e in stream if e["event"] == "stopped"]
    assert stream.index(moved) < next(
        i for i, e in enumerate(stream) if e["event"] == "stopped" and e["member"] == writer_before
    )
    assert len(stopped) == 3
    check = handle.check(writer.stats.acked)
    assert check.ok, check.message
    # One writer move, and the writer itself was never restarted while it took writes.
    assert writer.stats.longest_stall < 5, writer.stats


def test_the_controller_moves_the_writes_off_a_writer_that_crashed(
    sandbox_proxy: SandboxHandle,
) -> None:
    """The writer's mariadbd killed and held down: the proxy has no writer until the
    controller moves the writes (after its writer grace, before it rejoins the member);
    nothing acknowledged is lost and, once the old writer is back, one member alone
    answers as the writer."""
    from tests.integration.conftest import running_controller

    handle = sandbox_proxy
    cluster = str(handle.cluster_file)
    old = next(n for n, r in roles(handle).items() if r == "writer")
    grace = ("--interval", "1", "--writer-down-grace", "2", "--member-down-grace", "15")
    with through_proxy(handle) as writer, running_controller(handle, *grace) as controller:
        writer.wait_for_acks(100)
        killed = galeractl("sandbox", "kill", old, "--signal", "KILL", "--dir", str(handle.root))
        assert killed.code == 0, killed.stderr
        moved = controller.wait_for("switchover", timeout=60)
        assert moved["previous"] == old and moved["member"] != old, moved
        assert moved["reason"].startswith(f"{old} left the Primary component; ")
        acked = len(writer.stats.acked)
        writer.wait_for_acks(acked + 100)  # writes flow again through the proxy
        assert served_by(handle) == handle.spec.member(moved["member"]).port
        handle.wait_synced(timeout=120)  # the controller rejoined the old writer
        writer.wait_for_acks(len(writer.stats.acked) + 50)
    decisions = [e["reason"] for e in controller.of("decision", "switchover")]
    assert decisions and decisions[0].startswith(f"{old}, the writer, out of the Primary")
    assert list(roles(handle).values()).count("writer") == 1
    assert roles(handle)[moved["member"]] == "writer"
    flags = {n: handle.sandbox.client(n).status()["writer"] for n in NAMES}
    assert flags == {n: n == moved["member"] for n in NAMES}
    check = handle.check(writer.stats.acked)
    assert check.ok, check.message
    history = galeractl("history", "-c", cluster, "-o", "json").json()
    last = [e for e in history if e["kind"] == "switchover"][-1]
    assert last["previous"] == old and last["by"].endswith(str(controller.proc.pid))
