"""The faults a nemesis run injects into a sandbox while ``galeractl controller`` watches it.

Each fault is a function of the run's :class:`Context` and a seeded random generator that
breaks something and returns an :class:`Injected`: what it did, and when the world stopped
breaking it (the time to recovery counts from then: the kill, the SIGCONT, the heal). A
fault never repairs the cluster itself: the controller (or Galera) must.

Classes, by what they break:

- ``kill-one``, ``kill-two``, ``kill-all``: SIGKILL of mariadbd behind its agent's back (a
  crash: the agent's restart policy starts it again, in join mode);
- ``crash-one``, ``crash-all``: SIGKILL through the agent, which then holds the member down
  (a crash that stays down: the controller must rejoin it, or bootstrap);
- ``stop-one``, ``stop-all``: graceful stops (SIGTERM) the agents hold down, one after another;
- ``pause``: SIGSTOP of one member, SIGCONT some seconds later;
- ``partition-one``, ``partition-all`` (netns): one member cut off from the others, or every
  member from every other, healed some seconds later;
- ``controller-cut`` (netns): the controller, in a namespace of its own, cut off from one
  member while another crashes (held down);
- ``controller-killed-mid-bootstrap``: a held-down crash of every member, the controller
  SIGKILLed at a random step of its bootstrap and started again at once;
- ``rollout-killed``: ``galeractl rolling-restart`` SIGKILLed right after it stopped a
  member, the controller SIGKILLed with it and started again (on the sandbox the controller
  never rolls members itself: this is its nearest case);
- ``two-controllers``: a second ``galeractl controller`` on the same cluster file while a
  held-down crash of one or all members happens;
- ``cli-race``: ``galeractl rejoin`` of a crashed member just when the controller's grace
  runs out, or a ``galeractl rolling-restart`` while the controller watches.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from galera.controller import rolling
from galera.controller.progress import Progress
from galera.domain import autopilot
from galera.platforms.local import SandboxPlatform
from galera.platforms.sandbox import Sandbox
from galera.testing.watch import Actor, Watcher

GRACE = autopilot.Grace()  # the controller runs with its defaults
CONTROLLER_NS = "nemesis-ctl"  # the namespace of a controller that can be cut off
CONTROLLER_INDEX = 200  # its address on the sandbox's bridge (members are 0, 1, …)


@dataclass
class Injected:
    """What a fault did; ``ended`` is when the world stopped breaking the cluster (a
    ``time.monotonic()``). ``cleanup`` runs once the cluster is healthy again (a second
    controller stopped, say); ``outage``: no Primary component is left, so a bootstrap by
    the controller is expected rather than a fault of its own."""

    detail: str
    ended: float
    outage: bool = False
    cleanup: Callable[[], str | None] | None = None


@dataclass
class Context:
    """The run's sandbox, its watcher and every galeractl process started."""

    box: Sandbox
    watcher: Watcher
    log_dir: Path
    netns: bool
    quick: bool = False  # the short form: faults hold for their shortest time
    actors: list[Actor] = field(default_factory=list)
    controller: Actor | None = None
    _counter: int = 0

    def hold(self, rng: random.Random, choices: list[float]) -> float:
        """How long a fault holds: the shortest of ``choices`` in the short form."""
        return min(choices) if self.quick else rng.choice(choices)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.box.data_members]

    def actor(self, name: str, args: list[str], prefix: tuple[str, ...] = ()) -> Actor:
        self._counter += 1
        started = Actor(f"{self._counter:03d}-{name}", args, self.log_dir, prefix)
        self.actors.append(started)
        return started

    def start_controller(self, name: str = "controller", cut_off: bool = False) -> Actor:
        """``galeractl controller`` with its default graces; with ``cut_off``, in a network
        namespace of its own on the sandbox's bridge (see :func:`controller_cut`)."""
        prefix: tuple[str, ...] = ()
        if cut_off:
            self.box.network.attach(CONTROLLER_NS, CONTROLLER_INDEX)
            prefix = tuple(self.box.network.exec_prefix(CONTROLLER_NS))
        return self.actor(name, ["controller", "-c", str(self.box.cluster_file)], prefix)

    def replace_controller(self, cut_off: bool = False, kill: bool = False) -> Actor:
        """Stop (or SIGKILL) the controller and start another at once, as a Deployment does."""
        if self.controller is not None:
            self.controller.kill() if kill else self.controller.stop()
        self.controller = self.start_controller(cut_off=cut_off)
        return self.controller

    def sigkill(self, names: list[str]) -> None:
        """A crash behind the agent's back: its restart policy starts the member again."""
        for name in names:
            pid = self.box.mariadbd_pid(name)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def held(self, names: list[str], signame: str) -> None:
        """SIGKILL or SIGTERM through the agent, which holds the member down."""
        for name in names:
            self.box.kill(name, signame)

    def rollout_in_flight(self) -> bool:
        platform = SandboxPlatform(self.box.cluster_file)
        return Progress.load(platform, rolling.OPERATION).in_flight

    def until_unhealthy(self, since: float, at_least: float, timeout: float = 60) -> None:
        """Let a fault hold ``at_least`` seconds and until it shows (or ``timeout``)."""
        time.sleep(at_least)
        self.watcher.wait_unhealthy(since, timeout)


