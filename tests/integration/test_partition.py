"""Network partitions between members in their own namespaces (root and ip netns needed)."""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from galera import sql
from galera.config import endpoints
from galera.controller import waiting
from tests.helpers import galeractl, one_line_error
from tests.integration.conftest import SandboxHandle, running_exporter, scrape

pytestmark = [pytest.mark.cluster, pytest.mark.netns]


def test_members_have_their_own_addresses(sandbox_netns: SandboxHandle) -> None:
    report = galeractl("status", "-c", str(sandbox_netns.cluster_file), "-o", "json").json()
    hosts = [m["host"] for m in report["members"]]
    assert len(set(hosts)) == 3
    assert all(h != "127.0.0.1" for h in hosts)
    assert report["cluster"]["verdict"] == "healthy"


def test_partitioned_member_goes_non_primary_and_heal_restores(
    sandbox_netns: SandboxHandle,
) -> None:
    cut = galeractl("sandbox", "partition", "galera-2", "--dir", str(sandbox_netns.root))
    assert cut.code == 0, cut.stderr
    try:
        sandbox_netns.wait(["galera-2"], waiting.non_primary, "galera-2 non-Primary", timeout=90)
        sandbox_netns.wait(["galera-0", "galera-1"], waiting.primary_of_size(2), "size 2")
        status = galeractl("status", "-c", str(sandbox_netns.cluster_file), "-o", "json")
        assert status.code == 1
        report = status.json()
        by_name = {m["name"]: m for m in report["members"]}
        assert by_name["galera-2"]["reachable"] is True
        assert by_name["galera-2"]["cluster_status"] == "non-Primary"
        assert by_name["galera-0"]["cluster_status"] == "Primary"
        assert by_name["galera-1"]["cluster_status"] == "Primary"
        assert report["cluster"]["verdict"] == "degraded"
        assert report["cluster"]["quorum_margin"]["members"] == 0
        with running_exporter(sandbox_netns.cluster_file) as url:
            samples = scrape(url)
        cut = (("cluster", "test"), ("member", "galera-2"))
        assert samples[("mysql_up", cut)] == 1.0
        assert samples[("mysql_global_status_wsrep_cluster_status", cut)] == 0.0
        assert (
            samples[("galera_member_available", (*cut, ("reason", by_name["galera-2"]["reason"])))]
            == 0.0
        )
        assert samples[("galera_member_local_state", (*cut, ("state", "Synced")))] == 0.0
        assert samples[("galera_quorum_margin_members", (("cluster", "test"),))] == 0.0
    finally:
        healed = galeractl("sandbox", "heal", "--dir", str(sandbox_netns.root))
    assert healed.code == 0, healed.stderr
    sandbox_netns.wait_synced(timeout=120)
    assert galeractl("status", "-c", str(sandbox_netns.cluster_file)).code == 0


def test_partition_of_an_unknown_member_is_refused(sandbox_netns: SandboxHandle) -> None:
    result = galeractl("sandbox", "partition", "galera-8", "--dir", str(sandbox_netns.root))
    assert result.code == 2
    assert "unknown member 'galera-8'" in one_line_error(result)


def test_members_reach_each_other_under_a_forward_drop_policy(
    sandbox_netns: SandboxHandle,
) -> None:
    """Docker sets the host's FORWARD policy to DROP with bridge netfilter on: the sandbox's
    own accept rule keeps its bridge working (a member rejoins through it)."""
    root = str(sandbox_netns.root)
    assert "-A FORWARD -i gctl0 -o gctl0 -j ACCEPT" in _iptables("-S", "FORWARD")
    policy = "DROP" if "-P FORWARD DROP" in _iptables("-S", "FORWARD") else "ACCEPT"
    _iptables("-P", "FORWARD", "DROP")
    try:
        assert galeractl("sandbox", "kill", "galera-1", "--dir", root).code == 0
        assert galeractl("sandbox", "start", "galera-1", "--dir", root).code == 0
        assert galeractl("status", "-c", str(sandbox_netns.cluster_file)).code == 0
    finally:
        _iptables("-P", "FORWARD", policy)


def _iptables(*args: str) -> str:
    return subprocess.run(
        ["iptables", "-w", *args], capture_output=True, text=True, check=True
    ).stdout


