"""``galeractl controller`` as a long-running service: /metrics served at once (a standby
answers its probes too), the Lease, the values applied by the leader, then the watch loop
until SIGTERM, whose cleanup releases the Lease so that the next controller takes over."""

from __future__ import annotations

import logging
from typing import Any

from galera import proc
from galera.controller import fencing, loop, records
from galera.domain import events
from galera.domain.events import Kind
from galera.errors import GaleraError
from galera.exporter import serve
from galera.exporter.held import HeldDown

log = logging.getLogger("galera.controller")


def main(
    watch: loop.Watch,
    interval: float,
    cycles: int | None = None,
    metrics: str | None = None,
    objects: list[dict[str, Any]] | None = None,
) -> None:
    """Run the controller. ``objects`` (rendered from ``watch.values_file``) are applied
    once this controller leads; a failed apply is retried by the loop while the cluster
    that exists is watched and recovered."""
    logging.getLogger("galera").setLevel(logging.INFO)
    # SIGTERM (a pod being replaced) or Ctrl-C ends the loop through its cleanup; a second
    # signal never interrupts that cleanup.
    proc.Shutdown(interrupt=True).install()
    platform = watch.platform
    held_down = HeldDown()  # a member held down is said once, and published while it holds
    watch.emit = held_down.recording(watch.emit)
    metrics_server = serve.Swappable(metrics) if metrics else None
    if objects is not None:
        emit = platform.emitter(watch.emit)
        fencing.lead(platform, interval, emit)  # standbys wait here until they lead
        try:
            platform.apply(objects, emit)
        except GaleraError as e:
            log.error("applying the values failed: %s", e)
            emit(events.of(Kind.FAILED, action="apply", error=str(e)))
            watch.applied = ""
    if metrics_server is not None:
        collector = metrics_server.lead(platform.spec())
        collector.maintenance = lambda: records.paused(platform)
        collector.held = held_down
        watch.on_refresh = collector.rediscovered

        def on_lease(held: bool) -> None:
            collector.active = held

        watch.on_lease = on_lease
    loop.run(watch, interval, cycles)
