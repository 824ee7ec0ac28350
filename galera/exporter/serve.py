"""Serving /metrics: the HTTP server, the cluster's collector and its conflict watcher, and
rediscovery of members that move (a replaced pod has a new address)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from galera.errors import GaleraError, InvalidInput

if TYPE_CHECKING:
    from galera.config.clusterfile import ClusterSpec
    from galera.exporter.collector import GaleraCollector

log = logging.getLogger("galera.exporter")


def address(listen: str) -> tuple[str, int]:
    """ADDR:PORT (ADDR may be empty: every address); anything else is bad input."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"--listen: expected ADDR:PORT, got {listen!r}")
    return host or "0.0.0.0", int(port)


def start_server(listen: str, collector: Any = None) -> Any:
    """An HTTP server for /metrics of a registry (holding ``collector`` from its first
    answer: a page served before it was registered would be empty), in a background
    thread."""
    from prometheus_client import CollectorRegistry, start_http_server

    host, port = address(listen)
    registry = CollectorRegistry()
    if collector is not None:
        registry.register(collector)
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as e:
        raise InvalidInput(f"--listen {listen}: {e.strerror}") from None
    return registry


def collector_for(
    spec: ClusterSpec, const: dict[str, str], conflict_interval: float = 30.0
) -> GaleraCollector:
    """The cluster's collector, with its conflict watcher when the agents can be read."""
    from galera.exporter.collector import GaleraCollector
    from galera.exporter.conflicts import ConflictWatcher

    watcher = None
    if spec.agent_token() and any(m.agent for m in spec.members):
        watcher = ConflictWatcher(spec, interval=conflict_interval)
        watcher.start()
    return GaleraCollector(spec, const, watcher)


def serve(
    spec: ClusterSpec, listen: str, const: dict[str, str], conflict_interval: float = 30.0
) -> GaleraCollector:
    """Start serving /metrics for ``spec`` in background threads; the collector."""
    address(listen)  # a bad address is bad input before any watcher starts
    collector = collector_for(spec, const, conflict_interval)
    start_server(listen, collector)
    return collector


def rediscover(
    collector: GaleraCollector,
    discover: Callable[[], ClusterSpec],
    stop: threading.Event,
    interval: float = 15.0,
) -> None:
    """Rediscover the members now and then until ``stop`` (run it in a thread)."""
    while not stop.wait(interval):
        try:
            collector.rediscovered(discover())
        except GaleraError as e:
            log.warning("rediscovery failed: %s", e)


class Swappable:
    """/metrics of a controller: a standby's until it leads, then the cluster's collector,
    which reports whether this controller holds the Lease."""

    def __init__(self, listen: str) -> None:
        from galera.exporter.collector import Standby

        self.registry = start_server(listen)  # at once: a standby answers its probes too
        self.standby: Any = Standby()
        self.registry.register(self.standby)
        self.collector: GaleraCollector | None = None

    def lead(self, spec: ClusterSpec) -> GaleraCollector:
        self.collector = collector_for(spec, {})
        self.registry.unregister(self.standby)
        self.registry.register(self.collector)
        return self.collector
