"""Benchmark: a rolling restart of 3 members under a steady writer, against its floor.

  floor:     each member's plain restart (stop, start, Synced), one at a time, summed
  galeractl: ``galeractl rolling-restart --yes`` (gates, IST forecast, graceful stops)
Both run under the same continuous writer, alternating, ``--rounds`` times: a member's
rejoin takes 1.5 to 5 s depending on Galera's membership timers, so one round of each is
mostly noise; the medians are compared. Printed: the ratio of the medians galeractl/floor
(goal <= 1.25), the longest stall any writer saw between two acknowledged writes,
acknowledged writes lost (must be 0) and full SSTs performed (must be 0).

TLS (the sandbox's default: replication, IST and SST encrypted, galeractl's SQL and agent
calls too) against plaintext: a second sandbox made with ``--no-tls`` comes up beside the
first and, once the rounds above are done, ``rolling-restart`` runs ``--rounds`` times on
it under a writer of its own (one writer at a time: a second one would load the machine
during the other sandbox's restarts). The medians with TLS and without and their ratio
are printed, with no goal.

Through a proxy (``--proxy``, instead of the above): a sandbox made with ``--proxy`` (a real
HAProxy whose writer frontend follows the agents' /health/writer), a writer whose only way
in is that frontend, and per round:

  plain:        each member restarted in turn (stop, start, Synced), the writer like any
                other: the proxy has no writer while it restarts (what a tool that does not
                move the writes first gives its clients)
  writer-first: ``galeractl rolling-restart --yes`` (the writes moved to a member already
                restarted before the writer restarts)
Printed: client-visible write errors and the longest stall between two acknowledged writes
for each, and the ratio of the errors writer-first/plain (goal <= 0.10, stall <= 1 s).

Usage: python bench/rolling.py [--base-port 24200] [--drain-seconds 0] [--rounds 5] [--quick]
[--proxy] (--quick: one round; the ratios are then mostly noise, but every step runs). The
plaintext sandbox takes the 50 ports above the base port's 50.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field

from common import endpoints, galeractl, sandbox, sandboxes, writer

from galera.config.endpoints import of_proxy
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


def rolling_restart(box: Sandbox, drain_seconds: float) -> float:
    start = time.perf_counter()
    result = galeractl(
        "rolling-restart",
        "-c",
        str(box.cluster_file),
        "--yes",
        "--drain-seconds",
        str(drain_seconds),
    )
    if result.returncode != 0:
        raise SystemExit(f"rolling-restart failed: {result.stderr}")
    return time.perf_counter() - start


@dataclass
class Rounds:
    """What ``rounds`` rounds on one sandbox under a steady writer measured."""

    floors: list[float] = field(default_factory=list)
    ours: list[float] = field(default_factory=list)
    floor_stall: float = 0.0
    our_stall: float = 0.0
    acked: int = 0
    in_doubt: int = 0
    lost: int = 0
    full_ssts: int = 0
    check: str = ""


def rounds(box: Sandbox, count: int, drain_seconds: float, with_floor: bool) -> Rounds:
    """``count`` rounds of (the floor, when ``with_floor``, then) a rolling restart."""
    r = Rounds()
    ssts = box.full_ssts()
    with writer(box) as load:
        load.wait_for_acks(200)
        for _ in range(count):
            if with_floor:
                load.stats.longest_stall = 0.0
                r.floors.append(floor(box))
                r.floor_stall = max(r.floor_stall, load.stats.longest_stall)
            load.stats.longest_stall = 0.0
            r.ours.append(rolling_restart(box, drain_seconds))
            r.our_stall = max(r.our_stall, load.stats.longest_stall)
        load.wait_for_acks(len(load.stats.acked) + 100)
    check = workload.check(endpoints(box), box.spec().credentials(), load.stats.acked)
    r.acked, r.in_doubt = len(load.stats.acked), len(load.stats.in_doubt)
    r.lost = sum(len(v) for v in check.missing.values())
    r.full_ssts, r.check = box.full_ssts() - ssts, check.message
    return r


@dataclass
class Seen:
    """What the clients of the proxy's writer frontend saw during one kind of restart."""

    errors: list[int] = field(default_factory=list)
    stalls: list[float] = field(default_factory=list)

    def add(self, load: workload.Writer, errors_before: int) -> None:
        self.errors.append(load.stats.errors - errors_before)
        self.stalls.append(load.stats.longest_stall)


