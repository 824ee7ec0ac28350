"""``galeractl switchover``: move the cluster's writes to another member, safely.

The writer is recorded with the platform's records (:mod:`galera.controller.records`) and
flagged on its agent, whose ``/health/writer`` a proxy (HAProxy's ``httpchk``, a ProxySQL
scheduler) follows; on Kubernetes the ``<name>-writer`` Service follows a pod label too.
Order: the new member passes its gate; the old writer's flag is cleared (the proxy stops
sending it writes, and with ``on-marked-down shutdown-sessions`` closes its connections);
galeractl waits until the old writer has no client left (or a limit); then the record and
the new writer's flag are written. Two members never answer as the writer at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from galera.controller import members, observe, records, waiting
from galera.domain import events, writer
from galera.domain.events import Kind
from galera.errors import GaleraError, InvalidInput, UnsafeOperation
from galera.platforms.base import Emit, Platform


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
) -> events.Event:
    """Make ``to`` (or the best candidate) the writer; the ``switchover`` event. Refused,
    changing nothing, when the target does not pass its gate."""
    spec = platform.spec()
    if to is not None and spec.member(to).arbitrator:
        raise InvalidInput(f"{to} is an arbitrator: it holds no data and takes no writes")
    clients = members.agents(spec)
    snapshot = observe.confirmed_snapshot(spec)
    old = current(platform)
    old = old if old in clients else None
    if to is None:
        choice = writer.choose(snapshot, old, prefer)
        if choice.member is None:
            raise UnsafeOperation(f"switchover refused: {choice.reason}; nothing was changed")
        target, reason = choice.member, choice.reason
    else:
        refusal = writer.gate(snapshot, to)
        if refusal is not None:
            raise UnsafeOperation(f"switchover to {to} refused: {refusal}; nothing was changed")
        target, reason = to, f"{to} was asked for"
    started = time.monotonic()
    drained, left = 0.0, None
    if old is not None and old != target:
        try:
            clients[old].set_role(False)
        except GaleraError as e:
            raise UnsafeOperation(
                f"cannot clear {old}'s writer flag ({e.message}): a proxy that still "
                "reaches it would send it writes beside the new writer; nothing was changed"
            ) from None
        platform.route_writer(None)
        drained, left = waiting.clients_gone(spec, old, drain_seconds)
    records.update(
        platform,
        records.WRITER,
        lambda _old: {"member": target, "since": round(time.time(), 3), "by": platform.identity},
    )
    clients[target].set_role(True)
    platform.route_writer(target)
    gap = round(time.monotonic() - started, 2)
    records.append(platform, "switchover", previous=old, to=target, reason=reason, gap=gap)
    event = events.of(
        Kind.SWITCHOVER,
        member=target,
        reason=reason,
        previous=old,
        gap_seconds=gap,
        drained_seconds=drained,
        connections_left=left,
    )
    emit(event)
    return event
