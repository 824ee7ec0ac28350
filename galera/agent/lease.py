"""This agent's share of the cluster's lease (VMs and the sandbox).

On platforms without a coordination service, an actor (a controller, a person's command)
may change the cluster only while a majority of the members' agents grant it the lease
(:mod:`galera.platforms.agent_lease`). Each agent judges expiry by its own monotonic clock,
from the moment it last granted or renewed: no two clocks are ever compared.

A grant is written to the run directory, so that an agent restarted within a term still
honours it, for a full term from its start (the term's real end is unknown there).

Fencing: a change whose request names a holder (every galeractl actor names itself) is
carried out only for the current holder of an unexpired grant. A holder that was paused or
cut off while its lease expired, and another took it, is refused here even if its own
check before the request passed. A request that names nobody (a person's ``curl``, the
sandbox's fault injection) is not fenced.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galera.errors import InvalidInput, UnsafeOperation

log = logging.getLogger("galera.agent")

MAX_SECONDS = 300
LEASE_FILE = "galeractl-lease.json"


@dataclass(frozen=True)
class Grant:
    holder: str
    seconds: float
    until: float  # on this agent's monotonic clock


def _holder(value: object) -> str:
    text = str(value or "")
    if not 0 < len(text) <= 200 or not text.isprintable():
        raise InvalidInput("holder: must be 1 to 200 printable characters")
    return text


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput("seconds: must be a number")
    if not 1 <= value <= MAX_SECONDS:
        raise InvalidInput(f"seconds: must be from 1 to {MAX_SECONDS}, got {value}")
    return float(value)


class Leases:
    """The grant this agent holds out, if any; every method under one lock."""

    def __init__(self, path: Path | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._grant: Grant | None = self._load()

    def _load(self) -> Grant | None:
        if self.path is None:
            return None
        try:
            saved = json.loads(self.path.read_text())
            holder, seconds = _holder(saved["holder"]), _seconds(saved["seconds"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, InvalidInput) as e:
            log.warning("%s unreadable (%s): no lease honoured from it", self.path, e)
            return None
        log.info("honouring %s's lease for %.0fs (granted before a restart)", holder, seconds)
        return Grant(holder, seconds, self.clock() + seconds)

    def _save(self, grant: Grant | None) -> None:
        if self.path is None:
            return
        try:
            if grant is None:
                self.path.unlink(missing_ok=True)
                return
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"holder": grant.holder, "seconds": grant.seconds}))
            os.replace(tmp, self.path)
        except OSError as e:  # the grant still holds in memory
            log.warning("cannot record the lease in %s: %s", self.path, e.strerror)

    def _live(self) -> Grant | None:
        grant = self._grant
        return grant if grant is not None and grant.until > self.clock() else None

    def acquire(self, body: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """Grant or renew for ``holder`` unless another holds an unexpired grant (taken
        from it with ``force``). (granted, answer)."""
        holder, seconds = _holder(body.get("holder")), _seconds(body.get("seconds", 15))
        force = body.get("force") is True
        with self._lock:
            live = self._live()
            if live is not None and live.holder != holder and not force:
                remaining = round(live.until - self.clock(), 1)
                return False, {"granted": False, "holder": live.holder, "remaining": remaining}
            if live is None or live.holder != holder:
                taken = f", taken from {live.holder}" if live is not None else ""
                log.warning("lease granted to %s for %.0fs%s", holder, seconds, taken)
            grant = Grant(holder, seconds, self.clock() + seconds)
            self._grant = grant
            self._save(grant)
        return True, {"granted": True, "holder": holder, "seconds": seconds}

    def release(self, body: dict[str, Any]) -> dict[str, Any]:
        holder = _holder(body.get("holder"))
        with self._lock:
            if self._grant is None or self._grant.holder != holder:
                return {"released": False}
            self._grant = None
            self._save(None)
        log.info("lease released by %s", holder)
        return {"released": True}

    def admit(self, holder: str | None) -> None:
        """Refuse a change made for a holder that does not hold this agent's grant now."""
        if holder is None:
            return
        with self._lock:
            live = self._live()
            if live is not None and live.holder == holder:
                return
        now = f"{live.holder} holds it" if live is not None else "nobody holds it now"
        raise UnsafeOperation(
            f"fenced: {holder} does not hold this member's lease ({now}); "
            "a change is carried out only for the actor that holds it"
        )

    def state(self) -> dict[str, Any] | None:
        with self._lock:
            live = self._live()
            if live is None:
                return None
            return {"holder": live.holder, "remaining": round(live.until - self.clock(), 1)}
