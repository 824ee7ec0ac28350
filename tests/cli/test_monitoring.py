"""The shipped alert rules and dashboard: promtool unit tests, and only real series used."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.helpers import ROOT

MONITORING = ROOT / "monitoring"
# Every series name the exporter publishes that the rules and dashboard may use.
EXPORTED_PREFIXES = ("mysql_global_status_wsrep_", "mysql_global_variables_wsrep_", "mysql_galera_")
EXPORTED = {
    "mysql_up",
    "galera_tls_enabled",
    "galera_cluster_paused",
    "galera_cluster_paused_since_timestamp_seconds",
    "galera_cluster_pause_expected_end_timestamp_seconds",
    "galera_tls_certificate_expiry_timestamp_seconds",
    "galera_quorum_margin_members",
    "galera_quorum_margin_weight",
    "galera_expected_size",
    "galera_primary_component_size",
    "galera_members_missing",
    "galera_split_brain",
    "galera_primary_components",
    "galera_stale_view_members",
    "galera_stale_view_reads_total",
    "galera_cluster_verdict",
    "galera_member_available",
    "galera_member_local_state",
    "galera_flow_control_active",
    "galera_flow_control_paused_seconds_total",
    "galera_ist_window_writesets",
    "galera_evs_delayed_peers",
    "galera_evs_evicted_peers",
    "galera_view_conf_id",
    "galera_exporter_member_errors_total",
    "galera_exporter_scrape_duration_seconds",
    "galera_conflicts_total",
}
# What the exporter publishes only while the cluster is paused (galeractl pause).
WHILE_PAUSED = {
    "galera_cluster_paused_since_timestamp_seconds",
    "galera_cluster_pause_expected_end_timestamp_seconds",
}
# What only the controller's /metrics publishes (it knows what the controller decided).
CONTROLLER = {"galera_member_held_down"}
_NAME = re.compile(r"\b((?:mysql|galera)_[a-z0-9_]+)\b")


def _names(expr: str) -> set[str]:
    return set(_NAME.findall(expr))


def _known(name: str) -> bool:
    return name in EXPORTED or name in CONTROLLER or name.startswith(EXPORTED_PREFIXES)


def test_alert_rules_pass_their_promtool_unit_tests() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    checked = subprocess.run(
        [promtool, "check", "rules", "galera-alerts.yaml"],
        cwd=MONITORING,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", "tests/alerts_test.yaml"],
        cwd=MONITORING,
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_alert_rules_cover_the_required_cases_and_use_exported_series() -> None:
    rules = yaml.safe_load((MONITORING / "galera-alerts.yaml").read_text())["groups"][0]["rules"]
    names = {r["alert"] for r in rules}
    assert {
        "GaleraQuorumLost",
        "GaleraQuorumMarginZero",
        "GaleraSplitBrain",
        "GaleraMemberNotReady",
        "GaleraOutOfSync",
        "GaleraDonorFallingBehind",
        "GaleraFlowControlPaused",
        "GaleraConflictRateSpike",
        "GaleraMemberHeldDown",
    } <= names
    for rule in rules:
        unknown = [n for n in _names(rule["expr"]) if not _known(n)]
        assert not unknown, f"{rule['alert']} uses series the exporter does not publish: {unknown}"


def test_dashboard_is_valid_json_using_only_exported_series() -> None:
    dashboard = json.loads((MONITORING / "galera-dashboard.json").read_text())
    titles = [p["title"] for p in dashboard["panels"]]
    assert any("Quorum margin" in t for t in titles)
    assert any("Flow control" in t for t in titles)
    assert any("IST window" in t for t in titles)
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            unknown = [n for n in _names(target["expr"]) if not _known(n)]
            assert not unknown, f"panel {panel['title']!r} uses unknown series {unknown}"
