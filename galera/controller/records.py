"""The cluster's own records, kept where the platform keeps its records (a JSON file beside
the cluster file on VMs and in the sandbox, a ConfigMap on Kubernetes):

- ``writer``: the member that takes writes behind a proxy (see :mod:`galera.controller.writer`);
- ``maintenance``: a pause that the controller honours (``galeractl pause``/``resume``);
- ``history``: what happened to the cluster, newest last (``galeractl history``).

Every write is a compare-and-swap: a conflict re-reads the record and applies the change
again. A record written by an actor acting under the lease is a change like any other
(:func:`galera.fence.before_change`); ``pause`` and ``resume`` take no lease: they are how
a person tells the controller that holds it to stand still.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from galera import fence
from galera.errors import Conflict, GaleraError, UnsafeOperation
from galera.platforms.base import Platform

log = logging.getLogger("galera.controller")

WRITER = "writer"
MAINTENANCE = "maintenance"
HISTORY = "history"
HISTORY_LIMIT = 500  # entries kept; the oldest are dropped


def read(platform: Platform, name: str) -> dict[str, Any]:
    return platform.progress_store(name).read()[0]


def update(
    platform: Platform, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """Apply ``change`` to the record and write it; the record written."""
    store = platform.progress_store(name)
    for _ in range(5):
        data, version = store.read()
        new = change(dict(data))
        fence.before_change()
        try:
            store.write(new, version)
        except Conflict:
            continue  # written meanwhile: apply the change to what is there now
        return new
    raise UnsafeOperation(f"the record in {store.where} keeps changing under this write")


def append(platform: Platform, kind: str, **details: Any) -> None:
    """Add an entry to the history. Only under the lease an actor holds (a lost lease stops
    the actor here as before any change); otherwise never fatal: the history tells what
    happened, it is not what makes it happen (a failure to write it is logged)."""
    fence.before_change()
    entry = {"at": round(time.time(), 3), "kind": kind, "by": platform.identity, **details}

    def add(data: dict[str, Any]) -> dict[str, Any]:
        entries = list(data.get("entries") or [])[-(HISTORY_LIMIT - 1) :]
        return {"entries": [*entries, entry]}

    try:
        update(platform, HISTORY, add)
    except GaleraError as e:
        log.warning("could not record %s in the history: %s", kind, e)


def history(platform: Platform) -> list[dict[str, Any]]:
    entries = read(platform, HISTORY).get("entries") or []
    return [e for e in entries if isinstance(e, dict)]


def paused(platform: Platform) -> dict[str, Any] | None:
    """The pause in force (``by``, ``at``, ``reason``), or None."""
    data = read(platform, MAINTENANCE)
    return data if data.get("paused") else None


def pause(platform: Platform, reason: str, expected: float) -> dict[str, Any]:
    """Maintenance mode: the controller observes and exports, and changes nothing.
    ``expected``: seconds the person expects it to last (an alert fires after that; the
    pause itself never ends by itself)."""
    now = round(time.time(), 3)

    def set_pause(data: dict[str, Any]) -> dict[str, Any]:
        if data.get("paused"):  # paused again: keep who paused it and since when
            return {**data, "until": round(now + expected, 3), "reason": reason or data["reason"]}
        return {
            "paused": True,
            "by": platform.identity,
            "at": now,
            "until": round(now + expected, 3),
            "reason": reason,
        }

    record = update(platform, MAINTENANCE, set_pause)
    kind = "pause" if record.get("at") == now else "pause_extended"
    append(platform, kind, reason=reason, expected_seconds=expected)
    return record


def resume(platform: Platform) -> dict[str, Any] | None:
    """End the pause; the pause that ended, or None when there was none."""
    ended: list[dict[str, Any]] = []

    def clear(data: dict[str, Any]) -> dict[str, Any]:
        ended[:] = [data] if data.get("paused") else []
        return {"paused": False, "by": platform.identity, "at": round(time.time(), 3)}

    update(platform, MAINTENANCE, clear)
    if ended:
        append(platform, "resume", paused_for=round(time.time() - float(ended[0]["at"]), 1))
        return ended[0]
    return None
