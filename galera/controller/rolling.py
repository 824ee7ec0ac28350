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

import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from galera.config.clusterfile import ClusterSpec
from galera.controller import members, observe, records, waiting, writer
from galera.controller.progress import Progress
from galera.domain import events, premises, rolling
from galera.domain.events import Kind
from galera.domain.snapshot import Snapshot
from galera.errors import GaleraError, InvalidInput, OperationFailed, UnsafeOperation
from galera.platforms.base import Platform

Emit = events.Emit
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
    expected_downtime: float | None = None  # None: the platform's, then what steps took
    image: str | None = None


class Stopped(UnsafeOperation):
    """The rollout stopped at a gate or a failed step; later members were not touched."""


class WriteRate:
    """Commits per second, for the IST forecast: from the last polls of the previous
    member's wait when they span enough time (no extra wait), else from a short sample."""

    MIN_GAP = 0.2

    def __init__(self) -> None:
        self.polls: deque[Snapshot] = deque(maxlen=8)
        self.stopped_at: float | None = None
        self.away = 0.0  # the longest a member was away in this rollout's steps (seconds)

    def back(self) -> None:
        """The member stopped last is Synced again: how long it was away."""
        if self.stopped_at is not None:
            self.away = max(self.away, time.monotonic() - self.stopped_at)
            self.stopped_at = None

    def downtime(self, platform: Platform, planned: float | None) -> float:
        """What the IST forecast plans for: the person's figure, else the longest of the
        platform's typical step and the steps this rollout measured."""
        return planned if planned is not None else max(platform.step_downtime, self.away)

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
        # Only members Synced in both reads: one still catching up (an IST being applied)
        # jumps by thousands of seqnos in a moment, which is no write rate.
        deltas = [
            a.status.last_committed - b.status.last_committed
            for a in after.data_members
            for b in before.data_members
            if a.name == b.name
            and a.status is not None
            and b.status is not None
            and a.status.synced
            and b.status.synced
        ]
        return max(deltas, default=0) / gap


def _running(client: Any) -> bool:
    try:
        return (client.status().get("process") or {}).get("state") == "running"
    except GaleraError:
        return False


def run(
    platform: Platform, options: Options, confirm: Callable[[list[str]], bool], emit: Emit
) -> events.Event:
    """Carry out (or resume) a rollout: observe, ask :func:`rolling.next_step`, do that one
    step, record it, and ask again until every member is done."""
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
    begun = rolling.start(rolling.Record.of(progress.data), options.resume, clients)
    if begun.stale_record:
        raise InvalidInput(
            f"{begun.reason}; check the record in {progress.store.where} and remove it"
        )
    if not begun.ok and begun.bad_input:
        raise InvalidInput(begun.reason)
    if not begun.ok:
        raise UnsafeOperation(begun.reason)
    if not options.resume:
        writes_to = writer.current(platform)
        planned = _plan(spec, clients, progress, options, confirm, emit, writes_to)
        if planned is not None:
            return planned  # a dry run
        details: dict[str, Any] = {"order": progress.data.get("order")}
        if options.options:
            details["options"] = options.options
        if options.image:
            details["image"] = options.image
        records.append(platform, "rollout", **details)
    record = rolling.Record.of(progress.data)
    if record.image:
        platform.set_image(record.image, emit)  # OnDelete: no pod restarts until we delete it
    for name in record.done:
        emit(events.of(Kind.SKIPPED, member=name, reason="done before the interruption"))
    rates = WriteRate()
    while True:
        record = rolling.Record.of(progress.data)
        step = rolling.next_step(record, _seen(platform, clients, record))
        if step.action is rolling.Action.DONE:
            break
        spec = _carry_out(platform, spec, clients, progress, step, options, emit, rates)
    progress.finish("done")
    records.append(platform, "rollout_done", order=list(record.order))
    summary = events.of(Kind.SUMMARY, restarted=list(record.order), resumed=options.resume)
    emit(summary)
    return summary


def _plan(
    spec: ClusterSpec,
    clients: dict[str, Any],
    progress: Progress,
    options: Options,
    confirm: Callable[[list[str]], bool],
    emit: Emit,
    writes_to: str | None = None,
) -> events.Event | None:
    """A new rollout: the order (the writer last), the options checked by every member, the
    first gate, the confirmation, then the record. The summary of a dry run (nothing
    changed), else None."""
    snapshot = observe.confirmed_snapshot(spec)
    wanted = list(options.members) or [o.name for o in snapshot.data_members]
    order = rolling.order(snapshot, wanted)
    if writes_to in order:  # writer-first: it moves to a member already restarted, at the end
        order = [*(n for n in order if n != writes_to), writes_to]
    settings = dict(options.options)
    if settings:
        for name in order:  # every member must accept the new options before any restart
            clients[name].configure(settings, apply=False)
        emit(events.of(Kind.OPTIONS_VALID, options=settings))
    first = rolling.gate(snapshot, order[0])
    action = "rollout" if first.ok else "refuse"
    emit(events.of(Kind.PLAN, reason=first.reason, action=action, order=order, options=settings))
    if not first.ok:
        raise Stopped(f"refused before touching anything: {first.reason}")
    if options.dry_run:
        summary = events.of(Kind.SUMMARY, dry_run=True, order=order)
        emit(summary)
        return summary
    if not confirm(order):
        raise UnsafeOperation("not confirmed; nothing was changed (pass --yes to confirm)")
    progress.start(order=order, options=settings, image=options.image, done=[], current=None)
    return None


