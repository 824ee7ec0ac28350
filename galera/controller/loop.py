"""``galeractl controller``: the watch loop for automatic recovery (off unless started).

Each cycle takes one snapshot, asks :func:`galera.domain.autopilot.decide` what to do, does
at most that one thing (bootstrap or rejoin, the same code as the commands), and logs the
decision with its reason.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galera import fence
from galera.config.clusterfile import ClusterSpec
from galera.config.yamltext import load_yaml
from galera.controller import (
    bootstrap,
    fencing,
    members,
    observe,
    records,
    rejoin,
    rolling,
    waiting,
    writer,
)
from galera.controller.progress import Progress
from galera.domain import autopilot, events, quorum
from galera.domain.events import Kind
from galera.domain.snapshot import Snapshot
from galera.domain.status import LocalState
from galera.errors import GaleraError, InvalidInput, LeaseLost
from galera.platforms.base import Platform
from galera.render import manifests

log = logging.getLogger("galera.controller")
Emit = events.Emit


@dataclass
class Clock:
    """When each condition started, carried from one cycle to the next."""

    no_primary_since: float | None = None
    down_since: dict[str, float] | None = None
    writer_unready_since: float | None = None


@dataclass(frozen=True)
class Rollouts:
    """What the platform says about rollouts: members on an older configuration (None:
    the platform stores none), and the rollout record."""

    outdated: tuple[str, ...] | None = None
    in_flight: bool = False
    owner: str | None = None


def rollouts(platform: Platform) -> Rollouts:
    outdated = platform.outdated()
    if outdated is None:
        return Rollouts()
    record = Progress.load(platform, rolling.OPERATION)
    return Rollouts(tuple(outdated), record.in_flight, record.owned_elsewhere())


def observe_cycle(
    spec: ClusterSpec,
    clock: Clock,
    now: float,
    seen: Rollouts = Rollouts(),
    writer: str | None = None,
) -> autopilot.Observed:
    snapshot = observe.confirmed_snapshot(spec)  # a split brain is one seen on two reads
    clients = members.agents(spec, timeout=3.0)

    def reachable(name: str) -> dict[str, Any] | None:
        """The agent's liveness answer, None when it does not answer."""
        try:
            return clients[name].liveness()[1]
        except GaleraError:
            return None

    with ThreadPoolExecutor(max_workers=max(len(clients), 1)) as pool:
        found = dict(zip(clients, pool.map(reachable, clients), strict=True))
    answers = {name: seen is not None for name, seen in found.items()}
    brain = quorum.split_brain(snapshot)
    stale = {name for view in brain.stale for name in view.reporters}
    # A member left in a stale view is not in the Primary component (it will notice soon).
    primary = tuple(
        sorted(
            o.name
            for o in snapshot.data_members
            if o.status is not None and o.status.primary and o.name not in stale
        )
    )
    if primary:
        clock.no_primary_since = None
    else:
        clock.no_primary_since = min(
            clock.no_primary_since or now, _last_stop(spec, found, now) or now
        )
    in_component = {o.name for o in snapshot.data_members if o.name in primary}
    down = [o.name for o in snapshot.data_members if o.name not in in_component]
    previous = clock.down_since or {}
    clock.down_since = {name: previous.get(name, now) for name in down}
    unready = writer_unready(snapshot, writer, primary)
    clock.writer_unready_since = None if unready is None else clock.writer_unready_since or now
    return autopilot.Observed(
        members=tuple(o.name for o in snapshot.data_members),
        primary_members=primary,
        split_brain=brain.detected,
        unreachable_agents=tuple(n for n, ok in answers.items() if not ok),
        no_primary_for=0.0 if clock.no_primary_since is None else now - clock.no_primary_since,
        down_for={n: now - t for n, t in clock.down_since.items()},
        outdated=seen.outdated,
        rollout_in_flight=seen.in_flight,
        rollout_owner=seen.owner,
        writer=writer,
        flagged=tuple(sorted(n for n, seen in found.items() if seen and seen.get("writer"))),
        writer_unready=unready,
        writer_unready_for=0.0
        if clock.writer_unready_since is None
        else now - clock.writer_unready_since,
    )


def writer_unready(snapshot: Snapshot, writer: str | None, primary: tuple[str, ...]) -> str | None:
    """How the writer is, when it is in the Primary component but neither Synced nor a
    Donor (it takes no writes: its proxy check fails); None otherwise."""
    if writer is None or writer not in primary:
        return None
    status = snapshot.get(writer).status
    if status is None or status.local_state in (LocalState.SYNCED, LocalState.DONOR):
        return None
    return f"is {status.local_state_comment or status.local_state.label}"


