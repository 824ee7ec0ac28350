"""Benchmark: a rolling restart of 3 members under a steady writer, against its floor.

  floor:     each member's plain restart (stop, start, Synced), one at a time, summed
  galeractl: ``galeractl rolling-restart --yes`` (gates, IST forecast, graceful stops)
Both run under the same continuous writer. Printed: the ratio galeractl/floor (goal <= 1.25),
the longest stall any writer saw between two acknowledged writes, acknowledged writes lost
(must be 0) and full SSTs performed (must be 0).

Usage: python bench/rolling.py [--base-port 23800] [--drain-seconds 0]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from galera import sql
from galera.controller import waiting
from galera.platforms.sandbox import Sandbox
from galera.testing import workload


def galeractl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "galera", *args], capture_output=True, text=True, check=False
    )


def writer_for(sandbox: Sandbox) -> workload.Writer:
    spec = sandbox.spec()
    endpoints = [sql.Endpoint(m.host, m.port) for m in spec.members]
    return workload.Writer(endpoints, spec.credentials(), threads=3)


def floor(sandbox: Sandbox) -> float:
    names = [m.name for m in sandbox.data_members]
    total = 0.0
    for name in names:
        client = sandbox.client(name, timeout=300)
        start = time.perf_counter()
        client.stop()
        client.start("join")
        waiting.wait_for(sandbox.spec(), names, timeout=300, interval=0.1)
        total += time.perf_counter() - start
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-port", type=int, default=23800)
    parser.add_argument("--drain-seconds", type=float, default=0.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gbench-rolling-")) / "sb"
    try:
        up = galeractl("sandbox", "up", "--dir", str(root), "--base-port", str(args.base_port))
        if up.returncode != 0:
            raise SystemExit(f"sandbox up failed: {up.stderr}")
        sandbox = Sandbox.load(root)
        ssts = sandbox.full_ssts()
        with writer_for(sandbox) as writer:
            writer.wait_for_acks(200)
            t_floor = floor(sandbox)
            floor_stall = writer.stats.longest_stall
            writer.stats.longest_stall = 0.0
            start = time.perf_counter()
            result = galeractl(
                "rolling-restart",
                "-c",
                str(sandbox.cluster_file),
                "--yes",
                "--drain-seconds",
                str(args.drain_seconds),
            )
            t_ours = time.perf_counter() - start
            if result.returncode != 0:
                raise SystemExit(f"rolling-restart failed: {result.stderr}")
            writer.wait_for_acks(len(writer.stats.acked) + 100)
        spec = sandbox.spec()
        endpoints = [sql.Endpoint(m.host, m.port) for m in spec.members]
        check = workload.check(endpoints, spec.credentials(), writer.stats.acked)
        lost = sum(len(v) for v in check.missing.values())
        print(
            f"  floor: plain restarts one at a time: {t_floor:.2f}s "
            f"(longest writer stall {floor_stall:.2f}s)"
        )
        print(
            f"  {len(writer.stats.acked)} acknowledged writes, {len(writer.stats.in_doubt)} "
            f"in doubt; {check.message}"
        )
        print(
            f"rolling  members=3  galeractl={t_ours:.2f}s  floor={t_floor:.2f}s  "
            f"ratio={t_ours / t_floor:.2f} (goal <= 1.25, drain {args.drain_seconds:.1f}s)"
        )
        print(
            f"rolling  longest_write_stall={writer.stats.longest_stall:.2f}s  "
            f"acknowledged_lost={lost}  full_ssts={sandbox.full_ssts() - ssts}"
        )
    finally:
        if (root / "sandbox.json").exists():
            galeractl("sandbox", "down", "--purge", "--dir", str(root))
        shutil.rmtree(root.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
