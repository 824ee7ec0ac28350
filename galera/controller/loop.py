"""``galeractl controller``: the watch loop for automatic recovery (off unless started).

Each cycle takes one snapshot, asks :func:`galera.domain.autopilot.decide` what to do, does
at most that one thing (bootstrap or rejoin, the same code as the commands), and logs the
decision with its reason.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galera.config.clusterfile import ClusterSpec
from galera.config.yamltext import load_yaml
from galera.controller import bootstrap, members, observe, rejoin, rolling, waiting
from galera.controller.progress import Progress
from galera.domain import autopilot, quorum
from galera.errors import GaleraError, InvalidInput
from galera.platforms.base import Platform
from galera.render import manifests

log = logging.getLogger("galera.controller")
Emit = Callable[[dict[str, Any]], None]


@dataclass
class Clock:
    """When each condition started, carried from one cycle to the next."""

    no_primary_since: float | None = None
    down_since: dict[str, float] | None = None


def observe_cycle(spec: ClusterSpec, clock: Clock, now: float) -> autopilot.Observed:
    snapshot = observe.confirmed_snapshot(spec)  # a split brain is one seen on two reads
    clients = members.agents(spec, timeout=3.0)

    def reachable(name: str) -> bool:
        try:
            clients[name].live()
        except GaleraError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=max(len(clients), 1)) as pool:
        answers = dict(zip(clients, pool.map(reachable, clients), strict=True))
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
    elif clock.no_primary_since is None:
        clock.no_primary_since = now
    in_component = {o.name for o in snapshot.data_members if o.name in primary}
    down = [o.name for o in snapshot.data_members if o.name not in in_component]
    previous = clock.down_since or {}
    clock.down_since = {name: previous.get(name, now) for name in down}
    return autopilot.Observed(
        members=tuple(o.name for o in snapshot.data_members),
        primary_members=primary,
        split_brain=brain.detected,
        unreachable_agents=tuple(n for n, ok in answers.items() if not ok),
        no_primary_for=0.0 if clock.no_primary_since is None else now - clock.no_primary_since,
        down_for={n: now - t for n, t in clock.down_since.items()},
    )


class LeaseKeeper:
    """Renews the Lease in the background while this controller holds it, so that a long
    step (a bootstrap, a whole rollout) never outlives the Lease and a standby never starts
    acting beside it. Every renewal goes through one lock."""

    def __init__(self, platform: Platform, duration: int) -> None:
        self.platform = platform
        self.duration = duration
        self.held = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)
        self._thread.start()

    def renew(self) -> tuple[bool, str]:
        with self._lock:
            try:
                self.held, holder = self.platform.acquire_lease(duration=self.duration)
            except GaleraError:
                self.held = False
                raise
            return self.held, holder

    def _run(self) -> None:
        while not self._stop.wait(self.duration / 3):
            if self.held:
                try:
                    self.renew()
                except GaleraError as e:
                    log.warning("could not renew the Lease: %s", e)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def lease_seconds(interval: float) -> int:
    return max(15, int(interval * 3))


def lead(platform: Platform, interval: float, emit: Emit) -> None:
    """Block until this controller holds the cluster's Lease (standbys wait here)."""
    announced = ""
    while True:
        held, holder = platform.acquire_lease(duration=lease_seconds(interval))
        if held:
            return
        announced = _stand_by(holder, announced, emit)
        time.sleep(interval)


def _stand_by(holder: str, announced: str, emit: Emit) -> str:
    """Say once per holder that this controller stands by; the sentence now announced."""
    reason = f"{holder} holds the Lease; standing by"
    if reason != announced:
        log.info("%s", reason)
        emit({"event": "standby", "holder": holder, "reason": reason})
    return reason


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


