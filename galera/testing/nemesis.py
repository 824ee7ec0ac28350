"""A nemesis run: faults one after another on a sandbox, under a continuous writer through
every member, with ``galeractl controller`` on autopilot (its default graces, a subprocess)
as the only repairer. Used by ``bench/nemesis.py`` and, through it, by ``tests/nemesis``.

For every fault: the time until the cluster is healthy again with no person's action (the
watcher's reads, confirmed by ``galeractl status`` exiting 0), the acknowledged writes of
that stretch missing on any member, the reads that saw a split brain, and the bootstraps the
controllers (or a racing command) began. At the end: every acknowledged write on every
member (causal reads), the same rows and the same ``CHECKSUM TABLE`` everywhere.
"""

from __future__ import annotations

import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from galera import sql
from galera.config.endpoints import of_member
from galera.platforms.sandbox import Sandbox
from galera.testing import workload
from galera.testing.faults import CLASSES, CONTROLLER_INDEX, CONTROLLER_NS, GRACE, Context, Injected
from galera.testing.watch import Watcher

RECOVERY_TIMEOUT = 300.0  # a fault not healed by then is a failure (and is rescued)
# The short form: one fault of each kind that a run of a few minutes can afford.
QUICK = ("crash-all", "kill-all", "stop-one", "pause", "partition-one", "partition-all")
QUICK_LOOPBACK = ("crash-all", "kill-all", "stop-one", "pause", "kill-two", "crash-one")
LONG_ONLY = ("two-controllers", "cli-race")  # before fencing by a lease: reported only


@dataclass
class Outcome:
    """One fault and what followed it."""

    fault: str
    detail: str
    mttr: float | None  # None: not healthy again within RECOVERY_TIMEOUT
    unhealthy: bool  # whether any read saw the cluster less than healthy
    outage: bool  # no Primary component was left: a bootstrap is expected
    bootstraps: int
    lost: int
    split_reads: int
    transient_splits: int = 0
    notes: list[str] = field(default_factory=list)
    rescued: bool = False


@dataclass
class Final:
    acknowledged: int
    in_doubt: int
    missing: int
    identical: bool
    checksums: dict[str, int | None]
    split_reads: int
    message: str

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.identical and self.split_reads == 0


@dataclass
class Report:
    seed: int
    netns: bool
    outcomes: list[Outcome]
    final: Final | None = None
    floor: float | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["final"] = {**asdict(self.final), "ok": self.final.ok} if self.final else None
        return data


def schedule(faults: int, seed: int, netns: bool, classes: list[str] | None = None) -> list[str]:
    """``faults`` fault classes in a seeded order: every allowed class once (shuffled)
    before any repeats, so that a long enough run covers them all."""
    allowed = [c for c in (classes or list(CLASSES)) if netns or not CLASSES[c].netns]
    rng = random.Random(seed)
    order: list[str] = []
    while len(order) < faults:
        batch = allowed[:]
        rng.shuffle(batch)
        order += batch
    return order[:faults]


def quick(netns: bool) -> list[str]:
    return list(QUICK if netns else QUICK_LOOPBACK)


def status_ok(box: Sandbox) -> bool:
    """``galeractl status`` itself says healthy (exit 0)."""
    command = [sys.executable, "-m", "galera", "status", "-c", str(box.cluster_file)]
    return subprocess.run(command, capture_output=True, check=False, timeout=120).returncode == 0


def endpoints(box: Sandbox) -> list[sql.Endpoint]:
    """Every data member's SQL endpoint."""
    spec = box.spec()
    return [of_member(spec, m) for m in spec.members if not m.arbitrator]


