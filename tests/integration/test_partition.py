"""Network partitions between members in their own namespaces (root and ip netns needed)."""

from __future__ import annotations

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
    assert cluster["verdict"] == "split_brain"
    assert "2 Primary components" in cluster["reason"]
    assert "galera-2" in cluster["reason"] and "galera-0, galera-1" in cluster["reason"]
    quorum = galeractl("quorum", "-c", str(sandbox_netns.cluster_file), "--if-down", "galera-1")
    assert quorum.code == 1
    assert "split brain" in quorum.stdout
