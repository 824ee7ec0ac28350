"""``galeractl exporter``: one Prometheus exporter for every member of a cluster file."""

from __future__ import annotations

import threading

import click

from galera import proc
from galera.cli.common import assignments, cluster_option, platform_for
from galera.errors import InvalidInput
from galera.exporter import serve


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
    serve.address(listen)
    const = assignments(labels, "--label")
    for name in const:
        if not name.isidentifier() or name == "member":
            raise InvalidInput(f"--label {name}: a label name, and not 'member'")
    platform = platform_for(cluster)
    spec = platform.spec()
    shutdown = proc.Shutdown().install()
    collector = serve.serve(spec, listen, const, conflict_interval)
    from galera.controller import records

    collector.maintenance = lambda: records.paused(platform)
    if platform.kind == "kubernetes":
        threading.Thread(
            target=serve.rediscover,
            args=(collector, platform.spec, shutdown.event),
            name="rediscover",
            daemon=True,
        ).start()
    click.echo(f"serving /metrics on {listen} for {len(spec.members)} members", err=True)
    shutdown.wait()
