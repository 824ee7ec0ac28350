"""``galeractl bootstrap``: re-form a cluster after a full outage, from its most advanced member.

Read every member (recovering positions where needed), ask :func:`plan_bootstrap`, and carry
the plan out one idempotent step at a time, recording progress so that a rerun after a crash
of galeractl itself finishes the job:

    mark the chosen member (one-shot) → start it in bootstrap mode → wait for Primary →
    start the others in join mode → wait until all are Synced → remove every mark
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from galera import poll, sql
from galera.agent_client import AgentClient
from galera.config import endpoints
from galera.config.clusterfile import ClusterSpec
from galera.controller import joining, members, observe, records, waiting
from galera.controller.progress import Progress
from galera.domain import events, health, premises
from galera.domain.bootstrap import (
    BootstrapPlan,
    MemberReport,
    Resume,
    Start,
    plan_bootstrap,
    resume,
    start_path,
)
from galera.domain.events import Kind
from galera.errors import AccessDenied, GaleraError, OperationFailed, UnsafeOperation
from galera.platforms.base import Platform

log = logging.getLogger("galera.bootstrap")
Emit = events.Emit


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    allow_missing: tuple[str, ...] = ()
    force_member: str | None = None
    initialize: bool = False
    timeout: float = 300.0
    pc_recovery_grace: float = 15.0


class Refused(UnsafeOperation):
    """The plan refused to bootstrap; nothing was changed."""

    def __init__(self, plan: BootstrapPlan) -> None:
        super().__init__(plan.reason)
        self.plan = plan


def decide(
    spec: ClusterSpec, options: Options, emit: Emit, clients: dict[str, AgentClient] | None = None
) -> tuple[BootstrapPlan, list[MemberReport]]:
    """Gather (recovering positions where needed) and plan. Changes no data."""
    clients = clients or members.agents(spec)
    reports = members.gather(spec, clients, recover=False, emit=emit)
    if reports and all(r.running and not r.primary for r in reports):
        reports = _wait_for_pc_recovery(spec, clients, options, emit) or reports
    if not any(r.primary for r in reports):
        reports = members.gather(spec, clients, recover=True, emit=emit)
    for r in reports:
        emit(
            events.of(
                Kind.MEMBER,
                member=r.name,
                running=r.running,
                primary=r.primary,
                position=str(r.position) if r.position else None,
                empty=r.empty,
                safe_to_bootstrap=r.safe_to_bootstrap,
                joining_from=str(r.joining_from) if r.joining_from else None,
                error=r.error,
            )
        )
    plan = plan_bootstrap(
        reports, options.allow_missing, options.force_member, initialize=options.initialize
    )
    emit(events.Event(Kind.PLAN, details=plan.as_dict()))
    if plan.forced or (plan.missing and plan.bootstrap):
        log.warning("bootstrap override by the operator: %s", plan.reason)
    return plan, reports


def run(
    platform: Platform,
    options: Options,
    confirm: Callable[[BootstrapPlan], bool],
    emit: Emit,
) -> events.Event:
    """Bootstrap (or finish an interrupted bootstrap). Returns the final summary.

    Raises :class:`Refused` when the plan refuses (nothing changed), and
    :class:`OperationFailed` when a step fails (the progress record says where).
    """
    spec = platform.spec()
    if not options.dry_run:
        emit = platform.emitter(emit)
    clients = members.agents(spec)
    progress = Progress.load(platform)
    finished = _resume(spec, clients, progress, options, emit)
    if finished is not None:
        return finished
    if not options.dry_run:
        _end_stalled_joins(spec, clients, emit)
    plan, reports = decide(spec, options, emit, clients)
    if not plan.bootstrap:
        raise Refused(plan)
    if options.dry_run:
        summary = events.of(Kind.SUMMARY, dry_run=True, plan=plan.as_dict())
        emit(summary)
        return summary
    if not confirm(plan):
        raise UnsafeOperation("not confirmed; nothing was changed (pass --yes to confirm)")
    if not plan.initialize:
        # Members left outside a Primary component would clash with the new one.
        in_place = start_path(plan, _report(reports, plan.member)) is Start.IN_PLACE
        plan, fresh = _stop_running_members(
            spec,
            clients,
            plan,
            options,
            emit,
            keep=plan.member if in_place else None,
            only_joiners=in_place,
        )
        reports = fresh or reports
    records.append(
        platform,
        "bootstrap",
        member=plan.member,
        position=str(plan.position) if plan.position else "new",
        reason=plan.reason,
        alternatives={r.name: str(r.position or r.error or "none") for r in reports},
    )
    member = _form(spec, clients, progress, plan, _report(reports, plan.member), options, emit)
    return _join_rest(spec, clients, progress, member, options, emit)


def _end_stalled_joins(spec: ClusterSpec, clients: dict[str, AgentClient], emit: Emit) -> None:
    """Stop the join attempts that lost their donor with the Primary component: running,
    they can neither finish nor say where their data is (a joiner was behind its donor, and
    the donor keeps what it sent). Stopped, each is read like any stopped member: recovered,
    or refused when a state transfer into it was cut. Nothing is stopped unless every
    agent answered and no member is Primary."""
    reports = members.gather(spec, clients, recover=False, emit=emit)
    stalled = [r.name for r in reports if r.stalled]
    if not stalled or any(r.primary or (r.error and not r.stalled) for r in reports):
        return
    for name in stalled:
        clients[name].stop(timeout=5.0)  # a joiner may ignore SIGTERM: then SIGKILL
        reason = "its join attempt lost its donor and the Primary component"
        emit(events.of(Kind.STOPPED, member=name, reason=reason))


def _report(reports: list[MemberReport], name: str | None) -> MemberReport:
    return next(r for r in reports if r.name == name)


def _resume(
    spec: ClusterSpec,
    clients: dict[str, AgentClient],
    progress: Progress,
    options: Options,
    emit: Emit,
) -> events.Event | None:
    """Finish a bootstrap an earlier galeractl left in flight, if it formed the cluster
    (the summary); None when the decision is to plan afresh."""
    chosen = None
    if progress.in_flight and progress.member in clients:
        reports = members.gather(spec, clients, recover=False, emit=emit)
        chosen = _report(reports, progress.member)
    step = resume(progress.in_flight, chosen, options.dry_run)
    if step.action is Resume.WAIT:
        assert chosen is not None
        emit(events.of(Kind.WAITING, member=chosen.name, reason=step.reason))
        try:
            waiting.wait_for(
                spec,
                [chosen.name],
                timeout=min(options.timeout, 120),
                what=f"{chosen.name} Primary",
                premise=premises.server_alive(chosen.name),
            )
            chosen = MemberReport(chosen.name, running=True, primary=True)
        except OperationFailed:
            pass
        step = resume(progress.in_flight, chosen, options.dry_run, waited=True)
    if step.action is not Resume.FINISH:
        return None
    assert step.member is not None
    emit(events.of(Kind.RESUMING, member=step.member, reason=step.reason))
    return _join_rest(spec, clients, progress, step.member, options, emit)


def _form(
    spec: ClusterSpec,
    clients: dict[str, AgentClient],
    progress: Progress,
    plan: BootstrapPlan,
    chosen: MemberReport,
    options: Options,
    emit: Emit,
) -> str:
    """Make the planned member the Primary component, recording every step; its name."""
    member = chosen.name
    position = str(plan.position) if plan.position else "new"
    progress.begin(member, position, plan.reason)
    emit(events.of(Kind.BEGIN, member=member, position=position))
    for name, client in clients.items():  # at most one member is ever marked
        if name != member:
            _quiet(client.unmark)
    path = start_path(plan, chosen)
    if path is Start.INITIALIZE:
        if chosen.running:  # a join attempt that found nobody (no data to keep): end it
            clients[member].stop(timeout=5)
        clients[member].start("initialize")
        progress.step("started")
        emit(events.of(Kind.STARTED, member=member, mode="initialize"))
    elif path is not Start.IN_PLACE or not _pc_bootstrap_taken(spec, member, progress, emit):
        member = _start_bootstrap(spec, clients, progress, plan, path, options, emit)
    waiting.wait_for(
        spec,
        [member],
        timeout=options.timeout,
        what=f"{member} Primary and Synced",
        premise=premises.server_alive(member),
    )
    progress.step("primary")
    emit(events.of(Kind.PRIMARY, member=member))
    return member


def _start_bootstrap(
    spec: ClusterSpec,
    clients: dict[str, AgentClient],
    progress: Progress,
    plan: BootstrapPlan,
    path: Start,
    options: Options,
    emit: Emit,
) -> str:
    """Mark the member (one-shot) and start it with --wsrep-new-cluster; its name."""
    if path is Start.IN_PLACE:
        # pc.bootstrap was ignored (a member left half-joined by a donor that went away
        # keeps a Primary view of its own that no quorum backs): every running member is
        # stopped (a graceful stop writes its position), then it starts in bootstrap mode.
        emit(
            events.of(
                Kind.RESTARTING,
                member=plan.member,
                reason="pc.bootstrap was not taken; restarting it in bootstrap mode",
            )
        )
        try:
            plan, _fresh = _stop_running_members(spec, clients, plan, options, emit)
        except UnsafeOperation as e:
            progress.finish("refused", error=e.message)
            raise
    member = plan.member
    assert member is not None
    clients[member].mark(str(plan.position))
    progress.step("marked")
    emit(events.of(Kind.MARKED, member=member, position=str(plan.position)))
    clients[member].start("bootstrap")
    progress.step("started")
    emit(events.of(Kind.STARTED, member=member, mode="bootstrap"))
    return member


def _stop_running_members(
    spec: ClusterSpec,
    clients: dict[str, AgentClient],
    plan: BootstrapPlan,
    options: Options,
    emit: Emit,
    keep: str | None = None,
    only_joiners: bool = False,
) -> tuple[BootstrapPlan, list[MemberReport] | None]:
    """Before a member starts in bootstrap mode, stop every member still running outside a
    Primary component (with ``only_joiners``, only the joiners waiting for a donor; never
    ``keep``). Each keeps the Primary view it last had (a joiner still asking a gone
    component for a state transfer, a member left half-joined); meeting the new component,
    Galera's membership protocol fails on "conflicting prims" and the new Primary component
    goes down. A graceful stop writes a member's position; a waiting joiner received
    nothing and its agent puts grastate.dat back where it started.

    Every member is read again right before: if any is Primary now, or runs with a state
    that could not be read, nothing is stopped. After the stops the positions are read
    again and the plan made again; unless it bootstraps the same position, nothing is
    bootstrapped. Returns the plan to carry out and the fresh reports (None: no stop)."""
    targets = _stop_targets(clients, plan, keep, only_joiners)
    if not targets:
        return plan, None
    for name, reason, timeout in targets:
        clients[name].stop(timeout=timeout)  # a waiting joiner ignores SIGTERM: SIGKILL
        emit(events.of(Kind.STOPPED, member=name, reason=reason))
    again = members.gather(spec, clients, recover=True, emit=emit)
    replanned = plan_bootstrap(
        again, options.allow_missing, options.force_member, initialize=options.initialize
    )
    if not replanned.bootstrap or replanned.position != plan.position:
        raise UnsafeOperation(
            f"after stopping {', '.join(t[0] for t in targets)} the plan changed "
            f"({replanned.reason}); nothing was bootstrapped: run it again"
        )
    return replanned, again


def _stop_targets(
    clients: dict[str, AgentClient], plan: BootstrapPlan, keep: str | None, only_joiners: bool
) -> list[tuple[str, str, float | None]]:
    """The members to stop before a bootstrap, each read again now: (name, why, timeout).
    Refuses, stopping nothing, when any is Primary or runs with a state not read."""
    targets: list[tuple[str, str, float | None]] = []
    for name, client in clients.items():
        if name == keep:
            continue
        try:
            body = client.status()
        except GaleraError as e:
            if name in plan.missing:
                continue  # the person went ahead without it (--allow-missing)
            raise UnsafeOperation(
                f"{name}'s agent did not answer ({e.message}); nothing was stopped or bootstrapped"
            ) from None
        process = body.get("process") or {}
        if process.get("state") not in ("running", "stopping"):
            continue
        wsrep = body.get("wsrep")
        if wsrep and str(wsrep.get("cluster_status", "")).lower() == "primary":
            raise UnsafeOperation(
                f"{name} is Primary now: nothing was stopped or bootstrapped (rejoin instead)"
            )
        joining = process.get("joining_from")
        if joining:
            targets.append((name, f"its join attempt from {joining} received nothing", 3.0))
        elif only_joiners:
            continue
        elif wsrep is None:
            raise UnsafeOperation(
                f"{name} runs but its state could not be read ({body.get('wsrep_error')}); "
                "nothing was stopped or bootstrapped"
            )
        else:
            reason = "running outside any Primary component, it would clash with the new one"
            targets.append((name, reason, None))
    return targets


def _join_rest(
    spec: ClusterSpec,
    clients: dict[str, AgentClient],
    progress: Progress,
    first: str,
    options: Options,
    emit: Emit,
) -> events.Event:
    rest = [name for name in clients if name != first]
    if options.force_member is not None:  # the person accepted losing what the others held
        snapshot = observe.snapshot(spec)
        joining.discard(clients, joining.overwrites(spec, clients, snapshot, rest, emit), emit)
    started = joining.start_joiners(spec, clients, rest, emit)
    progress.step("joining", members=started)
    try:
        snapshot = waiting.wait_for(
            spec,
            list(clients),
            timeout=options.timeout,
            what="every member Synced",
            premise=premises.a_primary_exists,
        )
    except waiting.Outrun:
        raise  # the record stays in flight: the next bootstrap decides afresh
    except OperationFailed as e:
        progress.finish("failed", error=e.message)
        raise
    progress.step("synced")
    emit(events.of(Kind.SYNCED, members=list(clients)))
    for client in clients.values():
        _quiet(client.unmark)
    progress.step("unmarked")
    verdict = health.cluster_verdict(snapshot)
    progress.finish("done", verdict=verdict.verdict.value)
    summary = events.of(
        Kind.SUMMARY,
        member=first,
        joined=started,
        verdict=verdict.verdict.value,
        reason=verdict.reason,
    )
    emit(summary)
    return summary


def _wait_for_pc_recovery(
    spec: ClusterSpec, clients: dict[str, AgentClient], options: Options, emit: Emit
) -> list[MemberReport] | None:
    """Every member runs but none is Primary: give ``pc.recovery`` a chance first.

    When all members of the last Primary view are back, Galera re-forms the Primary
    component by itself from ``gvwstate.dat``; bootstrapping then would only interfere.
    """
    emit(
        events.of(
            Kind.WAITING,
            reason="every member runs, none is Primary: giving "
            f"pc.recovery {options.pc_recovery_grace:.0f}s to re-form the Primary component",
        )
    )

    def formed() -> list[MemberReport] | None:
        reports = members.gather(spec, clients, recover=False, emit=emit)
        return reports if any(r.primary for r in reports) else None

    return poll.quietly(formed, timeout=options.pc_recovery_grace, interval=1.0)


def _pc_bootstrap_taken(
    spec: ClusterSpec, name: str, progress: Progress, emit: Emit, settle: float = 10.0
) -> bool:
    """Make a running, non-Primary member Primary in place; whether it took. An admin
    account without the privilege for it is no dead end: the member is then restarted in
    bootstrap mode through its agent, which needs no SQL privilege."""
    try:
        _pc_bootstrap(spec, name)
    except AccessDenied as e:
        log.warning("pc.bootstrap on %s refused (%s): restarting it in bootstrap mode", name, e)
        return False
    progress.step("pc_bootstrap")
    emit(events.of(Kind.PC_BOOTSTRAP, member=name))
    try:
        waiting.wait_for(
            spec, [name], condition=waiting.primary, timeout=settle, what=f"{name} Primary"
        )
    except OperationFailed:
        return False
    return True


def _pc_bootstrap(spec: ClusterSpec, name: str) -> None:
    """A running, non-Primary member is made Primary in place (``pc.bootstrap=YES``)."""
    sql.execute(
        endpoints.of_member(spec, spec.member(name)),
        spec.admin_credentials(),
        ["SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'"],
        member=name,
    )


def _quiet(call: Callable[[], object]) -> None:
    try:
        call()
    except GaleraError as e:
        log.warning("%s", e)
