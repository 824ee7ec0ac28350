"""Benchmark: a nemesis run: faults under a writer, ``galeractl controller`` the only repairer.

Three members (each in its own network namespace when this machine allows, so that
partitions are possible), a continuous writer through every member, and ``galeractl
controller`` on autopilot with its default graces, as a subprocess. Faults are drawn, with a
printed seed, from the classes of ``galera/testing/faults.py``: SIGKILL of one, two or all
members; crashes and graceful stops the agents hold down; SIGSTOP/SIGCONT; partitions of one
member, of every member from every other and of the controller from one member; the
controller SIGKILLed mid-bootstrap; a rollout SIGKILLed mid-step; two controllers at once; a
CLI command racing the controller. After each fault: the time until the cluster is healthy
again with no person's action (MTTR). At the end: every acknowledged write on every member
(causal reads), identical members (CHECKSUM TABLE), and no read that saw a split brain.

Printed: a table per fault class (count, MTTR median and max, writes lost, split-brain reads,
bootstraps) and the goals: the full-outage MTTR at most the controller's no-Primary grace +
1.3 x the floor of bench/recovery.py (measured here, in the same run, by its own function),
and no bootstrap in any fault that left a Primary component.

Usage: python bench/nemesis.py [--faults 15] [--seed S] [--quick] [--base-port 24700]
       [--classes a,b,...] [--no-netns] [--netns-number 5] [--report FILE] [--logs DIR]
(--quick: the short form, six faults of six classes, as tests/nemesis runs it)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import sandbox
from recovery import floor, outage

from galera.platforms.netns import Network
from galera.testing import nemesis, workload
from galera.testing.faults import CLASSES


def netns_problem() -> str | None:
    """Why members cannot have network namespaces here, or None."""
    if os.geteuid() != 0:
        return "needs root"
    if shutil.which("ip") is None or shutil.which("iptables") is None:
        return "needs iproute2 and iptables"
    return Network().available()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", type=int, default=15, help="faults in the long form")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    parser.add_argument("--quick", action="store_true", help="the short form: six faults")
    parser.add_argument("--base-port", type=int, default=24700)
    parser.add_argument("--classes", default=None, help="comma-separated fault classes")
    parser.add_argument("--no-netns", action="store_true", help="members on loopback only")
    parser.add_argument("--netns-number", type=int, default=5, help="the sandbox network")
    parser.add_argument("--report", type=Path, default=None, help="write the report as JSON")
    parser.add_argument("--logs", type=Path, default=None, help="keep galeractl's logs here")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    problem = "--no-netns" if args.no_netns else netns_problem()
    netns = problem is None
    classes = args.classes.split(",") if args.classes else None
    unknown = [c for c in classes or [] if c not in CLASSES]
    if unknown:
        raise SystemExit(f"unknown fault class {unknown[0]!r}; known: {', '.join(CLASSES)}")
    if args.quick:
        order = nemesis.quick(netns)
    else:
        order = nemesis.schedule(args.faults, seed, netns, classes)
    logs = args.logs or Path(tempfile.mkdtemp(prefix=f"gnemesis-{seed}-"))
    print(f"nemesis  seed={seed}  faults={len(order)}  netns={'yes' if netns else problem}")
    print(f"  order: {', '.join(order)}")
    print(f"  logs: {logs}")
    sys.stdout.flush()
    extra = ["--netns", "--netns-number", str(args.netns_number)] if netns else []
    report = nemesis.Report(seed, netns, [])
    started = time.monotonic()
    with sandbox(3, args.base_port, "nemesis", extra=extra) as box:
        # The floor, as bench/recovery.py measures it, before the controller watches.
        outage(box, 1.0)
        recover, primary, join = floor(box)
        report.floor = recover + primary + join
        print(
            f"  floor: recover {recover:.2f}s + first to Primary {primary:.2f}s + slowest IST "
            f"join {join:.2f}s = {report.floor:.2f}s"
        )
        endpoints = nemesis.endpoints(box)
        writer = workload.Writer(endpoints, box.spec().credentials(), max_seconds=1e9)
        try:
            with nemesis.running(box, logs, netns, args.quick) as ctx, writer:
                writer.wait_for_acks(50)
                report.outcomes = nemesis.run(ctx, order, seed, writer, say=_say)
                watcher = ctx.watcher
        finally:
            if args.report:  # whatever happened, what was seen so far
                args.report.write_text(json.dumps(report.as_dict(), indent=2))
        report.final = nemesis.final_check(box, writer, watcher)
    if args.report:
        args.report.write_text(json.dumps(report.as_dict(), indent=2))
    print(f"\nnemesis  seed={seed}  {len(order)} faults in {time.monotonic() - started:.0f}s")
    print(nemesis.table(report.outcomes))
    print(report.final.message)
    for goal in nemesis.goals(report):
        print(goal)


def _say(text: str) -> None:
    print(f"  {text}", flush=True)


if __name__ == "__main__":
    main()
