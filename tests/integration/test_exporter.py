"""The exporter against a real cluster: compatible values, cluster-wide series, a dead member."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from galera import sql
from galera.controller import waiting
from tests.helpers import ROOT, galeractl, one_line_error
from tests.integration.conftest import SandboxHandle

pytestmark = pytest.mark.cluster

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def exporter(sandbox3: SandboxHandle) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "galera",
            "exporter",
            "-c",
            str(sandbox3.cluster_file),
            "--listen",
            f"127.0.0.1:{port}",
            "--label",
            "cluster=test",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "exporter did not start"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def one(samples: Samples, name: str, **labels: str) -> float:
    labels.setdefault("cluster", "test")
    return samples[(name, tuple(sorted(labels.items())))]


def show_status(handle: SandboxHandle, member: str) -> dict[str, str]:
    spec = handle.spec
    m = spec.member(member)
    conn = sql.connect(sql.Endpoint(m.host, m.port), spec.credentials())
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'wsrep%'")
            return {str(k): str(v) for k, v in cur.fetchall()}
    finally:
        conn.close()


def test_values_match_show_global_status_under_mysqld_exporter_names(
    sandbox3: SandboxHandle, exporter: str
) -> None:
    samples = scrape(exporter)
    stable = [
        "wsrep_cluster_size",
        "wsrep_local_state",
        "wsrep_last_committed",
        "wsrep_cluster_conf_id",
        "wsrep_local_index",
        "wsrep_cluster_weight",
    ]
    for member in ("galera-0", "galera-1", "galera-2"):
        status = show_status(sandbox3, member)
        assert one(samples, "mysql_up", member=member) == 1.0
        for variable in stable:
            assert one(samples, f"mysql_global_status_{variable}", member=member) == float(
                status[variable]
            ), (member, variable)
        # mysqld_exporter's mappings: Primary=1, ON=1.
        assert one(samples, "mysql_global_status_wsrep_cluster_status", member=member) == 1.0
        assert one(samples, "mysql_global_status_wsrep_ready", member=member) == 1.0
        assert one(samples, "mysql_galera_gcache_size_bytes", member=member) == 32 * 1024**2
    assert one(samples, "galera_quorum_margin_members") == 1.0
    assert one(samples, "galera_split_brain") == 0.0
    assert one(samples, "galera_cluster_verdict", verdict="healthy") == 1.0
    assert one(samples, "galera_member_local_state", member="galera-1", state="Synced") == 1.0


def test_a_dead_member_is_mysql_up_0_and_the_scrape_still_succeeds(
    sandbox3: SandboxHandle, exporter: str
) -> None:
    root = str(sandbox3.root)
    assert galeractl("sandbox", "kill", "galera-2", "--dir", root).code == 0
    sandbox3.wait(["galera-0"], waiting.primary_of_size(2), "size 2")
    samples = scrape(exporter)
    assert one(samples, "mysql_up", member="galera-2") == 0.0
    assert one(samples, "mysql_up", member="galera-0") == 1.0
    assert one(samples, "galera_quorum_margin_members") == 0.0
    assert one(samples, "galera_members_missing") == 1.0
    assert one(samples, "galera_exporter_member_errors_total", member="galera-2") >= 1.0
    assert (
        "mysql_global_status_wsrep_cluster_size",
        (("cluster", "test"), ("member", "galera-2")),
    ) not in samples
    assert galeractl("sandbox", "start", "galera-2", "--dir", root).code == 0
    assert one(scrape(exporter), "mysql_up", member="galera-2") == 1.0


def test_bad_listen_address_is_one_line_and_exit_2(sandbox3: SandboxHandle) -> None:
    result = galeractl("exporter", "-c", str(sandbox3.cluster_file), "--listen", "nowhere")
    assert result.code == 2
    assert "--listen" in one_line_error(result)
