"""Benchmark: a rolling restart of 3 members under a steady writer, against its floor.

  floor:     each member's plain restart (stop, start, Synced), one at a time, summed
  galeractl: ``galeractl rolling-restart --yes`` (gates, IST forecast, graceful stops)
Both run under the same continuous writer, alternating, ``--rounds`` times: a member's
rejoin takes 1.5 to 5 s depending on Galera's membership timers, so one round of each is
mostly noise; the medians are compared. Printed: the ratio of the medians galeractl/floor
(goal <= 1.25), the longest stall any writer saw between two acknowledged writes,
acknowledged writes lost (must be 0) and full SSTs performed (must be 0).

Usage: python bench/rolling.py [--base-port 24200] [--drain-seconds 0] [--rounds 5] [--quick]
(--quick: one round; the ratio is then mostly noise, but every step runs)
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import endpoints, galeractl, sandbox, writer

from galera.controller import waiting
from galera.platforms.sandbox import Sandbox
from galera.testing import workload


def floor(box: Sandbox) -> float:
    names = [m.name for m in box.data_members]
    total = 0.0
    for name in names:
        client = box.client(name, timeout=300)
        start = time.perf_counter()
        client.stop()
        client.start("join")
        waiting.wait_for(box.spec(), names, timeout=300, interval=0.1)
        total += time.perf_counter() - start
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-port", type=int, default=24200)
    parser.add_argument("--drain-seconds", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one round")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    with sandbox(3, args.base_port, "rolling") as box:
        ssts = box.full_ssts()
        floors: list[float] = []
        ours: list[float] = []
        floor_stall = our_stall = 0.0
        with writer(box) as load:
            load.wait_for_acks(200)
            for _ in range(args.rounds):
                load.stats.longest_stall = 0.0
                floors.append(floor(box))
                floor_stall = max(floor_stall, load.stats.longest_stall)
                load.stats.longest_stall = 0.0
                start = time.perf_counter()
                result = galeractl(
                    "rolling-restart",
                    "-c",
                    str(box.cluster_file),
                    "--yes",
                    "--drain-seconds",
                    str(args.drain_seconds),
                )
                ours.append(time.perf_counter() - start)
                our_stall = max(our_stall, load.stats.longest_stall)
                if result.returncode != 0:
                    raise SystemExit(f"rolling-restart failed: {result.stderr}")
            load.wait_for_acks(len(load.stats.acked) + 100)
        t_floor, t_ours = statistics.median(floors), statistics.median(ours)
        check = workload.check(endpoints(box), box.spec().credentials(), load.stats.acked)
        lost = sum(len(v) for v in check.missing.values())
        print(
            "  floor: plain restarts one at a time: "
            f"{', '.join(f'{t:.2f}' for t in floors)}s (longest writer stall {floor_stall:.2f}s)"
        )
        print(f"  galeractl rolling-restart: {', '.join(f'{t:.2f}' for t in ours)}s")
        print(
            f"  {len(load.stats.acked)} acknowledged writes, {len(load.stats.in_doubt)} "
            f"in doubt; {check.message}"
        )
        print(
            f"rolling  members=3  rounds={args.rounds}  galeractl={t_ours:.2f}s  "
            f"floor={t_floor:.2f}s (medians)  ratio={t_ours / t_floor:.2f} "
            f"(goal <= 1.25, drain {args.drain_seconds:.1f}s)"
        )
        print(
            f"rolling  longest_write_stall={our_stall:.2f}s  "
            f"acknowledged_lost={lost}  full_ssts={box.full_ssts() - ssts}"
        )


if __name__ == "__main__":
    main()