def _seen(
    platform: Platform, clients: dict[str, Any], record: rolling.Record
) -> rolling.Seen | None:
    """What is seen now of the member an interrupted run was restarting (None: no such)."""
    name = record.current
    if name is None or name not in clients or record.current_step != "stopped":
        return None
    return rolling.Seen(running=_running(clients[name]), incarnation=platform.incarnation(name))


def _carry_out(
    platform: Platform,
    spec: ClusterSpec,
    clients: dict[str, Any],
    progress: Progress,
    step: rolling.Step,
    options: Options,
    emit: Emit,
    rates: WriteRate,
) -> ClusterSpec:
    """One step of the rollout, recorded; the cluster as it is afterwards."""
    name = step.member
    assert name is not None
    try:
        snapshot = observe.snapshot(spec)
        if step.action is rolling.Action.WAIT:
            emit(events.of(Kind.RESUMING, member=name, reason=step.reason))
        else:
            if name == writer.current(platform):  # writer-first: its writes move first
                done = list(progress.data.get("done") or [])
                writer.switchover(platform, None, emit, options.drain_seconds, prefer=done)
                snapshot = observe.snapshot(spec)
            _take_down(
                platform, spec, clients[name], progress, snapshot, name, options, emit, rates
            )
        spec = _bring_back(platform, clients, progress, snapshot, name, options, emit, rates)
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
    progress.data["done"] = [*progress.data.get("done", []), name]
    progress.data["current"] = None
    progress.data["current_step"] = None
    progress.save()
    emit(events.of(Kind.SYNCED, member=name))
    return spec


def _take_down(
    platform: Platform,
    spec: ClusterSpec,
    client: Any,
    progress: Progress,
    snapshot: Snapshot,
    name: str,
    options: Options,
    emit: Emit,
    rates: WriteRate,
) -> None:
    """Gates (safe now, IST predicted), the new options, drain, graceful stop: recorded."""
    gate = rolling.gate(snapshot, name)
    emit(events.of(Kind.GATE, member=name, ok=gate.ok, reason=gate.reason))
    if not gate.ok:
        raise Stopped(f"stopped before {name}: {gate.reason}", member=name)
    rate = rates.measure(spec, snapshot)
    downtime = rates.downtime(platform, options.expected_downtime)
    ist = rolling.forecast_ist(snapshot, name, rate, downtime)
    emit(events.of(Kind.IST_FORECAST, member=name, ist=ist.ist, reason=ist.reason))
    if not ist.ist and not options.allow_sst:
        raise Stopped(f"stopped before {name}: {ist.reason} (--allow-sst to accept)", member=name)
    progress.data["current"] = name
    progress.data["current_step"] = None
    progress.data["pod_uid"] = platform.incarnation(name)
    progress.save()
    settings = rolling.Record.of(progress.data).options
    if settings:
        client.configure(dict(settings), apply=True)
        emit(events.of(Kind.OPTIONS_APPLIED, member=name))
    client.drain(max(options.drain_seconds * 4, 60.0))  # expires if this rollout dies
    try:
        waited, left = waiting.clients_gone(spec, name, options.drain_seconds)
        emit(events.of(Kind.DRAINED, member=name, seconds=waited, connections_left=left))
        again = rolling.gate(observe.snapshot(spec), name)  # the drain took time: again
        if not again.ok:
            emit(events.of(Kind.GATE, member=name, ok=False, reason=again.reason))
            raise Stopped(f"stopped before stopping {name}: {again.reason}", member=name)
        client.stop()
        rates.stopped_at = time.monotonic()
    except BaseException:
        with contextlib.suppress(GaleraError):
            client.undrain()  # back in service: the rollout stops here
        raise
    progress.data["current_step"] = "stopped"
    progress.save()
    emit(events.of(Kind.STOPPED, member=name))


def _bring_back(
    platform: Platform,
    clients: dict[str, Any],
    progress: Progress,
    snapshot: Snapshot,
    name: str,
    options: Options,
    emit: Emit,
    rates: WriteRate,
) -> ClusterSpec:
    """Start the member (or replace its pod) and wait until every member is Synced again.
    Returns the cluster as it is afterwards (on Kubernetes the pod has a new address)."""
    spec = platform.bring_back(
        name, emit, options.step_timeout, previous=progress.data.get("pod_uid")
    )
    clients.update(members.agents(spec))
    progress.data["current_step"] = "started"
    progress.save()
    try:
        waiting.wait_for(
            spec,
            [o.name for o in snapshot.data_members],
            timeout=options.step_timeout,
            what=f"{name} back and Synced",
            on_poll=rates.seen,
            premise=premises.others_stay_primary(name),
            premise_grace=5.0,  # a peer's read may time out once under load
        )
    except waiting.Outrun:
        raise
    except OperationFailed as e:
        tail = (clients[name].status().get("process") or {}).get("error_log_tail") or []
        detail = f"; its error log ends: {' | '.join(tail[-3:])}" if tail else ""
        raise Stopped(f"{name} did not come back: {e.message}{detail}") from None
    rates.back()
    return spec
