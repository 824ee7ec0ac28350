"""The record of an operation in flight (a bootstrap), so that a rerun can finish it.

Stored next to the cluster file as ``<name>.bootstrap.json`` (for the sandbox, in its
directory). Written atomically after every step; ``status`` shows it while it is in flight.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galera.clusterfile import ClusterSpec


def path_for(spec: ClusterSpec, operation: str = "bootstrap") -> Path:
    return spec.path.with_name(f"{spec.path.stem}.{operation}.json")


@dataclass
class Progress:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, spec: ClusterSpec, operation: str = "bootstrap") -> Progress:
        path = path_for(spec, operation)
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            data = {}
        return cls(path, data if isinstance(data, dict) else {})

    @property
    def in_flight(self) -> bool:
        return self.data.get("state") == "in_progress"

    @property
    def member(self) -> str | None:
        value = self.data.get("member")
        return str(value) if value else None

    def begin(self, member: str, position: str, reason: str) -> None:
        self.data = {
            "state": "in_progress",
            "member": member,
            "position": position,
            "reason": reason,
            "started_at": time.time(),
            "steps": [],
        }
        self.save()

    def step(self, name: str, **info: Any) -> None:
        self.data.setdefault("steps", []).append({"step": name, "at": time.time(), **info})
        self.save()

    def finish(self, state: str, **info: Any) -> None:
        self.data.update(state=state, finished_at=time.time(), **info)
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2))
        os.replace(tmp, self.path)

    def summary(self) -> dict[str, Any]:
        steps = self.data.get("steps") or []
        return {
            "state": self.data.get("state"),
            "member": self.member,
            "position": self.data.get("position"),
            "last_step": steps[-1]["step"] if steps else None,
            "started_at": self.data.get("started_at"),
        }
