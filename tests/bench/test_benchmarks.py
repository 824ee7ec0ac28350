"""Every benchmark runs in quick mode in the suite, so that none can rot.

Only a crash fails here: the figures depend on the machine and are printed, never asserted
(a benchmark's ratio against its floor or peer is read by people, in the same run).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.containers.conftest import engine, images  # noqa: F401 (fixtures)
from tests.helpers import ROOT

pytestmark = pytest.mark.cluster

BENCHMARKS = {
    "status": 25000,
    "recovery": 25100,
    "rolling": 25200,
    "exporter": 25300,
}


def quick_ratios(name: str, base_port: int, *extra: str) -> list[str]:
    """Run ``bench/NAME.py --quick``; the lines in which it printed a ratio."""
    result = subprocess.run(
        [sys.executable, f"bench/{name}.py", "--quick", "--base-port", str(base_port), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stderr[-3000:]
    return [line for line in result.stdout.splitlines() if "ratio=" in line]


@pytest.mark.parametrize(("name", "base_port"), BENCHMARKS.items(), ids=BENCHMARKS.keys())
def test_benchmark_runs_in_quick_mode_and_prints_its_ratio(name: str, base_port: int) -> None:
    assert quick_ratios(name, base_port), f"bench/{name}.py printed no ratio"


def test_backup_benchmark_restores_three_members_without_a_full_sst() -> None:
    """Its restore comparison: the three restored members took no full SST, the one
    restored member's two joiners took two."""
    backup, restored = quick_ratios("backup", 25600)
    assert backup.startswith("backup  member=galera-1"), backup
    assert restored.startswith("restore  members=3"), restored
    assert "(full SSTs 0)  one+SST=" in restored and "(full SSTs 2) (medians)" in restored


def test_rolling_through_the_proxy_runs_in_quick_mode_and_loses_nothing() -> None:
    (line,) = quick_ratios("rolling", 25500, "--proxy")
    assert line.startswith("rolling-proxy  members=3") and "acknowledged_lost=0" in line, line


@pytest.mark.containers
@pytest.mark.usefixtures("images")  # a Docker engine, the images built
def test_container_benchmark_runs_in_quick_mode_and_prints_its_ratio() -> None:
    assert quick_ratios("containers", 25400), "bench/containers.py printed no ratio"


RUN_ELSEWHERE = {"nemesis": "tests/nemesis"}  # its --quick run is a test of its own there


def test_every_benchmark_is_run_here() -> None:
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py")} - {"common"}
    assert scripts == set(BENCHMARKS) | set(RUN_ELSEWHERE) | {"containers", "backup"}
    for place in RUN_ELSEWHERE.values():
        assert (ROOT / place).is_dir()
