"""What galeractl reports while it works: one typed event for every command and the controller.

An event is a :class:`Kind`, the member it concerns (if one), the sentence that explains it
(if any) and a few details. The CLI renders it as a table line, a JSON object per line or a
YAML document; Kubernetes records the decisions and changes among them as Events. Pipelines
parse the JSON stream: docs/events.md documents every kind and its fields, and a test keeps
that page and this enumeration the same.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Kind(str, enum.Enum):
    # Recovery (bootstrap, rejoin)
    MEMBER = "member"  # a member's report before the bootstrap decision
    RECOVERING = "recovering"  # --wsrep-recover started on a member
    RECOVERED = "recovered"  # ... and the position it found
    RECOVERY_FAILED = "recovery_failed"
    WAITING = "waiting"  # giving the cluster time (pc.recovery, an earlier start)
    RESUMING = "resuming"  # finishing what an interrupted galeractl started
    PLAN = "plan"  # the decision of a command (bootstrap, rollout) with its reason
    BEGIN = "begin"  # a bootstrap starts: the member and position recorded
    MARKED = "marked"  # the one-shot bootstrap mark placed
    PC_BOOTSTRAP = "pc_bootstrap"  # pc.bootstrap=YES on a running member
    RESTARTING = "restarting"
    STARTED = "started"  # a member's server started (mode) or its pod replaced
    STOPPED = "stopped"
    PRIMARY = "primary"  # the Primary component formed
    SLOW_ADMISSION = "slow_admission"  # a joiner not admitted in time; the next goes on
    SYNCED = "synced"  # a member (or every member) Synced
    HELD_DOWN = "held_down"  # a member not started: joining would lose data only it holds
    # Rollouts
    OPTIONS_VALID = "options_valid"
    GATE = "gate"
    IST_FORECAST = "ist_forecast"
    OPTIONS_APPLIED = "options_applied"
    DRAINED = "drained"
    SKIPPED = "skipped"
    DISCARDED = "discarded"  # a member's own transactions given up on a person's word
    POD_DELETED = "pod_deleted"
    POD_REPLACED = "pod_replaced"
    IMAGE_PATCHED = "image_patched"
    SWITCHOVER = "switchover"  # the writer moved (galeractl switchover, a writer-first rollout)
    WRITER_FLAG_CLEARED = "writer_flag_cleared"  # a member not the recorded writer answered as it
    # The controller
    DECISION = "decision"  # one cycle's decision (wait, rejoin, bootstrap, rollout, alert)
    ABANDONED = "abandoned"  # a step the cluster outran; deciding again at once
    STANDBY = "standby"  # another controller holds the Lease
    APPLIED = "applied"  # objects rendered from the values applied
    FAILED = "failed"  # an action failed; the next cycle decides again
    # Backups
    BACKUP_STARTED = "backup_started"  # the member chosen and why; it is desynchronised
    BACKUP_TAKEN = "backup_taken"  # the position, the bytes streamed, the throughput
    RESTORED = "restored"  # a member's data directory received the backup (restore)
    BACKUPS_REMOVED = "backups_removed"  # a series' oldest backups (beyond --keep) removed
    # Reinit
    EMPTIED = "emptied"  # a member's data directory emptied (reinit): it joins by full SST
    TRANSFER = "transfer"  # a joiner's state transfer under way: its state, seconds so far
    # Certificates
    ISSUED = "issued"  # a member's new certificate written
    RELOADED = "reloaded"  # a member's mariadbd took its new certificate into use
    # Every command
    SUMMARY = "summary"  # the last event: what was done (or that nothing changed)


@dataclass(frozen=True)
class Event:
    kind: Kind
    member: str | None = None
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape: ``{"event": kind, "member": ..., "reason": ..., **details}``
        (member and reason only when set)."""
        out: dict[str, Any] = {"event": self.kind.value}
        if self.member is not None:
            out["member"] = self.member
        if self.reason is not None:
            out["reason"] = self.reason
        out.update(self.details)
        return out


def of(kind: Kind, member: str | None = None, reason: str | None = None, **details: Any) -> Event:
    """An event; ``details`` are the kind's own fields (see docs/events.md)."""
    return Event(kind, member, reason, details)


Emit = Callable[[Event], None]