def run(
    platform: Platform,
    grace: autopilot.Grace,
    interval: float,
    emit: Emit,
    cycles: int | None = None,
    initialize: bool = False,
    on_refresh: Callable[[ClusterSpec], None] | None = None,
    values_file: Path | None = None,
    applied: str = "",
    on_lease: Callable[[bool], None] | None = None,
) -> None:
    """Watch forever (or ``cycles`` times). Every decision is logged and emitted.

    Each cycle first takes or renews the platform's Lease: a controller that does not hold
    it stands by and changes nothing (the static platform has none yet: one controller per
    cluster file). Members are rediscovered every cycle (a replaced pod has a new address)
    and every decision is also recorded by the platform (Kubernetes Events).
    With ``values_file`` the cluster's objects are rendered from it and applied whenever it
    changes; members whose pods run an older template are then rolled, one at a time, when
    the cluster is healthy (the StatefulSet is OnDelete: only this rollout replaces pods).
    """
    emit = platform.emitter(emit)
    clock = Clock()
    last = ""
    count = 0
    keeper: LeaseKeeper | None = None
    try:
        while cycles is None or count < cycles:
            count += 1
            now = time.monotonic()
            try:
                if keeper is None:
                    keeper = LeaseKeeper(platform, lease_seconds(interval))
                held, holder = keeper.renew()
                if on_lease is not None:
                    on_lease(held)
                if not held:
                    last = _stand_by(holder, last, emit)
                    time.sleep(interval)
                    continue
                if values_file is not None:
                    try:
                        applied = apply_values(platform, values_file, applied, emit)
                    except GaleraError as e:
                        # Recovery goes on with the objects as they are; retried later.
                        if f"apply: {e}" != last:
                            log.error("applying the values failed: %s", e)
                            emit({"event": "failed", "action": "apply", "error": str(e)})
                            last = f"apply: {e}"
                spec = platform.spec()
                if on_refresh is not None:
                    on_refresh(spec)
                observed = observe_cycle(spec, clock, now)
                decision = autopilot.decide(observed, grace)
            except GaleraError as e:
                log.error("cycle failed: %s", e)
                time.sleep(interval)
                continue
            if decision.reason != last or decision.kind is not autopilot.Kind.WAIT:
                log.info("decision: %s: %s", decision.kind.value, decision.reason)
                emit(
                    {
                        "event": "decision",
                        "action": decision.kind.value,
                        "reason": decision.reason,
                        "members": list(decision.members),
                    }
                )
                last = decision.reason
            try:
                if decision.kind is autopilot.Kind.WAIT:
                    _roll_outdated(platform, observed, emit)
                if decision.kind is autopilot.Kind.BOOTSTRAP:
                    options = bootstrap.Options(initialize=may_initialize(platform, initialize))
                    bootstrap.run(platform, options, lambda _plan: True, emit)
                    clock.no_primary_since = None
                elif decision.kind is autopilot.Kind.REJOIN:
                    rejoin.run(platform, list(decision.members), emit)
                    clock.down_since = {}
            except waiting.Outrun as e:
                # The cluster moved on while the step waited: decide again at once. When
                # the Primary component left, its absence is counted from then.
                log.info("%s abandoned: %s; deciding again", decision.kind.value, e)
                emit({"event": "abandoned", "action": decision.kind.value, "reason": str(e)})
                if decision.kind is autopilot.Kind.REJOIN and clock.no_primary_since is None:
                    clock.no_primary_since = e.since
                continue
            except GaleraError as e:
                log.error("%s failed: %s", decision.kind.value, e)
                emit({"event": "failed", "action": decision.kind.value, "error": str(e)})
            time.sleep(interval)

    finally:
        if keeper is not None:
            keeper.stop()
        platform.release_lease()  # the next controller need not wait


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


def _roll_outdated(platform: Platform, observed: autopilot.Observed, emit: Emit) -> None:
    """Replace members that run an older configuration than the platform stores (pods of an
    older template), safely, once every member is in the Primary component (the rolling
    gates check the rest: Synced, quorum, IST). A platform that stores no configuration
    (``outdated()`` is None: VMs, the sandbox) is never rolled by the controller."""
    if observed.down_for or observed.split_brain:
        return
    outdated = platform.outdated()
    if outdated is None:
        return
    record = Progress.load(platform, rolling.OPERATION)
    owner = record.owned_elsewhere()
    if owner is not None:
        return  # a rollout another galeractl (a pipeline) is carrying out: not ours to touch
    if not outdated and not record.in_flight:
        return
    emit(
        {
            "event": "decision",
            "action": "rollout",
            "reason": f"{', '.join(outdated) or 'an interrupted rollout'} "
            "run an older pod template: replacing them one at a time",
            "members": outdated,
        }
    )
    options = rolling.Options(members=tuple(outdated), resume=record.in_flight)
    rolling.run(platform, options, lambda _order: True, emit)
