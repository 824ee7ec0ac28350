"""``galeractl rolling-restart`` and ``galeractl upgrade``: one member at a time, nothing lost.

For each member, in order (idle members first, the busiest last):
    gate (others Synced and Primary, quorum kept, IST predicted) → apply the new options →
    drain (readiness false, clients get time to finish) → graceful stop (valid grastate) →
    start in join mode (IST) → wait until every member is Synced again
Any failed gate or step stops the rollout there, leaving the rest untouched. Progress is
recorded after every member, so ``--resume`` continues an interrupted rollout without
restarting a member twice.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from galera.config.clusterfile import ClusterSpec
from galera.controller import members, observe, waiting
from galera.controller.progress import Progress
from galera.domain import premises, rolling
from galera.domain.snapshot import Snapshot
from galera.errors import GaleraError, InvalidInput, OperationFailed, UnsafeOperation
from galera.platforms.base import Platform

Emit = Callable[[dict[str, Any]], None]
OPERATION = "rolling"


@dataclass(frozen=True)
class Options:
    members: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    resume: bool = False
    step_timeout: float = 300.0
    drain_seconds: float = 2.0
    allow_sst: bool = False
    expected_downtime: float = 10.0
    image: str | None = None


class Stopped(UnsafeOperation):
    """The rollout stopped at a gate or a failed step; later members were not touched."""


class WriteRate:
    """Commits per second, for the IST forecast: from the last polls of the previous
    member's wait when they span enough time (no extra wait), else from a short sample."""

    MIN_GAP = 0.2

    def __init__(self) -> None:
        self.polls: deque[Snapshot] = deque(maxlen=8)

    def seen(self, snapshot: Snapshot) -> None:
        self.polls.append(snapshot)

    def measure(self, spec: ClusterSpec, now: Snapshot) -> float:
        older = [p for p in self.polls if now.taken_at - p.taken_at >= self.MIN_GAP]
        before, after = (older[-1], now) if older else (now, None)
        if after is None:
            time.sleep(0.25)
            after = observe.snapshot(spec)
        self.polls.clear()
        gap = max(after.taken_at - before.taken_at, 1e-3)
        deltas = [
            a.status.last_committed - b.status.last_committed
            for a in after.data_members
            for b in before.data_members
            if a.name == b.name and a.status is not None and b.status is not None
        ]
        return max(deltas, default=0) / gap


def _running(client: Any) -> bool:
    try:
        return (client.status().get("process") or {}).get("state") == "running"
    except GaleraError:
        return False


def _drain(spec: ClusterSpec, name: str, limit: float) -> tuple[float, int | None]:
    """Readiness is false now: wait until the member's clients are gone (only galeractl's
    own connection left), at most ``limit`` seconds. (seconds waited, connections left)."""
    started = time.monotonic()
    left: int | None = None
    while True:
        observation = observe.snapshot(spec).get(name)
        if observation.status is not None:
            left = max(observation.status.threads_connected - 1, 0)
        waited = time.monotonic() - started
        if left == 0 or waited >= limit:
            return round(waited, 2), left
        time.sleep(min(0.25, limit - waited))


def run(
    platform: Platform, options: Options, confirm: Callable[[list[str]], bool], emit: Emit
) -> dict[str, Any]:
    platform.check_rollout(options.options, options.image)
    if options.image:
        platform.set_image(options.image, emit, check_only=True)  # before touching anything
    if not options.dry_run:
        emit = platform.emitter(emit)
    spec = platform.spec()
    clients = members.agents(spec)
    for name in options.members:
        spec.member(name)
    progress = Progress.load(platform, OPERATION)
    image = options.image
    if options.resume:
        if not progress.in_flight:
            raise InvalidInput("no interrupted rollout to resume")
        order = [str(n) for n in progress.data["order"]]
        gone = [n for n in order if n not in clients]
        if gone:
            raise InvalidInput(
                f"the interrupted rollout names {', '.join(gone)}, no longer members of the "
                f"cluster; check the record in {progress.store.where} and remove it"
            )
        settings = {str(k): str(v) for k, v in progress.data.get("options", {}).items()}
        image = progress.data.get("image") or None
    else:
        if progress.in_flight:
            raise UnsafeOperation(
                "a rollout is in flight (started "
                f"{time.ctime(progress.data.get('started_at', 0))}); "
                "continue it with --resume"
            )
        snapshot = observe.confirmed_snapshot(spec)
        wanted = list(options.members) or [o.name for o in snapshot.data_members]
        order = rolling.order(snapshot, wanted)
        settings = dict(options.options)
        if settings:
            for name in order:  # every member must accept the new options before any restart
                clients[name].configure(settings, apply=False)
            emit({"event": "options_valid", "options": settings})
        first = rolling.gate(snapshot, order[0])
        emit(
            {
                "event": "plan",
                "order": order,
                "options": settings,
                "gate": first.reason,
                "ok": first.ok,
            }
        )
        if not first.ok:
            raise Stopped(f"refused before touching anything: {first.reason}")
        if options.dry_run:
            summary = {"event": "summary", "dry_run": True, "order": order}
            emit(summary)
            return summary
        if not confirm(order):
            raise UnsafeOperation("not confirmed; nothing was changed (pass --yes to confirm)")
        progress.start(order=order, options=settings, image=image, done=[], current=None)
    if image:
        platform.set_image(image, emit)  # OnDelete: no pod restarts until we delete it

    done: list[str] = list(progress.data.get("done", []))
    rates = WriteRate()
    for name in order:
        if name in done:
            emit({"event": "skipped", "member": name, "reason": "done before the interruption"})
            continue
        try:
            spec = _restart_member(
                platform, spec, clients, progress, name, settings, options, emit, rates
            )
        except waiting.Outrun as e:
            # Not a failure of the step: the cluster changed under it. The record stays in
            # flight; --resume (or the controller, once the cluster is whole) finishes it.
            raise waiting.Outrun(
                f"{e.message}; the rollout is left in flight: resume it with --resume once "
                "every member is back",
                member=name,
                since=e.since,
            ) from None
        except GaleraError as e:
            progress.finish("failed", failed_member=name, error=str(e))
            raise
        done.append(name)
        progress.data["done"] = done
        progress.data["current"] = None
        progress.data["current_step"] = None
        progress.save()
        emit({"event": "synced", "member": name})
    progress.finish("done")
    summary = {"event": "summary", "restarted": order, "resumed": options.resume}
    emit(summary)
    return summary


