"""mysqld_exporter's value mapping and names, reproduced exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from galera.exporter import compat


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ON", 1.0),
        ("on", 1.0),
        ("YES", 1.0),
        ("OFF", 0.0),
        ("No", 0.0),
        ("DISABLED", 0.0),
        ("Primary", 1.0),
        ("non-Primary", 0.0),
        ("Disconnected", 0.0),
        ("42", 42.0),
        ("0.5", 0.5),
        ("-1", -1.0),
        ("1e3", 1000.0),
        ("Synced", None),
        ("", None),
        ("6c60474c-e8cf-11f1-81d5-3f0896c7a009", None),
        ("nan", None),
        ("inf", None),
        (":MULTI_MASTER:CERTIFICATION:", None),
    ],
    ids=lambda v: repr(v),
)
def test_values_map_like_mysqld_exporter(text: str, expected: float | None) -> None:
    assert compat.value(text) == expected


@pytest.mark.parametrize(
    ("variable", "name"),
    [
        ("wsrep_cluster_size", "mysql_global_status_wsrep_cluster_size"),
        ("WSREP_LOCAL_STATE", "mysql_global_status_wsrep_local_state"),
        ("wsrep-odd.name", "mysql_global_status_wsrep_odd_name"),
    ],
)
def test_names_are_lower_case_with_the_status_prefix(variable: str, name: str) -> None:
    assert compat.metric_name("mysql_global_status_", variable) == name


def test_evs_repl_latency_splits_into_five_series() -> None:
    parsed = compat.evs_repl_latency("4.91e-07/1.6626e-06/4.136e-06/1.34459e-06/5")
    assert parsed == {
        "min_seconds": 4.91e-07,
        "avg_seconds": 1.6626e-06,
        "max_seconds": 4.136e-06,
        "stdev": 1.34459e-06,
        "sample_size": 5.0,
    }


@pytest.mark.parametrize("text", ["", "1/2/3", "a/b/c/d/e", "1/2/3/4/5/6"])
def test_malformed_evs_latency_publishes_nothing(text: str) -> None:
    assert compat.evs_repl_latency(text) == {}


@given(st.text())
def test_any_status_text_maps_to_a_finite_number_or_nothing(text: str) -> None:
    number = compat.value(text)
    assert number is None or (number == number and abs(number) != float("inf"))


def test_a_standby_controller_publishes_only_that_it_is_not_the_leader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from galera.config.clusterfile import parse
    from galera.exporter.collector import GaleraCollector

    monkeypatch.setenv("DB_PASSWORD", "x")
    spec = parse(
        "credentials: {user: monitor, password_env: DB_PASSWORD}\n"
        "members: [{name: a, host: 127.0.0.1, port: 9}]\n",
        tmp_path / "cluster.yaml",
    )
    collector = GaleraCollector(spec, {"cluster": "c"})
    collector.active = False
    families = list(collector.collect())
    assert [f.name for f in families] == ["galeractl_controller_leader"]
    assert families[0].samples[0].value == 0
    assert families[0].samples[0].labels == {"cluster": "c"}


def test_rediscovered_members_keep_their_conflict_counts_at_new_addresses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from galera.config.clusterfile import ClusterSpec, parse
    from galera.exporter.collector import GaleraCollector
    from galera.exporter.conflicts import ConflictWatcher

    monkeypatch.setenv("DB_PASSWORD", "x")

    def spec_at(ip: str) -> ClusterSpec:
        return parse(
            "credentials: {user: monitor, password_env: DB_PASSWORD}\n"
            f"members: [{{name: a, host: {ip}, agent: 'http://{ip}:8008'}},"
            " {name: b, host: 10.0.0.2, agent: 'http://10.0.0.2:8008'}]\n",
            tmp_path / "cluster.yaml",
        )

    before = spec_at("10.0.0.1")
    watcher = ConflictWatcher(before)
    watcher.counts[("a", "shop.stock")] = 3
    collector = GaleraCollector(before, {}, watcher)
    untouched = watcher.clients["b"]
    collector.rediscovered(spec_at("10.0.9.9"))
    assert watcher.clients["a"].url == "http://10.0.9.9:8008"
    assert watcher.clients["b"] is untouched
    assert watcher.snapshot() == {("a", "shop.stock"): 3}
    assert collector.spec.member("a").host == "10.0.9.9"


def test_a_members_raw_read_gives_mysqld_exporters_galera_series() -> None:
    from galera.sql import Raw
    from tests.unit import builders

    raw = Raw(
        builders.status_rows(wsrep_evs_repl_latency="0.1/0.2/0.3/0.01/5"),
        builders.variable_rows(wsrep_cluster_name="orders"),
        (),
    )
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in compat.series("g0", raw)}
    member = (("member", "g0"),)
    assert samples[("mysql_global_status_wsrep_cluster_size", member)] == 1.0
    assert samples[("mysql_global_status_wsrep_ready", member)] == 1.0
    assert samples[("mysql_global_variables_wsrep_on", member)] == 1.0
    assert samples[("mysql_galera_gcache_size_bytes", member)] == 32 * 1024**2
    assert samples[("mysql_galera_evs_repl_latency_sample_size", member)] == 5.0
    assert samples[("mysql_galera_variables_info", (*member, ("wsrep_cluster_name", "orders")))]
    names = {name for name, _ in samples}
    assert "mysql_global_variables_read_only" not in names  # only wsrep_* rows are published
    assert "mysql_global_status_wsrep_local_state_comment" not in names  # not a number


def test_an_unreachable_member_publishes_only_its_availability_and_why() -> None:
    from galera.domain import health
    from galera.exporter import collector
    from tests.unit import builders

    snap = builders.one_crashed()
    verdicts = {v.name: v for v in health.cluster_verdict(snap).members}
    down = list(collector.member_samples(snap.get("galera-2"), verdicts["galera-2"]))
    assert down == [("galera_member_available", ("unreachable: connection refused",), 0.0)]
    up = {
        name for name, _, _ in collector.member_samples(snap.get("galera-0"), verdicts["galera-0"])
    }
    assert {"galera_member_available", "galera_member_local_state", "galera_view_conf_id"} <= up
