"""The nemesis in its short form (``bench/nemesis.py --quick``): six faults of six classes
on three real members under a writer, ``galeractl controller`` the only repairer.

The run happens once for the module; each test reads one property off its report. Figures
(the times to recovery) are printed, never asserted: the tests assert behaviour.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.cluster

BASE_PORT = 25400  # loopback members only (with network namespaces every member has its own)
NETNS_NUMBER = 6  # the sandbox network: beside test_partition's (0) and the benchmark's (5)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("nemesis")
    path = out / "report.json"
    offset = int(os.environ.get("GALERACTL_TEST_PORT_OFFSET", "0"))
    result = subprocess.run(
        [
            sys.executable,
            "bench/nemesis.py",
            "--quick",
            "--seed",
            "12",
            "--base-port",
            str(BASE_PORT + offset),
            "--netns-number",
            str(NETNS_NUMBER),
            "--report",
            str(path),
            "--logs",
            str(out / "logs"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stderr[-3000:]
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _said(outcome: dict[str, Any]) -> str:
    return f"{outcome['fault']}: {outcome['detail']}; {'; '.join(outcome['notes'])}"


def test_the_short_form_injects_six_classes_of_fault(report: dict[str, Any]) -> None:
    faults = [o["fault"] for o in report["outcomes"]]
    assert len(set(faults)) == len(faults) == 6
    assert {"crash-all", "kill-all", "stop-one", "pause"} <= set(faults)
    if report["netns"]:
        assert {"partition-one", "partition-all"} <= set(faults)


def test_every_fault_is_healed_without_a_person(report: dict[str, Any]) -> None:
    for outcome in report["outcomes"]:
        assert outcome["mttr"] is not None, _said(outcome)
        assert not outcome["rescued"], _said(outcome)
        assert outcome["unhealthy"], f"the fault had no effect: {_said(outcome)}"


def test_no_acknowledged_write_is_lost_and_the_members_are_identical(
    report: dict[str, Any],
) -> None:
    final = report["final"]
    assert final["acknowledged"] > 0
    assert final["missing"] == 0, final["message"]
    assert final["identical"], final["checksums"]
    for outcome in report["outcomes"]:
        assert outcome["lost"] == 0, _said(outcome)


def test_no_read_ever_sees_a_split_brain(report: dict[str, Any]) -> None:
    assert report["final"]["split_reads"] == 0
    for outcome in report["outcomes"]:
        assert outcome["split_reads"] == 0, _said(outcome)


def test_only_a_full_outage_is_bootstrapped(report: dict[str, Any]) -> None:
    """A crash of every member held down by the agents leaves nothing to re-form the
    component: the controller bootstraps. Every other fault heals without a bootstrap."""
    for outcome in report["outcomes"]:
        if outcome["fault"] == "crash-all":
            assert outcome["bootstraps"] >= 1, _said(outcome)
        elif not outcome["outage"]:
            assert outcome["bootstraps"] == 0, _said(outcome)
