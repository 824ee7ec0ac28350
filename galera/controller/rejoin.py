"""``galeractl rejoin``: the partial outage. A Primary component runs; bring the rest back."""

from __future__ import annotations

from galera.controller import joining, members, observe, records, waiting
from galera.domain import events, health, overwrite, premises
from galera.domain.events import Kind
from galera.errors import UnsafeOperation
from galera.platforms.base import Platform

Emit = events.Emit


def run(
    platform: Platform,
    names: list[str] | None,
    emit: Emit,
    timeout: float = 300.0,
    discard: tuple[str, ...] = (),
) -> events.Event:
    """Start the stopped members among ``names`` (default: every data member) in join mode.

    Refused when no Primary component exists (that is ``bootstrap``'s job), and, changing
    nothing, when a member to start is ahead of the Primary component or holds another
    history (its data would be replaced by a full SST) unless a person named it in
    ``discard``. Members that are already healthy are never touched. Raises
    :class:`waiting.Outrun` when the Primary component leaves while the members join: then
    there is nothing left to join.
    """
    spec = platform.spec()
    for name in names or []:
        spec.member(name)
    clients = members.agents(spec)
    snapshot = observe.confirmed_snapshot(spec)
    verdict = health.cluster_verdict(snapshot)
    if verdict.verdict not in (health.Verdict.HEALTHY, health.Verdict.DEGRADED):
        raise UnsafeOperation(
            f"no single Primary component to rejoin ({verdict.verdict.value}: "
            f"{verdict.reason}); after a full outage use 'galeractl bootstrap'"
        )
    wanted = [n for n in (names or list(clients)) if n in clients]
    healthy = {v.name for v in verdict.members if v.healthy}
    skipped = [n for n in wanted if n in healthy]
    for name in skipped:
        emit(events.of(Kind.SKIPPED, member=name, reason="already Synced in the Primary"))
    todo = [n for n in wanted if n not in healthy]
    for name in discard:
        spec.member(name)
    losses = joining.overwrites(spec, clients, snapshot, todo, emit)
    _hold_down(losses, discard, emit)
    if todo:
        records.append(platform, "rejoin", members=todo, discarded=[loss.member for loss in losses])
    joining.discard(clients, losses, emit)
    started = joining.start_joiners(spec, clients, todo, emit)
    if todo:
        waiting.wait_for(
            spec,
            todo,
            timeout=timeout,
            what="rejoined members Synced",
            premise=premises.a_primary_exists,
        )
    summary = events.of(Kind.SUMMARY, started=started, waited=todo, untouched=skipped)
    emit(summary)
    return summary


def _hold_down(losses: list[overwrite.Loss], discard: tuple[str, ...], emit: Emit) -> None:
    """Refuse, starting nothing, when joining would overwrite a member no person named in
    ``discard``; each is named in a ``held_down`` event first (the controller says it once
    while it holds, and publishes it)."""
    refused = [loss for loss in losses if loss.member not in discard]
    for loss in refused:
        emit(
            events.of(
                Kind.HELD_DOWN,
                member=loss.member,
                reason=loss.reason,
                cause=loss.cause,
                transactions=loss.transactions,
            )
        )
    if refused:
        flags = " ".join(f"--discard {loss.member}" for loss in refused)
        raise UnsafeOperation(
            "; ".join(loss.reason for loss in refused)
            + f". Nothing was started; to overwrite on purpose: galeractl rejoin {flags}"
        )