def through_proxy(box: Sandbox, count: int, drain_seconds: float) -> None:
    """``count`` rounds of plain restarts, then a writer-first rolling restart, under a
    writer that reaches the cluster only through the proxy's writer frontend."""
    spec = box.spec()
    load = workload.Writer([of_proxy(spec, "writer")], spec.credentials(), threads=2)
    plain, ours = Seen(), Seen()
    ssts = box.full_ssts()
    with load:
        load.wait_for_acks(200)
        for _ in range(count):
            restarts = (
                (plain, lambda: floor(box)),
                (ours, lambda: rolling_restart(box, drain_seconds)),
            )
            for seen, restart in restarts:
                before = load.stats.errors
                load.stats.longest_stall = 0.0
                restart()
                load.wait_for_acks(len(load.stats.acked) + 50)  # writes flow again
                seen.add(load, before)
        load.wait_for_acks(len(load.stats.acked) + 100)
    check = workload.check(endpoints(box), spec.credentials(), load.stats.acked)
    lost = sum(len(v) for v in check.missing.values())
    e_plain, e_ours = statistics.median(plain.errors), statistics.median(ours.errors)
    print(
        f"  plain restarts through the proxy: errors {plain.errors}, longest stalls "
        f"{', '.join(f'{t:.2f}' for t in plain.stalls)}s"
    )
    print(
        f"  writer-first rolling-restart through the proxy: errors {ours.errors}, longest "
        f"stalls {', '.join(f'{t:.2f}' for t in ours.stalls)}s"
    )
    print(f"  {len(load.stats.acked)} acknowledged writes; {check.message}")
    print(
        f"rolling-proxy  members=3  rounds={count}  errors writer-first={e_ours:.0f} "
        f"plain={e_plain:.0f} (medians)  ratio={e_ours / max(e_plain, 1):.2f} (goal <= 0.10)  "
        f"longest_write_stall={max(ours.stalls):.2f}s (goal <= 1.00s; plain "
        f"{max(plain.stalls):.2f}s)  acknowledged_lost={lost}  "
        f"full_ssts={box.full_ssts() - ssts}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-port", type=int, default=24200)
    parser.add_argument("--drain-seconds", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument("--proxy", action="store_true", help="through HAProxy (see above)")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    if args.proxy:
        with sandbox(3, args.base_port, "rolling-proxy", extra=["--proxy"]) as box:
            through_proxy(box, args.rounds, args.drain_seconds)
        return
    with sandboxes(3, args.base_port, "rolling", [True, False]) as (box, plain):
        tls = rounds(box, args.rounds, args.drain_seconds, with_floor=True)
        off = rounds(plain, args.rounds, args.drain_seconds, with_floor=False)
    t_floor, t_ours = statistics.median(tls.floors), statistics.median(tls.ours)
    t_off = statistics.median(off.ours)
    print(
        "  floor: plain restarts one at a time: "
        f"{', '.join(f'{t:.2f}' for t in tls.floors)}s "
        f"(longest writer stall {tls.floor_stall:.2f}s)"
    )
    print(f"  galeractl rolling-restart: {', '.join(f'{t:.2f}' for t in tls.ours)}s")
    print(f"  {tls.acked} acknowledged writes, {tls.in_doubt} in doubt; {tls.check}")
    print(
        "  without TLS: galeractl rolling-restart: "
        f"{', '.join(f'{t:.2f}' for t in off.ours)}s; {off.acked} acknowledged writes, "
        f"{off.in_doubt} in doubt; {off.check}"
    )
    print(
        f"rolling  members=3  rounds={args.rounds}  galeractl={t_ours:.2f}s  "
        f"floor={t_floor:.2f}s (medians)  ratio={t_ours / t_floor:.2f} "
        f"(goal <= 1.25, drain {args.drain_seconds:.1f}s)"
    )
    print(
        f"rolling  longest_write_stall={tls.our_stall:.2f}s  "
        f"acknowledged_lost={tls.lost}  full_ssts={tls.full_ssts}"
    )
    print(
        f"rolling  members=3  tls=on/off  galeractl={t_ours:.2f}/{t_off:.2f}s (medians)  "
        f"ratio={t_ours / t_off:.2f}  (without TLS: longest_write_stall={off.our_stall:.2f}s "
        f"acknowledged_lost={off.lost}  full_ssts={off.full_ssts})"
    )


if __name__ == "__main__":
    main()
