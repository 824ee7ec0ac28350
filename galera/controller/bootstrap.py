"""``galeractl bootstrap``: re-form a cluster after a full outage, from its most advanced member.

Read every member (recovering positions where needed), ask :func:`plan_bootstrap`, and carry
the plan out one idempotent step at a time, recording progress so that a rerun after a crash
of galeractl itself finishes the job:

    mark the chosen member (one-shot) → start it in bootstrap mode → wait for Primary →
    start the others in join mode → wait until all are Synced → remove every mark
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from galera import sql
from galera.agent_client import AgentClient
from galera.config import endpoints
from galera.config.clusterfile import ClusterSpec
from galera.controller import joining, members, waiting
from galera.controller.progress import Progress
from galera.domain import health, premises
from galera.domain.bootstrap import BootstrapPlan, MemberReport, plan_bootstrap
from galera.errors import GaleraError, OperationFailed, UnsafeOperation
from galera.platforms.base import Platform

log = logging.getLogger("galera.bootstrap")
Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    allow_missing: int = 0
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
            {
                "event": "member",
                "member": r.name,
                "running": r.running,
                "primary": r.primary,
                "position": str(r.position) if r.position else None,
                "empty": r.empty,
                "safe_to_bootstrap": r.safe_to_bootstrap,
                "joining_from": str(r.joining_from) if r.joining_from else None,
                "error": r.error,
            }
        )
    plan = plan_bootstrap(
        reports, options.allow_missing, options.force_member, initialize=options.initialize
    )
    emit({"event": "plan", **plan.as_dict()})
    if plan.forced or (plan.missing and plan.bootstrap):
        log.warning("bootstrap override by the operator: %s", plan.reason)
    return plan, reports


def run(
    platform: Platform,
    options: Options,
    confirm: Callable[[BootstrapPlan], bool],
    emit: Emit,
) -> dict[str, Any]:
    """Bootstrap (or finish an interrupted bootstrap). Returns the final summary.

    Raises :class:`Refused` when the plan refuses (nothing changed), and
    :class:`OperationFailed` when a step fails (the progress record says where).
    """
    spec = platform.spec()
    if not options.dry_run:
        emit = platform.emitter(emit)
    clients = members.agents(spec)
    progress = Progress.load(platform)
    if progress.in_flight and progress.member in clients:
        reports = members.gather(spec, clients, recover=False, emit=emit)
        chosen = next(r for r in reports if r.name == progress.member)
        if chosen.running and not chosen.primary and not options.dry_run:
            # galeractl died just after starting it: give the start time to finish.
            emit(
                {
                    "event": "waiting",
                    "member": chosen.name,
                    "reason": "an earlier bootstrap started it; waiting for Primary",
                }
            )
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
        if chosen.primary and not options.dry_run:
            emit(
                {
                    "event": "resume",
                    "member": chosen.name,
                    "reason": f"an earlier bootstrap formed the cluster on {chosen.name}; "
                    "finishing it",
                }
            )
            return _join_rest(spec, clients, progress, chosen.name, options, emit)

    plan, reports = decide(spec, options, emit, clients)
    if not plan.bootstrap:
        raise Refused(plan)
    if options.dry_run:
        summary = {"event": "summary", "dry_run": True, "plan": plan.as_dict()}
        emit(summary)
        return summary
    if not confirm(plan):
        raise UnsafeOperation("not confirmed; nothing was changed (pass --yes to confirm)")

    assert plan.member is not None
    chosen = next(r for r in reports if r.name == plan.member)
    in_place = chosen.running and chosen.joining_from is None
    if not plan.initialize:
        plan, fresh = _stop_running_members(
            spec,
            clients,
            plan,
            options,
            emit,
            keep=plan.member if in_place else None,
            only_joiners=in_place,
        )
        assert plan.member is not None
        reports = fresh or reports
        chosen = next(r for r in reports if r.name == plan.member)
        in_place = chosen.running and chosen.joining_from is None
    member = plan.member
    assert member is not None
    position = str(plan.position) if plan.position else "new"
    progress.begin(member, position, plan.reason)
    emit({"event": "begin", "member": member, "position": position})
    for name, client in clients.items():  # at most one member is ever marked
        if name != member:
            _quiet(client.unmark)
    if plan.initialize:
        if chosen.running:  # a join attempt that found nobody (no data to keep): end it
            clients[member].stop(timeout=5)
        clients[member].start("initialize")
        progress.step("started")
        emit({"event": "started", "member": member, "mode": "initialize"})
    elif in_place and _pc_bootstrap_taken(spec, member, progress, emit):
        pass
    else:
        if in_place:
            # pc.bootstrap was ignored (a member left half-joined by a donor that went away
            # keeps a Primary view of its own that no quorum backs): every running member
            # is stopped (a graceful stop writes its position), then it starts again in
            # bootstrap mode.
            emit(
                {
                    "event": "restarting",
                    "member": member,
                    "reason": "pc.bootstrap was not taken; restarting it in bootstrap mode",
                }
            )
            try:
                plan, _fresh = _stop_running_members(spec, clients, plan, options, emit)
            except UnsafeOperation as e:
                progress.finish("refused", error=e.message)
                raise
            assert plan.member is not None
            member = plan.member
        clients[member].mark(str(plan.position))
        progress.step("marked")
        emit({"event": "marked", "member": member, "position": str(plan.position)})
        clients[member].start("bootstrap")
        progress.step("started")
        emit({"event": "started", "member": member, "mode": "bootstrap"})
    waiting.wait_for(
        spec,
        [member],
        timeout=options.timeout,
        what=f"{member} Primary and Synced",
        premise=premises.server_alive(member),
    )
    progress.step("primary")
    emit({"event": "primary", "member": member})
    return _join_rest(spec, clients, progress, member, options, emit)


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
    if not targets:
        return plan, None
    for name, reason, timeout in targets:
        clients[name].stop(timeout=timeout)  # a waiting joiner ignores SIGTERM: SIGKILL
        emit({"event": "stopped", "member": name, "reason": reason})
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


def _join_rest(
    spec: ClusterSpec,
    clients: dict[str, AgentClient],
    progress: Progress,
    first: str,
    options: Options,
    emit: Emit,
) -> dict[str, Any]:
    rest = [name for name in clients if name != first]
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
    emit({"event": "synced", "members": list(clients)})
    for client in clients.values():
        _quiet(client.unmark)
    progress.step("unmarked")
    verdict = health.cluster_verdict(snapshot)
    progress.finish("done", verdict=verdict.verdict.value)
    summary = {
        "event": "summary",
        "member": first,
        "joined": started,
        "verdict": verdict.verdict.value,
        "reason": verdict.reason,
    }
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
        {
            "event": "waiting",
            "reason": "every member runs, none is Primary: giving "
            f"pc.recovery {options.pc_recovery_grace:.0f}s to re-form the Primary component",
        }
    )
    deadline = time.monotonic() + options.pc_recovery_grace
    while time.monotonic() < deadline:
        time.sleep(1)
        reports = members.gather(spec, clients, recover=False, emit=emit)
        if any(r.primary for r in reports):
            return reports
    return None


def _pc_bootstrap_taken(
    spec: ClusterSpec, name: str, progress: Progress, emit: Emit, settle: float = 10.0
) -> bool:
    """Make a running, non-Primary member Primary in place; whether it took."""
    _pc_bootstrap(spec, name)
    progress.step("pc_bootstrap")
    emit({"event": "pc_bootstrap", "member": name})
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
        spec.credentials(),
        ["SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'"],
        member=name,
    )


def _quiet(call: Callable[[], object]) -> None:
    try:
        call()
    except GaleraError as e:
        log.warning("%s", e)
