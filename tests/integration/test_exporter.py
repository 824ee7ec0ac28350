"""The exporter against a real cluster: compatible values, cluster-wide series, a dead member."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from galera import sql, tls
from galera.config import certdir, endpoints
from galera.controller import waiting
from tests.helpers import galeractl, one_line_error
from tests.integration.conftest import SandboxHandle, free_port, running_exporter, scrape

pytestmark = pytest.mark.cluster

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def exporter(sandbox3: SandboxHandle) -> Iterator[str]:
    with running_exporter(sandbox3.cluster_file, "--conflict-interval", "1") as url:
        yield url


def one(samples: Samples, name: str, **labels: str) -> float:
    labels.setdefault("cluster", "test")
    return samples[(name, tuple(sorted(labels.items())))]


def show_status(handle: SandboxHandle, member: str) -> dict[str, str]:
    spec = handle.spec
    m = spec.member(member)
    conn = sql.connect(endpoints.of_member(spec, m), spec.credentials())
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
    # TLS on by default: the certificate each member presents, and when it expires.
    assert one(samples, "galera_tls_enabled") == 1.0
    for member in ("galera-0", "galera-1", "galera-2"):
        cert = certdir.files(sandbox3.root / "tls", member).cert
        assert cert is not None
        expires = tls.not_after(cert).timestamp()
        served = one(samples, "galera_tls_certificate_expiry_timestamp_seconds", member=member)
        assert served == expires and served > time.time() + 300 * 86400


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


def _hammer(handle: SandboxHandle, members: list[str], updates: int) -> None:
    """Concurrent updates of one row through several members: certification conflicts."""
    import threading

    spec = handle.spec

    def work(name: str) -> None:
        m = spec.member(name)
        conn = sql.connect(endpoints.of_member(spec, m), spec.credentials())
        conn.autocommit(False)
        try:
            for _ in range(updates):
                try:
                    with conn.cursor() as cur:
                        cur.execute("UPDATE shop.stock SET qty = qty - 1 WHERE id = 1")
                    conn.commit()
                except Exception:
                    conn.rollback()
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_real_conflicts_raise_the_counters_and_are_attributed_to_the_table(
    sandbox3: SandboxHandle, exporter: str
) -> None:
    first = sandbox3.spec.member("galera-0")
    sql.execute(
        endpoints.of_member(sandbox3.spec, first),
        sandbox3.spec.credentials(),
        [
            "CREATE DATABASE IF NOT EXISTS shop",
            "CREATE TABLE IF NOT EXISTS shop.stock (id INT PRIMARY KEY, qty INT)",
            "REPLACE INTO shop.stock VALUES (1, 1000000), (2, 1000000)",
        ],
    )
    enabled = galeractl(
        "conflicts",
        "-c",
        str(sandbox3.cluster_file),
        "--enable-logging",
        "--since",
        "10m",
        "-o",
        "json",
    )
    assert enabled.code == 0, enabled.stderr
    assert all(m["log_conflicts_enabled"] for m in enabled.json()["members"])
    before = scrape(exporter)

    def conflicts_of(samples: Samples) -> float:
        return sum(
            one(samples, f"mysql_global_status_wsrep_local_{kind}", member=m)
            for kind in ("cert_failures", "bf_aborts")
            for m in ("galera-0", "galera-1")
        )

    _hammer(sandbox3, ["galera-0", "galera-1"], 300)
    after = scrape(exporter)
    assert conflicts_of(after) > conflicts_of(before)
    result = galeractl(
        "conflicts", "-c", str(sandbox3.cluster_file), "--since", "10m", "-o", "json"
    )
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["conflicts"] > 0
    assert report["tables"][0]["table"] == "shop.stock"
    assert sum(m["logged"] for m in report["members"]) == report["conflicts"]
    table = galeractl("conflicts", "-c", str(sandbox3.cluster_file), "--since", "10m")
    assert "shop.stock" in table.stdout
    deadline = time.monotonic() + 30
    while True:  # the exporter reads the logs in the background, every second here
        per_table = {
            labels: v
            for (name, labels), v in scrape(exporter).items()
            if name == "galera_conflicts_total"
        }
        stock = sum(v for labels, v in per_table.items() if ("table", "shop.stock") in labels)
        if stock >= report["conflicts"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert stock == report["conflicts"]


def test_every_series_the_rules_and_dashboard_use_is_published(
    exporter: str, sandbox3: SandboxHandle
) -> None:
    import re

    from tests.cli.test_monitoring import CONTROLLER, EXPORTED, MONITORING, WHILE_PAUSED

    published = {name for name, _labels in scrape(exporter)}
    assert published >= EXPORTED - WHILE_PAUSED, sorted(EXPORTED - WHILE_PAUSED - published)
    assert not published & WHILE_PAUSED
    cluster = str(sandbox3.cluster_file)
    assert galeractl("pause", "-c", cluster, "--reason", "series", "--for", "1h").code == 0
    try:
        published |= {name for name, _labels in scrape(exporter)}
    finally:
        assert galeractl("resume", "-c", cluster).code == 0
    assert published >= WHILE_PAUSED, sorted(WHILE_PAUSED - published)
    used = set(
        re.findall(
            r"\b((?:mysql|galera)_[a-z0-9_]+)\b",
            (MONITORING / "galera-alerts.yaml").read_text()
            + (MONITORING / "galera-dashboard.json").read_text(),
        )
    )
    # The controller's own series are checked on its /metrics (test_bootstrap).
    assert used - CONTROLLER <= published, sorted(used - CONTROLLER - published)


PEER = "/usr/bin/prometheus-mysqld-exporter"


def test_names_and_values_match_a_real_mysqld_exporter(
    sandbox3: SandboxHandle, exporter: str, tmp_path: pytest.TempPathFactory
) -> None:
    import os
    from pathlib import Path

    if not Path(PEER).exists():
        pytest.skip("prometheus-mysqld-exporter is not installed (scripts/setup installs it)")
    spec = sandbox3.spec
    member = spec.member("galera-1")
    credentials = spec.credentials()
    cnf = Path(str(tmp_path)) / "peer.cnf"
    fd = os.open(cnf, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(
            f"[client]\nuser={credentials.user}\npassword={credentials.password}\n"
            f"host={member.host}\nport={member.port}\nssl-ca={spec.tls_ca}\n"
        )
    port = free_port()
    peer = subprocess.Popen(
        [PEER, f"--config.my-cnf={cnf}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 20
        while True:
            try:
                theirs = scrape(url)
                break
            except OSError:
                assert time.monotonic() < deadline, "mysqld_exporter did not start"
                time.sleep(0.2)
        ours = scrape(exporter)
    finally:
        peer.terminate()
        peer.wait(10)
    their_wsrep = {
        name: v
        for (name, labels), v in theirs.items()
        if name.startswith("mysql_global_status_wsrep_")
    }
    our_wsrep = {
        name: v
        for (name, labels), v in ours.items()
        if name.startswith("mysql_global_status_wsrep_") and ("member", "galera-1") in labels
    }
    assert their_wsrep, "the peer published no wsrep series"
    missing = sorted(set(their_wsrep) - set(our_wsrep))
    assert not missing, f"names mysqld_exporter publishes and we do not: {missing}"
    for name in (
        "mysql_global_status_wsrep_cluster_size",
        "mysql_global_status_wsrep_ready",
        "mysql_global_status_wsrep_cluster_status",
        "mysql_global_status_wsrep_local_state",
        "mysql_global_status_wsrep_connected",
    ):
        assert our_wsrep[name] == their_wsrep[name], name
    assert any(name == "mysql_galera_status_info" for name, _ in theirs) == any(
        name == "mysql_galera_status_info" for name, _ in ours
    )