def _last_stop(
    spec: ClusterSpec, found: dict[str, dict[str, Any] | None], now: float
) -> float | None:
    """When the last data member's mariadbd stopped, if every one is stopped and its agent
    saw it stop: no Primary component ran since then (at the latest), so the no-Primary
    grace counts from then rather than from when this controller first looked."""
    stopped = []
    for member in spec.members:
        if member.arbitrator:
            continue
        seen = found.get(member.name)
        ago = seen.get("stopped_for") if seen else None
        if not isinstance(ago, (int, float)) or isinstance(ago, bool):
            return None
        stopped.append(float(ago))
    return now - min(stopped) if stopped else None


def may_initialize(platform: Platform, allowed: bool) -> bool:
    """A brand-new cluster may be created only when asked for and only once: if a bootstrap
    record shows the cluster was formed (a bootstrap of data, or an initialisation that
    reached Primary), empty data directories everywhere mean lost or wrongly mounted
    volumes, which a person must look at. An initialisation that never got that far (say
    init.sql was missing) may be tried again; the plan still needs every member empty."""
    if not allowed:
        return False
    record = Progress.load(platform, "bootstrap")
    if not record.data:
        return True
    steps = {str(s.get("step")) for s in record.data.get("steps") or []}
    return record.data.get("position") == "new" and "primary" not in steps


@dataclass
class Watch:
    """The controller's settings and what it carries from one cycle to the next."""

    platform: Platform
    grace: autopilot.Grace
    emit: Emit
    initialize: bool = False
    values_file: Path | None = None
    applied: str = ""  # digest of the values last applied
    on_refresh: Callable[[ClusterSpec], None] | None = None
    on_lease: Callable[[bool], None] | None = None
    clock: Clock = field(default_factory=Clock)
    last: str = ""  # the sentence last announced (said once while it holds)
    failed: str = ""  # the last failure reported (a refusal repeated is said once)
    due_in: float | None = None  # seconds until a running grace ends, as last observed

    def cycle(self, keeper: fencing.Keeper) -> bool:
        """Lease, values, snapshot, decision, action: one cycle. Whether to pause before
        the next (not after a step the cluster outran: decide again at once)."""
        now = time.monotonic()
        try:
            held, holder = keeper.renew()
            if self.on_lease is not None:
                self.on_lease(held)
            if not held:
                self.last = fencing.stand_by(holder, self.last, self.emit)
                return True
            pause = records.paused(self.platform)
            if self.values_file is not None and pause is None:
                self._apply(self.values_file)
            spec = self.platform.spec()
            if self.on_refresh is not None:
                self.on_refresh(spec)
            writes_to = writer.current(self.platform)
            observed = observe_cycle(spec, self.clock, now, rollouts(self.platform), writes_to)
            decision = autopilot.decide(observed, self.grace)
            self.due_in = autopilot.due_in(observed, self.grace)
        except GaleraError as e:
            log.error("cycle failed: %s", e)
            return True
        if pause is not None and decision.kind in ACTIONS:
            decision = _paused(decision, pause)
        elif pause is None and not self._route_writer(observed):
            return True
        self._announce(decision)
        return self._act(decision)

    def _route_writer(self, observed: autopilot.Observed) -> bool:
        """Clear the writer flag of any member but the recorded writer (a writer whose
        agent could not be reached when its writes were moved away comes back flagged),
        then keep the platform's writer route on the recorded writer (a replaced pod comes
        back without the label the writer Service selects; a proxy that still has another
        member in its writer pool takes it out). False when the lease was lost: the cycle
        ends there."""
        try:
            stray = [n for n in observed.flagged if n != observed.writer]
            if stray:
                writer.clear_flags(self.platform, stray, self.emit)
            self.platform.route_writer(observed.writer)
        except LeaseLost as e:
            log.warning("stopping this cycle: %s", e)
            return False
        except GaleraError as e:
            log.warning("could not route writes to the recorded writer: %s", e)
        return True

    def _apply(self, values_file: Path) -> None:
        try:
            self.applied = apply_values(self.platform, values_file, self.applied, self.emit)
        except GaleraError as e:
            # Recovery goes on with the objects as they are; retried next cycle.
            if f"apply: {e}" != self.last:
                log.error("applying the values failed: %s", e)
                self.emit(events.of(Kind.FAILED, action="apply", error=str(e)))
                self.last = f"apply: {e}"

    def _announce(self, decision: autopilot.Decision) -> None:
        if decision.reason == self.last and decision.kind is autopilot.Kind.WAIT:
            return
        log.info("decision: %s: %s", decision.kind.value, decision.reason)
        self.emit(
            events.of(
                Kind.DECISION,
                action=decision.kind.value,
                reason=decision.reason,
                members=list(decision.members),
            )
        )
        self.last = decision.reason

    def _act(self, decision: autopilot.Decision) -> bool:
        try:
            if decision.kind is autopilot.Kind.BOOTSTRAP:
                options = bootstrap.Options(
                    initialize=may_initialize(self.platform, self.initialize)
                )
                bootstrap.run(self.platform, options, lambda _plan: True, self.emit)
                self.clock.no_primary_since = None
                self.clock.down_since = {}  # a member down after this counts from now
            elif decision.kind is autopilot.Kind.REJOIN:
                rejoin.run(self.platform, list(decision.members), self.emit)
                self.clock.down_since = {}
            elif decision.kind is autopilot.Kind.SWITCHOVER:
                writer.switchover(self.platform, None, self.emit, failover=True)
            elif decision.kind is autopilot.Kind.ROLLOUT:
                rollout = rolling.Options(members=decision.members, resume=decision.resume)
                rolling.run(self.platform, rollout, lambda _order: True, self.emit)
        except waiting.Outrun as e:
            # The cluster moved on while the step waited: decide again at once. When
            # the Primary component left, its absence is counted from then.
            log.info("%s abandoned: %s; deciding again", decision.kind.value, e)
            self.emit(events.of(Kind.ABANDONED, action=decision.kind.value, reason=str(e)))
            if decision.kind is autopilot.Kind.REJOIN and self.clock.no_primary_since is None:
                self.clock.no_primary_since = e.since
            return False
        except GaleraError as e:
            failure = f"{decision.kind.value}: {e}"
            if failure != self.failed:  # a refusal that holds is reported once, not per cycle
                log.error("%s failed: %s", decision.kind.value, e)
                self.emit(events.of(Kind.FAILED, action=decision.kind.value, error=str(e)))
            self.failed = failure
            return True
        self.failed = ""
        return True


