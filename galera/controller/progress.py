"""The record of an operation in flight (a bootstrap, a rollout), so that a rerun can finish it.

Where it is kept depends on the platform: next to the cluster file as
``<name>.<operation>.json`` (VMs, the sandbox), or in a ConfigMap written with
``resourceVersion`` compare-and-swap (Kubernetes). Written after every step; ``status``
shows a bootstrap while it is in flight.

Every run carries a random ``run`` id. A compare-and-swap conflict where the stored record
is exactly what this process last wrote, or is writing now (a write that landed but whose
answer was lost), is resolved: nobody else wrote. Any other conflict, even with the same
run (another process resumed it), means a second galeractl is at work, and this one stops.
Writing a record is a change like any other: it is made only while this process holds the
lease it acts under.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from galera import fence
from galera.errors import Conflict, UnsafeOperation
from galera.platforms.base import Platform, Store

OWNER = f"{socket.gethostname()}-{os.getpid()}"  # who carries out a run (this process)


@dataclass
class Progress:
    store: Store
    data: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    _written: dict[str, Any] | None = None  # what this process last wrote, as stored

    @classmethod
    def load(cls, platform: Platform, operation: str = "bootstrap") -> Progress:
        store = platform.progress_store(operation)
        data, version = store.read()
        return cls(store, data, version, _plain(data))

    @property
    def in_flight(self) -> bool:
        return self.data.get("state") == "in_progress"

    @property
    def member(self) -> str | None:
        value = self.data.get("member")
        return str(value) if value else None

    def start(self, **data: Any) -> None:
        """A new run: a fresh record with its own run id and owner."""
        self.data = {
            "state": "in_progress",
            "run": uuid.uuid4().hex,
            "owner": OWNER,
            "started_at": time.time(),
            "steps": [],
            **data,
        }
        self.save()

    def owned_elsewhere(self, stale_after: float = 600.0) -> str | None:
        """The owner of a run in flight that another live process is carrying out (its
        record was written less than ``stale_after`` seconds ago), or None."""
        owner = self.data.get("owner")
        if not self.in_flight or not owner or owner == OWNER:
            return None
        if time.time() - float(self.data.get("heartbeat") or 0) > stale_after:
            return None
        return str(owner)

    def begin(self, member: str, position: str, reason: str) -> None:
        self.start(member=member, position=position, reason=reason)

    def step(self, name: str, **info: Any) -> None:
        self.data.setdefault("steps", []).append({"step": name, "at": time.time(), **info})
        self.save()

    def finish(self, state: str, **info: Any) -> None:
        self.data.update(state=state, finished_at=time.time(), **info)
        self.save()

    def save(self) -> None:
        fence.before_change()
        self.data["heartbeat"] = time.time()
        try:
            self.version = self.store.write(self.data, self.version)
        except Conflict:
            current, version = self.store.read()
            if current == _plain(self.data):
                self.version = version  # our own write landed; only its answer was lost
            elif current == self._written:
                self.version = self.store.write(self.data, version)  # nobody else wrote
            else:
                run = "this run" if current.get("run") == self.data.get("run") else "another run"
                raise UnsafeOperation(
                    f"the record in {self.store.where} was changed by {run} "
                    f"(owner {current.get('owner')!r}, state {current.get('state')!r}): "
                    "another galeractl is at work; stopping here"
                ) from None
        self._written = _plain(self.data)

    def summary(self) -> dict[str, Any]:
        steps = self.data.get("steps") or []
        return {
            "state": self.data.get("state"),
            "member": self.member,
            "position": self.data.get("position"),
            "last_step": steps[-1]["step"] if steps else None,
            "started_at": self.data.get("started_at"),
        }


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """A record as the store gives it back (JSON)."""
    return dict(json.loads(json.dumps(data, default=str)))
