"""``galeractl exporter``: one Prometheus exporter for every member of a cluster file."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import click

from galera import proc
from galera.cli.common import assignments, cluster_option, platform_for
from galera.errors import GaleraError, InvalidInput

if TYPE_CHECKING:
    from galera.platforms.base import Platform


@click.command()
@cluster_option
@click.option(
    "--listen",
    default="0.0.0.0:9104",
    show_default=True,
    metavar="ADDR:PORT",
    help="Where to serve /metrics (9104 is mysqld_exporter's port).",
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="NAME=VALUE",
    help="A constant label on every series, e.g. cluster=orders (repeatable).",
)
@click.option(
    "--conflict-interval",
    type=click.FloatRange(0.5, 3600),
    default=30.0,
    show_default=True,
    help="Seconds between reads of the members' error logs "
    "(through the agents) for galera_conflicts_total; needs the agent token.",
)
def exporter(
    cluster: str | None, listen: str, labels: tuple[str, ...], conflict_interval: float
) -> None:
    """Serve mysqld_exporter-compatible Galera series and cluster-wide ones (quorum margin,
    split brain, member availability) until SIGTERM. A member that does not answer is
    ``mysql_up 0``; the scrape never fails because of it."""
    address(listen)
    const = assignments(labels, "--label")
    for name in const:
        if not name.isidentifier() or name == "member":
            raise InvalidInput(f"--label {name}: a label name, and not 'member'")
    platform = platform_for(cluster)
    spec = platform.spec()
    shutdown = proc.Shutdown().install()
    collector = serve(spec, listen, const, conflict_interval)
    if platform.kind == "kubernetes":
        threading.Thread(
            target=_rediscover,
            args=(collector, platform, shutdown.event),
            name="rediscover",
            daemon=True,
        ).start()
    click.echo(f"serving /metrics on {listen} for {len(spec.members)} members", err=True)
    shutdown.wait()


def _rediscover(
    collector: Any, platform: Platform, stop: threading.Event, interval: float = 15.0
) -> None:
    """On Kubernetes a replaced pod has a new address: rediscover the members now and then."""
    while not stop.wait(interval):
        try:
            collector.rediscovered(platform.spec())
        except GaleraError as e:
            logging.getLogger("galera.exporter").warning("rediscovery failed: %s", e)


def serve(spec: Any, listen: str, const: dict[str, str], conflict_interval: float = 30.0) -> Any:
    """Start serving /metrics for ``spec`` in background threads; the collector."""
    registry = start_server(listen)
    collector = collector_for(spec, const, conflict_interval)
    registry.register(collector)
    return collector


def start_server(listen: str) -> Any:
    """An HTTP server for /metrics of an (empty) registry, in a background thread."""
    from prometheus_client import CollectorRegistry, start_http_server

    host, port = address(listen)
    registry = CollectorRegistry()
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as e:
        raise InvalidInput(f"--listen {listen}: {e.strerror}") from None
    return registry


def collector_for(spec: Any, const: dict[str, str], conflict_interval: float = 30.0) -> Any:
    """The cluster's collector, with its conflict watcher when the agents can be read."""
    from galera.exporter.collector import GaleraCollector
    from galera.exporter.conflicts import ConflictWatcher

    watcher = None
    if spec.agent_token() and any(m.agent for m in spec.members):
        watcher = ConflictWatcher(spec, interval=conflict_interval)
        watcher.start()
    return GaleraCollector(spec, const, watcher)


def address(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"--listen: expected ADDR:PORT, got {listen!r}")
    return host or "0.0.0.0", int(port)
