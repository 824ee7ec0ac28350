"""Benchmark: full-outage recovery of 3 members against its floor and an expert's script.

Each round runs a write load, then SIGKILLs every member, then recovers:
  galeractl: ``galeractl bootstrap --yes`` until every member is Synced
  floor:     the slowest member's ``--wsrep-recover`` + one member's start to Primary
             + the slowest IST join, each measured on its own
  expert:    ``--wsrep-recover`` on each member (in parallel), ``--wsrep-new-cluster`` with
             ``--wsrep-start-position`` on the most advanced, then the rest started at once
Printed with the ratios galeractl/floor (goal <= 1.3) and galeractl/expert (goal <= 1.0).

Usage: python bench/recovery.py [--base-port 24100] [--load-seconds 3] [--rounds 3] [--quick]
(--quick: one round, 1 s of load before each outage; medians of the rounds are compared)
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from common import sandbox, writer

from galera.agent.datadir import DataDir
from galera.controller import waiting
from galera.domain.position import Position
from galera.platforms import processes
from galera.platforms.sandbox import Sandbox

MARIADBD = "/usr/sbin/mariadbd"


def outage(box: Sandbox, seconds: float) -> None:
    """Write for ``seconds`` through every member, then SIGKILL them all at once."""
    with writer(box) as load:
        time.sleep(seconds)
        for m in box.data_members:
            box.kill(m.name, "KILL")
    print(f"  load: {len(load.stats.acked)} acknowledged writes before the outage")


def synced(box: Sandbox, names: list[str], timeout: float = 300) -> None:
    waiting.wait_for(box.spec(), names, timeout=timeout, interval=0.1)


def ours(box: Sandbox, quiet: bool = False) -> float:
    """``galeractl bootstrap`` to every member Synced; prints when each step was reported."""
    start = time.perf_counter()
    steps = []
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "galera",
            "bootstrap",
            "-c",
            str(box.cluster_file),
            "--yes",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if event["event"] in ("plan", "primary", "started", "synced", "summary"):
                said = event["event"] + (f" {event['member']}" if event.get("member") else "")
                steps.append(f"{said} {time.perf_counter() - start:.2f}s")
        if proc.wait() != 0:
            raise SystemExit(f"bootstrap failed: {proc.stderr.read() if proc.stderr else ''}")
    synced(box, [m.name for m in box.data_members])
    if not quiet:
        print(f"  galeractl steps: {', '.join(steps)}")
    return time.perf_counter() - start


def floor(box: Sandbox) -> tuple[float, float, float]:
    names = [m.name for m in box.data_members]
    clients = {n: box.client(n, timeout=600) for n in names}
    recovered = {}
    durations = []
    for name in names:  # one at a time: each measured on its own
        start = time.perf_counter()
        recovered[name] = Position.parse(clients[name].recover()["position"])
        durations.append(time.perf_counter() - start)
    first = max(names, key=lambda n: recovered[n].seqno)
    start = time.perf_counter()
    clients[first].mark(str(recovered[first]))
    clients[first].start("bootstrap")
    synced(box, [first])
    primary = time.perf_counter() - start
    joins = []
    for name in names:
        if name == first:
            continue
        start = time.perf_counter()
        clients[name].start("join")
        synced(box, [name])
        joins.append(time.perf_counter() - start)
    return max(durations), primary, max(joins)


def expert(box: Sandbox) -> float:
    """The classic manual procedure, scripted, with no agent involved."""
    members = box.data_members
    start = time.perf_counter()

    def recover(m: object) -> Position:
        data = DataDir(m.datadir, m.home, m.name)  # type: ignore[attr-defined]
        return data.recover(MARIADBD, m.home / "my.cnf")  # type: ignore[attr-defined]

    with ThreadPoolExecutor(len(members)) as pool:
        positions = dict(zip([m.name for m in members], pool.map(recover, members), strict=True))
    first = max(members, key=lambda m: positions[m.name].seqno)
    DataDir(first.datadir, first.home, first.name).set_safe_to_bootstrap()

    pids: list[int] = []

    def launch(m: object, *extra: str) -> None:
        cmd = [
            MARIADBD,
            f"--defaults-file={m.home / 'my.cnf'}",  # type: ignore[attr-defined]
            f"--wsrep-start-position={positions[m.name]}",
            *extra,
        ]  # type: ignore[attr-defined]
        pids.append(processes.spawn_detached(cmd, m.home / "expert.out"))  # type: ignore[attr-defined]

    launch(first, "--wsrep-new-cluster")
    synced(box, [first.name])
    for m in members:
        if m is not first:
            launch(m)
    synced(box, [m.name for m in members])
    took = time.perf_counter() - start
    # Hand the members back to their agents (the next round kills them through the agents):
    # an untimed outage and bootstrap.
    for pid in pids:
        processes.terminate(pid, sig=signal.SIGKILL, timeout=10)
    ours(box, quiet=True)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-port", type=int, default=24100)
    parser.add_argument("--load-seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3, help="outages per method (medians)")
    parser.add_argument("--quick", action="store_true", help="1 round, 1 s of load per outage")
    args = parser.parse_args()
    if args.quick:
        args.load_seconds, args.rounds = 1.0, 1
    ours_t, floor_t, expert_t = [], [], []
    with sandbox(3, args.base_port, "recovery") as box:
        for _ in range(args.rounds):  # interleaved, so that a slow moment hits all three
            outage(box, args.load_seconds)
            ours_t.append(ours(box))
            print(f"  galeractl bootstrap to all Synced: {ours_t[-1]:.2f}s")
            outage(box, args.load_seconds)
            recover, primary, join = floor(box)
            floor_t.append(recover + primary + join)
            print(
                f"  floor: recover {recover:.2f}s + first to Primary {primary:.2f}s + "
                f"slowest IST join {join:.2f}s = {floor_t[-1]:.2f}s"
            )
            outage(box, args.load_seconds)
            expert_t.append(expert(box))
            print(f"  expert script to all Synced: {expert_t[-1]:.2f}s")
    t_ours, t_floor, t_expert = (statistics.median(t) for t in (ours_t, floor_t, expert_t))
    print(
        f"recovery  members=3  rounds={args.rounds}  galeractl={t_ours:.2f}s  "
        f"floor={t_floor:.2f}s (medians)  ratio={t_ours / t_floor:.2f} (goal <= 1.3)"
    )
    print(
        f"recovery  members=3  rounds={args.rounds}  galeractl={t_ours:.2f}s  "
        f"expert={t_expert:.2f}s (medians)  ratio={t_ours / t_expert:.2f} (goal <= 1.0)"
    )


if __name__ == "__main__":
    main()
