"""``galeractl switchover``: move the cluster's writes to another member, safely.

The writer is recorded with the platform's records (:mod:`galera.controller.records`) and
flagged on its agent, whose ``/health/writer`` a proxy (HAProxy's ``httpchk``, a ProxySQL
scheduler) follows; on Kubernetes the ``<name>-writer`` Service follows a pod label too.
Order: the new member passes its gate; the old writer's flag is cleared (the proxy stops
sending it writes, and with ``on-marked-down shutdown-sessions`` closes its connections);
galeractl waits until the old writer runs no client transaction (or a limit; without the
PROCESS privilege, until it has no client left); then the record and the new writer's flag
are written. Two members never answer as the writer at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from galera.agent_client import AgentClient
from galera.controller import members, observe, records, waiting
from galera.domain import events, writer
from galera.domain.events import Kind
from galera.domain.snapshot import Snapshot
from galera.errors import GaleraError, InvalidInput, UnsafeOperation
from galera.platforms.base import Emit, Platform

log = logging.getLogger("galera.controller")


def current(platform: Platform) -> str | None:
    """The member recorded as the writer, if any."""
    member = records.read(platform, records.WRITER).get("member")
    return str(member) if member else None


def switchover(
    platform: Platform,
    to: str | None,
    emit: Emit,
    drain_seconds: float = 10.0,
    prefer: Iterable[str] = (),
    failover: bool = False,
) -> events.Event:
    """Make ``to`` (or the best candidate) the writer; the ``switchover`` event. Refused,
    changing nothing, when the target does not pass its gate.

    ``failover`` (the controller, the writer out of the Primary component): an old writer
    whose agent cannot be reached does not hold the move up; its flag is cleared when its
    agent answers again (:func:`clear_flags`, each controller cycle), and until then it
    answers as the writer only once Synced in the Primary component again."""
    spec = platform.spec()
    if to is not None and spec.member(to).arbitrator:
        raise InvalidInput(f"{to} is an arbitrator: it holds no data and takes no writes")
    clients = members.agents(spec)
    snapshot = observe.confirmed_snapshot(spec)
    old = current(platform)
    old = old if old in clients else None
    target, reason = _target(snapshot, to, old, prefer)
    if failover and old is not None:
        reason = f"{old} left the Primary component; {reason}"
    started = time.monotonic()
    drained, left, waited_for = 0.0, None, None
    if old is not None and old != target:
        _clear(clients[old], failover)
        platform.route_writer(None)
        if waiting.primary(snapshot.get(old)):  # outside it, no transaction commits
            drained, left, waited_for = waiting.transactions_gone(spec, old, drain_seconds)
    records.update(
        platform,
        records.WRITER,
        lambda _old: {"member": target, "since": round(time.time(), 3), "by": platform.identity},
    )
    clients[target].set_role(True)
    platform.route_writer(target, moved=True)
    gap = round(time.monotonic() - started, 2)
    records.append(platform, "switchover", previous=old, to=target, reason=reason, gap=gap)
    event = events.of(
        Kind.SWITCHOVER,
        member=target,
        reason=reason,
        previous=old,
        gap_seconds=gap,
        drained_seconds=drained,
        waited_for=waited_for,
        left=left,
    )
    emit(event)
    return event


def _target(
    snapshot: Snapshot, to: str | None, old: str | None, prefer: Iterable[str]
) -> tuple[str, str]:
    """The member to take writes and why; refused, changing nothing, when none may."""
    if to is None:
        choice = writer.choose(snapshot, old, prefer)
        if choice.member is None:
            raise UnsafeOperation(f"switchover refused: {choice.reason}; nothing was changed")
        return choice.member, choice.reason
    refusal = writer.gate(snapshot, to)
    if refusal is not None:
        raise UnsafeOperation(f"switchover to {to} refused: {refusal}; nothing was changed")
    return to, f"{to} was asked for"


def _clear(old: AgentClient, failover: bool) -> None:
    """Clear the old writer's flag before anything else; refused (nothing changed yet) when
    its agent cannot be reached, unless ``failover``."""
    try:
        old.set_role(False)
    except GaleraError as e:
        if not failover:
            raise UnsafeOperation(
                f"cannot clear {old.member}'s writer flag ({e.message}): a proxy that still "
                "reaches it would send it writes beside the new writer; nothing was changed"
            ) from None
        log.warning("%s's writer flag stays until its agent answers: %s", old.member, e.message)


def clear_flags(platform: Platform, names: Iterable[str], emit: Emit) -> None:
    """Clear the writer flag of members that are not the recorded writer."""
    clients = members.agents(platform.spec())
    for name in names:
        clients[name].set_role(False)
        log.warning("cleared %s's writer flag: %s is not the recorded writer", name, name)
        emit(
            events.of(
                Kind.WRITER_FLAG_CLEARED,
                member=name,
                reason=f"{name} answered as the writer but is not the recorded one",
            )
        )