ACTIONS = (
    autopilot.Kind.BOOTSTRAP,
    autopilot.Kind.REJOIN,
    autopilot.Kind.ROLLOUT,
    autopilot.Kind.SWITCHOVER,
)


def _paused(decision: autopilot.Decision, pause: dict[str, Any]) -> autopilot.Decision:
    """While paused (maintenance), what the controller would do is said, not done."""
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(pause.get("at") or 0)))
    why = f" ({pause['reason']})" if pause.get("reason") else ""
    members = f" {', '.join(decision.members)}" if decision.members else ""
    return autopilot.Decision(
        autopilot.Kind.WAIT,
        f"paused by {pause.get('by')} since {since} UTC{why}: not acting (would "
        f"{decision.kind.value}{members})",
        decision.members,
    )


def run(watch: Watch, interval: float, cycles: int | None = None) -> None:
    """Watch forever (or ``cycles`` times). Every decision is logged and emitted.

    Each cycle first takes or renews the platform's Lease: a controller that does not hold
    it stands by and changes nothing (on VMs and in the sandbox a majority of the members'
    agents grant it). Members are rediscovered every cycle (a replaced pod has a new
    address) and every decision is also recorded by the platform (Kubernetes Events).
    With ``values_file`` the cluster's objects are rendered from it and applied whenever it
    changes; members whose pods run an older template are then rolled, one at a time, when
    the cluster is healthy (the StatefulSet is OnDelete: only this rollout replaces pods).
    """
    watch.emit = watch.platform.emitter(watch.emit)
    keeper: fencing.Keeper | None = None
    try:
        count = 0
        while cycles is None or count < cycles:
            count += 1
            if keeper is None:
                keeper = fencing.Keeper(watch.platform, fencing.lease_seconds(interval))
            with fence.acting(keeper):  # every change of the cycle confirms the lease first
                pause = watch.cycle(keeper)
            if pause:  # a grace that ends sooner is acted on when it ends
                time.sleep(min(interval, (watch.due_in or interval) + 0.05))
                watch.due_in = None
    finally:
        if keeper is not None:
            keeper.stop()
        watch.platform.release_lease()  # the next controller need not wait


def render_values(values_file: Path) -> tuple[str, list[dict[str, Any]]]:
    """The values' digest and the objects they render to (checked against the schema)."""
    try:
        text = values_file.read_text()
    except OSError as e:
        raise InvalidInput(f"--apply {values_file}: {e.strerror}") from None
    try:
        values = load_yaml(text) or {}
    except Exception as e:  # yaml.YAMLError: the values ConfigMap was edited by hand
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise InvalidInput(f"--apply {values_file}: not valid YAML: {first}") from None
    return hashlib.sha256(text.encode()).hexdigest(), manifests.objects(values, str(values_file))


def apply_values(platform: Platform, values_file: Path, applied: str, emit: Emit) -> str:
    """Render and apply the values when they changed since the last apply; their digest."""
    digest, objects = render_values(values_file)
    if digest != applied:
        platform.apply(objects, emit)
    return digest
