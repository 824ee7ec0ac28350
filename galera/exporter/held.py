"""The members the controller holds down: starting them would overwrite data only they hold
(ahead of the Primary component, or of another history; see :mod:`galera.domain.overwrite`).

The controller never discards. Its rejoin refuses such a member every cycle; this says so
once (a ``held_down`` event, again only when the cause changes) and publishes
``galera_member_held_down{member,reason}`` on the controller's /metrics until the member runs
again: its server answers SQL (however it came back, e.g. a person's ``rejoin --discard``
run elsewhere), or galeractl starts or discards it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from galera.domain import events
from galera.domain.events import Kind
from galera.domain.snapshot import Snapshot

if TYPE_CHECKING:
    from prometheus_client.core import GaugeMetricFamily

NAME = "galera_member_held_down"
HELP = (
    "1 for a member the controller does not start: starting it would overwrite data only it "
    "holds (reason: ahead_of_primary, other_history). A person decides: "
    "galeractl rejoin --discard MEMBER."
)


class HeldDown:
    """Thread-safe: the controller's loop records, a scrape reads."""

    def __init__(self) -> None:
        self._held: dict[str, str] = {}  # member -> cause
        self._lock = threading.Lock()

    def recording(self, emit: events.Emit) -> events.Emit:
        """``emit`` that records what the events say and passes a hold-down on only when it
        is news: a refusal that holds is said once, not every cycle."""

        def record(event: events.Event) -> None:
            if self.observe(event):
                emit(event)

        return record

    def observe(self, event: events.Event) -> bool:
        """Record ``event``; whether to pass it on."""
        name = event.member
        if name is None:
            return True
        with self._lock:
            if event.kind is Kind.HELD_DOWN:
                cause = str(event.details.get("cause", ""))
                news = self._held.get(name) != cause
                self._held[name] = cause
                return news
            if event.kind in (Kind.STARTED, Kind.DISCARDED):
                self._held.pop(name, None)
        return True

    def held(self) -> dict[str, str]:
        with self._lock:
            return dict(self._held)

    def current(self, snapshot: Snapshot) -> dict[str, str]:
        """The members still held down: one whose server answers in ``snapshot`` runs
        again, and is released."""
        with self._lock:
            for o in snapshot.data_members:
                if o.status is not None:
                    self._held.pop(o.name, None)
            return dict(self._held)

    def family(self, snapshot: Snapshot, const: dict[str, str]) -> GaugeMetricFamily:
        """The gauge for /metrics, with the collector's constant labels."""
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(NAME, HELP, labels=[*const, "member", "reason"])
        for member, cause in sorted(self.current(snapshot).items()):
            family.add_metric([*const.values(), member, cause], 1.0)
        return family