@contextmanager
def running(box: Sandbox, log_dir: Path, netns: bool, quick: bool = False) -> Iterator[Context]:
    """The watcher and the controller up for the block; both stopped afterwards."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with Watcher(box.spec()) as watcher:
        ctx = Context(box, watcher, log_dir, netns, quick)
        ctx.controller = ctx.start_controller()
        try:
            yield ctx
        finally:
            for actor in ctx.actors:
                actor.stop()
            if netns:
                box.network.detach(CONTROLLER_NS, CONTROLLER_INDEX)
            for m in box.data_members:  # the sandbox may be purged: keep what explains a run
                for log in ("agent.log", "mariadbd.err"):
                    if (m.home / log).exists():
                        shutil.copy(m.home / log, log_dir / f"{m.name}.{log}")


def run(
    ctx: Context,
    order: list[str],
    seed: int,
    writer: workload.Writer,
    say: Callable[[str], None] = print,
) -> list[Outcome]:
    """Inject the faults of ``order`` one after another, each once the cluster is healthy."""
    rng = random.Random(seed)
    checked: set[str] = set()
    outcomes: list[Outcome] = []
    for i, name in enumerate(order, 1):
        settle(ctx)
        started = time.monotonic()
        injected = CLASSES[name].inject(ctx, rng)
        outcome = _follow(ctx, name, started, injected)
        acked = set(writer.stats.acked)
        missing = workload.absent(endpoints(ctx.box), writer.credentials, acked - checked)
        outcome.lost = len(set().union(*missing.values())) if missing else 0
        if missing:
            outcome.notes.append(f"acknowledged writes missing: {_sample(missing)}")
        checked |= acked
        outcomes.append(outcome)
        say(f"[{i}/{len(order)}] {line(outcome)}")
        for note in outcome.notes:
            say(f"      {note}")
    return outcomes


def settle(ctx: Context, seconds: float = 2.0) -> None:
    """Before a fault: every agent running, the cluster healthy, a moment of quiet."""
    for name in ctx.names:
        if not ctx.box.agent_alive(name):
            raise RuntimeError(f"the agent of {name} died: see its agent.log")
    if ctx.watcher.wait_healthy(time.monotonic(), RECOVERY_TIMEOUT) is None:
        raise RuntimeError("the cluster is not healthy before the next fault")
    time.sleep(seconds)


def _follow(ctx: Context, name: str, started: float, injected: Injected) -> Outcome:
    """Wait until healthy again; then what happened on the way."""
    box = ctx.box
    healthy = ctx.watcher.wait_healthy(injected.ended, RECOVERY_TIMEOUT, lambda: status_ok(box))
    notes = []
    rescued = False
    if healthy is None:
        latest = ctx.watcher.latest()
        notes.append(f"not healthy {RECOVERY_TIMEOUT:.0f}s after: {latest}")
        rescued = rescue(ctx)
    if injected.cleanup is not None:
        said = injected.cleanup()
        if said:
            notes.append(said)
    until = time.monotonic()
    reads = ctx.watcher.reads(started, until)
    splits = ctx.watcher.split_reads(started, until)
    notes += [f"split-brain read: {s.reason}" for s in splits[:3]]
    transient = ctx.watcher.transient_splits(started, until)
    if transient:
        notes.append(
            f"{len(transient)} single read(s) saw a split brain the next read did not confirm: "
            f"{transient[0].reason}"
        )
    bootstraps = sum(len(a.of("begin", started, until)) for a in ctx.actors)
    for actor in ctx.actors:
        for kind in ("failed", "abandoned"):
            for event in actor.of(kind, started, until):
                said = event.get("error") or event.get("reason")
                notes.append(f"{actor.name}: {kind} {event.get('action')}: {said}")
        for event in actor.of("decision", started, until):
            if event.get("action") == "alert":
                notes.append(f"{actor.name}: alert: {event.get('reason')}")
    return Outcome(
        fault=name,
        detail=injected.detail,
        mttr=None if healthy is None else max(0.0, healthy - injected.ended),
        unhealthy=any(not r.healthy for r in reads),
        outage=injected.outage,
        bootstraps=bootstraps,
        lost=0,
        split_reads=len(splits),
        transient_splits=len(transient),
        notes=notes,
        rescued=rescued,
    )


def rescue(ctx: Context) -> bool:
    """What a person would do after a recovery that did not happen: bootstrap, or rejoin
    the members that are down. True once the cluster is healthy again."""
    cluster = str(ctx.box.cluster_file)
    for args in (["bootstrap", "-c", cluster, "--yes"], ["rejoin", "-c", cluster]):
        ctx.actor("rescue", args).wait(600)
        if ctx.watcher.wait_healthy(time.monotonic(), 60, lambda: status_ok(ctx.box)):
            return True
    return False


def final_check(box: Sandbox, writer: workload.Writer, watcher: Watcher) -> Final:
    """Every acknowledged write on every member, identical rows and checksums."""
    points = endpoints(box)
    result = workload.check(points, writer.credentials, writer.stats.acked)
    sums = workload.checksums(points, writer.credentials)
    missing = set().union(*(set(v) for v in result.missing.values())) if result.missing else set()
    identical = result.identical and len(set(sums.values())) == 1
    return Final(
        acknowledged=len(writer.stats.acked),
        in_doubt=len(writer.stats.in_doubt),
        missing=len(missing),
        identical=identical,
        checksums=sums,
        split_reads=len(watcher.split_reads()),
        message=result.message,
    )


def _sample(missing: dict[str, set[str]]) -> str:
    return "; ".join(
        f"{m}: {len(ids)} ({', '.join(sorted(ids)[:3])}…)" for m, ids in missing.items()
    )


def line(o: Outcome) -> str:
    healed = "not healthy again" if o.mttr is None else f"healthy again after {o.mttr:.1f}s"
    if not o.unhealthy:
        healed = "never unhealthy"
    return (
        f"{o.fault}: {o.detail}: {healed}; lost {o.lost}; split-brain reads {o.split_reads}; "
        f"bootstraps {o.bootstraps}" + ("; RESCUED by hand" if o.rescued else "")
    )


def table(outcomes: list[Outcome]) -> str:
    """One row per fault class: count, MTTR median and max, writes lost, split-brain reads,
    bootstraps."""
    header = ("fault class", "count", "MTTR med", "MTTR max", "lost", "split reads", "bootstraps")
    rows = [header]
    for name in dict.fromkeys(o.fault for o in outcomes):
        mine = [o for o in outcomes if o.fault == name]
        times = [o.mttr for o in mine if o.mttr is not None]
        failed = len(mine) - len(times)
        rows.append(
            (
                name,
                str(len(mine)),
                f"{statistics.median(times):.1f}s" if times else "-",
                (f"{max(times):.1f}s" if times else "-") + (f" ({failed} never)" if failed else ""),
                str(sum(o.lost for o in mine)),
                str(sum(o.split_reads for o in mine)),
                str(sum(o.bootstraps for o in mine)),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    )


def goals(report: Report) -> list[str]:
    """The benchmark's goals, each a line with its ratio or count."""
    lines = []
    outages = [o.mttr for o in report.outcomes if CLASSES[o.fault].full_outage]
    if report.floor is not None and outages:
        budget = GRACE.no_primary + 1.3 * report.floor
        worst = max((t for t in outages if t is not None), default=float("inf"))
        if None in outages:
            worst = float("inf")
        lines.append(
            f"nemesis  full-outage MTTR max={worst:.1f}s  goal <= no-Primary grace "
            f"{GRACE.no_primary:.0f}s + 1.3 x floor {report.floor:.2f}s = {budget:.1f}s  "
            f"ratio={worst / budget:.2f} (goal <= 1.0)"
        )
    stray = [o for o in report.outcomes if o.bootstraps and not o.outage]
    lines.append(
        f"nemesis  faults={len(report.outcomes)}  bootstraps outside outages: "
        f"{sum(o.bootstraps for o in stray)} in {len(stray)} fault(s) (goal 0)"
    )
    if report.final is not None:
        f = report.final
        lines.append(
            f"nemesis  acknowledged={f.acknowledged} in doubt={f.in_doubt} lost={f.missing} "
            f"identical={'yes' if f.identical else 'NO'} split-brain reads={f.split_reads} "
            f"(goal: 0 lost, identical, 0 split-brain reads)"
        )
    return lines
