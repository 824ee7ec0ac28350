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