def _restart_member(
    platform: Platform,
    spec: ClusterSpec,
    clients: dict[str, Any],
    progress: Progress,
    name: str,
    settings: dict[str, str],
    options: Options,
    emit: Emit,
    rates: WriteRate,
) -> ClusterSpec:
    """One member: gates, drain, graceful stop, start (or pod replacement), Synced again.
    Returns the cluster as it is afterwards (on Kubernetes the pod has a new address)."""
    client = clients[name]
    interrupted = progress.data.get("current") == name and progress.data.get("current_step") in (
        "stopped",
        "started",
    )
    recorded = progress.data.get("pod_uid")
    if (
        interrupted
        and progress.data.get("current_step") == "stopped"
        and recorded is not None
        and _running(client)
        and platform.incarnation(name) == recorded
    ):
        # Stopped by the interrupted run, then started again in the same pod (a rejoin):
        # the pod still has to be replaced, and that starts over, gates and drain included.
        # (A replaced pod, or a member restarted elsewhere, is only waited for.)
        interrupted = False
    snapshot = observe.snapshot(spec)
    if interrupted:
        emit(
            {
                "event": "resuming",
                "member": name,
                "reason": "galeractl stopped while this member was restarting; it is not "
                "restarted again",
            }
        )
    else:
        gate = rolling.gate(snapshot, name)
        emit({"event": "gate", "member": name, "ok": gate.ok, "reason": gate.reason})
        if not gate.ok:
            raise Stopped(f"stopped before {name}: {gate.reason}", member=name)
        rate = rates.measure(spec, snapshot)
        ist = rolling.forecast_ist(snapshot, name, rate, options.expected_downtime)
        emit({"event": "ist_forecast", "member": name, "ist": ist.ist, "reason": ist.reason})
        if not ist.ist and not options.allow_sst:
            raise Stopped(
                f"stopped before {name}: {ist.reason} (--allow-sst to accept)", member=name
            )
        progress.data["current"] = name
        progress.data["current_step"] = None
        progress.data["pod_uid"] = platform.incarnation(name)
        progress.save()
        if settings:
            client.configure(settings, apply=True)
            emit({"event": "options_applied", "member": name})
        client.drain()
        waited, left = _drain(spec, name, options.drain_seconds)
        emit({"event": "drained", "member": name, "seconds": waited, "connections_left": left})
        client.stop()
        progress.data["current_step"] = "stopped"
        progress.save()
        emit({"event": "stopped", "member": name})
    spec = platform.bring_back(
        name, emit, options.step_timeout, previous=progress.data.get("pod_uid")
    )
    clients.update(members.agents(spec))
    client = clients[name]
    progress.data["current_step"] = "started"
    progress.save()
    names = [o.name for o in snapshot.data_members]
    try:
        waiting.wait_for(
            spec,
            names,
            timeout=options.step_timeout,
            what=f"{name} back and Synced",
            on_poll=rates.seen,
            premise=premises.others_stay_primary(name),
            premise_grace=5.0,  # a peer's read may time out once under load
        )
    except waiting.Outrun:
        raise
    except OperationFailed as e:
        tail = (client.status().get("process") or {}).get("error_log_tail") or []
        detail = f"; its error log ends: {' | '.join(tail[-3:])}" if tail else ""
        raise Stopped(f"{name} did not come back: {e.message}{detail}") from None
    return spec