Fault = Callable[[Context, random.Random], Injected]


def kill_some(count: int | None) -> Fault:
    """SIGKILL of ``count`` members (None: all)."""

    def inject(ctx: Context, rng: random.Random) -> Injected:
        names = sorted(rng.sample(ctx.names, count or len(ctx.names)))
        ctx.sigkill(names)
        return Injected(
            f"SIGKILL of mariadbd on {', '.join(names)} (restarted by the agents)",
            time.monotonic(),
            outage=count is None,
        )

    return inject


def held_down(count: int | None, signame: str) -> Fault:
    """SIGKILL or SIGTERM of ``count`` members (None: all) through their agents."""
    what = "graceful stop" if signame == "TERM" else "SIGKILL through the agent"

    def inject(ctx: Context, rng: random.Random) -> Injected:
        names = rng.sample(ctx.names, count or len(ctx.names))  # one after another
        ctx.held(names, signame)
        return Injected(
            f"{what} of {', '.join(names)}, held down",
            time.monotonic(),
            outage=count is None,
        )

    return inject


def pause(ctx: Context, rng: random.Random) -> Injected:
    name = rng.choice(ctx.names)
    seconds = ctx.hold(rng, [6.0, 10.0, 15.0, 30.0])
    start = time.monotonic()
    ctx.box.kill(name, "STOP")
    try:
        ctx.until_unhealthy(start, seconds)
    finally:
        ctx.box.kill(name, "CONT")
    return Injected(
        f"SIGSTOP of {name}, SIGCONT {time.monotonic() - start:.0f}s later", time.monotonic()
    )


def partition_one(ctx: Context, rng: random.Random) -> Injected:
    name = rng.choice(ctx.names)
    seconds = ctx.hold(rng, [8.0, 15.0, 30.0])
    start = time.monotonic()
    ctx.box.partition([name])
    try:
        ctx.until_unhealthy(start, seconds)
    finally:
        ctx.box.heal()
    return Injected(
        f"{name} cut off from the others, healed {time.monotonic() - start:.0f}s later",
        time.monotonic(),
    )


def partition_all(ctx: Context, rng: random.Random) -> Injected:
    # Shorter than the controller's no-Primary grace: Galera re-forms the component
    # itself on the heal, and no bootstrap is wanted.
    seconds = ctx.hold(rng, [8.0, 12.0, 20.0])
    start = time.monotonic()
    for name in ctx.names:
        ctx.box.partition([name])
    try:
        ctx.until_unhealthy(start, seconds)
    finally:
        ctx.box.heal()
    return Injected(
        f"every member cut off from every other, healed {time.monotonic() - start:.0f}s later",
        time.monotonic(),
    )


def controller_cut(ctx: Context, rng: random.Random) -> Injected:
    """The controller, moved into a namespace of its own, loses one member (which stays
    healthy) while another crashes and stays down. The cut is healed once the cluster is
    healthy again, or after the member-down grace plus a minute."""
    cut, crashed = rng.sample(ctx.names, 2)
    controller = ctx.replace_controller(cut_off=True)
    controller.wait_for(["decision"], timeout=60)
    network, box = ctx.box.network, ctx.box
    addresses = {CONTROLLER_NS: network.address(CONTROLLER_INDEX), cut: box.member(cut).address}
    network.partition([CONTROLLER_NS], addresses)
    ctx.held([crashed], "KILL")
    crashed_at = time.monotonic()
    recovered = ctx.watcher.wait_healthy(crashed_at, GRACE.member_down + 60)
    network.heal([cut, CONTROLLER_NS])
    healed = time.monotonic() - crashed_at
    when = "after" if recovered is not None else "before"
    detail = (
        f"controller cut off from {cut} while {crashed} crashed (held down); "
        f"cut healed {healed:.0f}s later, {when} the cluster was healthy again"
    )

    def cleanup() -> str | None:
        ctx.replace_controller()
        network.detach(CONTROLLER_NS, CONTROLLER_INDEX)
        return None

    return Injected(detail, crashed_at, cleanup=cleanup)


BOOTSTRAP_STEPS = ("begin", "marked", "started", "primary")