@contextlib.contextmanager
def captured(bridge: str, pcap: Path) -> Iterator[None]:
    """tcpdump on the sandbox's bridge (every byte between members, and to them) for the
    duration; whole packets, written as they come."""
    dump = subprocess.Popen(
        ["tcpdump", "-i", bridge, "-s", "0", "-U", "-w", str(pcap), "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert dump.stderr is not None
        assert b"listening on" in dump.stderr.readline()  # capturing before we go on
        yield
    finally:
        time.sleep(1)
        dump.terminate()
        dump.wait(timeout=10)


def ports_seen(pcap: Path) -> set[int]:
    read = subprocess.run(
        ["tcpdump", "-r", str(pcap), "-nn", "-q"], capture_output=True, text=True, check=True
    )
    return {int(p) for p in re.findall(r"\.(\d+)[ :>]", read.stdout)}


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump missing (scripts/setup)")
def test_no_plaintext_on_the_wire(sandbox_netns: SandboxHandle, tmp_path: Path) -> None:
    """A marker written through one member, a rejoin by IST and a full SST, agent calls:
    the marker never crosses the bridge in the clear, on any port."""
    sandbox, root = sandbox_netns.sandbox, str(sandbox_netns.root)
    marker = f"wire-{secrets.token_hex(8)}"
    control = f"control-{secrets.token_hex(8)}"
    spec = sandbox_netns.spec
    first = endpoints.of_member(spec, spec.member("galera-0"))
    pcap = tmp_path / "wire.pcap"
    with captured(sandbox.network.bridge, pcap):
        sql.execute(
            first,
            spec.credentials(),
            [
                "CREATE DATABASE IF NOT EXISTS wire",
                "CREATE TABLE IF NOT EXISTS wire.t (v VARCHAR(64) PRIMARY KEY)",
                f"INSERT INTO wire.t VALUES ('{marker}')",
            ],
        )
        assert galeractl("sandbox", "kill", "galera-1", "--dir", root).code == 0
        # Commits wait until the others have evicted galera-1 (a few seconds).
        sandbox_netns.wait(["galera-0", "galera-2"], waiting.primary_of_size(2), "size 2")
        sql.execute(first, spec.credentials(), [f"INSERT INTO wire.t VALUES ('{marker}-2')"])
        assert galeractl("sandbox", "start", "galera-1", "--dir", root).code == 0  # IST
        assert galeractl("sandbox", "kill", "galera-2", "--dir", root).code == 0
        for item in sandbox.member("galera-2").datadir.iterdir():
            shutil.rmtree(item) if item.is_dir() else item.unlink()
        assert galeractl("sandbox", "start", "galera-2", "--dir", root).code == 0  # full SST
        sandbox.client("galera-1").status()
        # The control proves the capture sees payloads: plaintext sent to an agent port.
        agent = sandbox.member("galera-0")
        with socket.create_connection((agent.address, agent.agent_port), timeout=5) as s:
            s.sendall(control.encode() + b"\r\n\r\n")
    wire = pcap.read_bytes()
    assert control.encode() in wire
    assert marker.encode() not in wire
    seen = ports_seen(pcap)  # every member listens on the same ports in its namespace
    member = sandbox.member("galera-0")
    for port in (member.sql_port, member.galera_port, member.ist_port, member.sst_port):
        assert port in seen, f"no traffic on {port}: the capture proves nothing there"
    assert galeractl("status", "-c", str(sandbox_netns.cluster_file)).code == 0


def test_forced_bootstrap_of_the_minority_is_reported_as_split_brain(
    sandbox_netns: SandboxHandle,
) -> None:
    """The classic mistake: bootstrapping a partitioned member while the others run.

    This test runs last in the module: the two histories diverge for good.
    """
    root = str(sandbox_netns.root)
    assert galeractl("sandbox", "partition", "galera-2", "--dir", root).code == 0
    spec = sandbox_netns.spec
    sandbox_netns.wait(["galera-2"], waiting.non_primary, "galera-2 non-Primary", timeout=90)
    # The majority too has left galera-2 out of its view (until then its view overlaps the
    # one galera-2 forms: a stale view, not two components that can commit).
    sandbox_netns.wait(
        ["galera-0", "galera-1"], waiting.primary_of_size(2), "the majority without galera-2"
    )
    member = spec.member("galera-2")
    sql.execute(
        endpoints.of_member(spec, member),
        spec.credentials(),
        ["SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'"],
    )
    sandbox_netns.wait(
        ["galera-2"],
        lambda o: o.status is not None and o.status.primary,
        "galera-2 Primary alone",
        timeout=60,
    )
    result = galeractl("status", "-c", str(sandbox_netns.cluster_file), "-o", "json")
    assert result.code == 1
    cluster = result.json()["cluster"]
    assert cluster["verdict"] == "split_brain", result.stdout
    assert "2 Primary components" in cluster["reason"]
    assert "galera-2" in cluster["reason"] and "galera-0, galera-1" in cluster["reason"]
    quorum = galeractl("quorum", "-c", str(sandbox_netns.cluster_file), "--if-down", "galera-1")
    assert quorum.code == 1
    assert "split brain" in quorum.stdout
