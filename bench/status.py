"""Benchmark: wall time of ``galeractl status`` against sequential ``mariadb`` CLI calls.

For 3 and 7 members, in the same run, on a real sandbox:
  galeractl:  ``galeractl status -c cluster.yaml -o json`` (parallel reads, one process)
  peer:       for each member in turn, ``mariadb -e "SHOW GLOBAL STATUS LIKE 'wsrep%'"``
Both are whole commands, timed from a cold process start; the median of --repeat runs is
printed with the ratio galeractl/peer (below 1.0: galeractl is faster). The RSS of every
agent process is printed against the 40 MB target.

Usage: python bench/status.py [--repeat 15] [--sizes 3,7] [--base-port 24000] [--quick]
(--quick: 3 members, 3 repeats; the test suite runs it so that it cannot rot)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import sandbox

RSS_TARGET_MB = 40.0


def timed(cmds: list[list[str]], repeat: int) -> float:
    """Median wall time of running ``cmds`` one after the other, ``repeat`` times."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for cmd in cmds:
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode not in (0, 1):
                raise SystemExit(f"{cmd[0]} failed: {result.stderr.strip()}")
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_size(nodes: int, repeat: int, base_port: int) -> None:
    with sandbox(nodes, base_port, f"status{nodes}") as box:
        ours = [
            [sys.executable, "-m", "galera", "status", "-c", str(box.cluster_file), "-o", "json"]
        ]
        peer = [
            [
                "mariadb",
                f"--defaults-extra-file={box.client_cnf}",
                "-h",
                m.address,
                "-P",
                str(m.sql_port),
                "--batch",
                "-e",
                "SHOW GLOBAL STATUS LIKE 'wsrep%'",
            ]
            for m in box.data_members
        ]
        timed(ours, 2)  # warm the page cache for both
        timed(peer, 2)
        t_ours = timed(ours, repeat)
        t_peer = timed(peer, repeat)
        print(
            f"status  members={nodes}  galeractl={t_ours * 1000:.0f}ms  "
            f"sequential-mariadb={t_peer * 1000:.0f}ms  ratio={t_ours / t_peer:.2f}"
        )
        rss = [rss_mb(pid) for pid in box.state["agent_pids"].values()]
        print(
            f"agent   members={nodes}  rss_max={max(rss):.1f}MB  target={RSS_TARGET_MB:.0f}MB  "
            f"ratio={max(rss) / RSS_TARGET_MB:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--sizes", default="3,7")
    parser.add_argument("--base-port", type=int, default=24000)
    parser.add_argument("--quick", action="store_true", help="3 members, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.sizes = 3, "3"
    for nodes in (int(n) for n in args.sizes.split(",")):
        bench_size(nodes, args.repeat, args.base_port)


if __name__ == "__main__":
    main()