def controller_killed_mid_bootstrap(ctx: Context, rng: random.Random) -> Injected:
    step = rng.choice(BOOTSTRAP_STEPS)
    assert ctx.controller is not None
    ctx.held(ctx.names, "KILL")
    outage = time.monotonic()
    seen = ctx.controller.wait_for([step, "summary"], GRACE.no_primary + 120, since=outage)
    if seen is None or seen["event"] != step:
        said = "it ended first" if seen else "it never came"
        ctx.replace_controller(kill=True)
        return Injected(f"outage; waited for the '{step}' event: {said}", outage, outage=True)
    ctx.replace_controller(kill=True)
    return Injected(
        f"outage (every member crashed, held down); controller SIGKILLed after its "
        f"'{step}' event and started again",
        outage,
        outage=True,
    )


def rollout_killed(ctx: Context, rng: random.Random) -> Injected:
    resume = ctx.rollout_in_flight()
    args = ["rolling-restart", "-c", str(ctx.box.cluster_file), "--yes"]
    rollout = ctx.actor("rollout", [*args, "--resume"] if resume else args)
    stopped = rollout.wait_for(["stopped"], timeout=180)
    if stopped is None:
        rollout.stop()
        return Injected(
            f"rolling-restart{' --resume' if resume else ''} ended without stopping a member "
            f"(exit {rollout.proc.returncode}; see {rollout.log.name})",
            time.monotonic(),
        )
    rollout.kill()
    ctx.replace_controller(kill=True)
    return Injected(
        f"rolling-restart{' --resume' if resume else ''} SIGKILLed after it stopped "
        f"{stopped.get('member')}, the controller with it (started again)",
        time.monotonic(),
    )


def two_controllers(ctx: Context, rng: random.Random) -> Injected:
    count = rng.choice([1, len(ctx.names)])
    second = ctx.start_controller("controller-2")
    second.wait_for(["decision"], timeout=60)
    names = rng.sample(ctx.names, count)
    ctx.held(names, "KILL")

    def cleanup() -> str | None:
        second.stop()
        return None

    return Injected(
        f"a second controller beside the first; SIGKILL of {', '.join(names)} held down",
        time.monotonic(),
        outage=count == len(ctx.names),
        cleanup=cleanup,
    )


def cli_race(ctx: Context, rng: random.Random) -> Injected:
    cluster = str(ctx.box.cluster_file)
    if rng.random() < 0.5:
        name = rng.choice(ctx.names)
        ctx.held([name], "KILL")
        crashed = time.monotonic()
        delay = GRACE.member_down + rng.uniform(-2.0, 6.0)  # the controller cycles every 5 s
        time.sleep(delay)
        rejoin = ctx.actor("rejoin", ["rejoin", name, "-c", cluster])

        def finished() -> str | None:
            code = rejoin.wait(300)
            return f"galeractl rejoin exited {code}" + ("" if code == 0 else _last_line(rejoin))

        return Injected(
            f"SIGKILL of {name} held down; galeractl rejoin {name} {delay:.1f}s later, "
            "racing the controller's rejoin",
            crashed,
            cleanup=finished,
        )
    resume = ctx.rollout_in_flight()
    args = ["rolling-restart", "-c", cluster, "--yes", *(["--resume"] if resume else [])]
    rollout = ctx.actor("rolling", args)
    code = rollout.wait(600)
    return Injected(
        f"galeractl rolling-restart{' --resume' if resume else ''} while the controller "
        f"watches: exit {code}" + ("" if code == 0 else _last_line(rollout)),
        time.monotonic(),
    )


def _last_line(actor: Actor) -> str:
    lines = [x for x in actor.log.read_text(errors="replace").splitlines() if x.strip()]
    return f" ({lines[-1][-300:]})" if lines else ""


@dataclass(frozen=True)
class FaultClass:
    name: str
    inject: Fault
    netns: bool = False  # needs members in network namespaces
    full_outage: bool = False  # counted in the full-outage MTTR goal


CLASSES = {
    c.name: c
    for c in (
        FaultClass("kill-one", kill_some(1)),
        FaultClass("kill-two", kill_some(2)),
        FaultClass("kill-all", kill_some(None), full_outage=True),
        FaultClass("crash-one", held_down(1, "KILL")),
        FaultClass("crash-all", held_down(None, "KILL"), full_outage=True),
        FaultClass("stop-one", held_down(1, "TERM")),
        FaultClass("stop-all", held_down(None, "TERM"), full_outage=True),
        FaultClass("pause", pause),
        FaultClass("partition-one", partition_one, netns=True),
        FaultClass("partition-all", partition_all, netns=True),
        FaultClass("controller-cut", controller_cut, netns=True),
        FaultClass("controller-killed-mid-bootstrap", controller_killed_mid_bootstrap),
        FaultClass("rollout-killed", rollout_killed),
        FaultClass("two-controllers", two_controllers),
        FaultClass("cli-race", cli_race),
    )
}
