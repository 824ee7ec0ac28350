"""``galeractl certs``: create, rotate and inspect the cluster's TLS certificates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from galera.cli import output
from galera.cli.common import cluster_option, load_spec

DAYS = click.option(
    "--days",
    default=397,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="How long the members' certificates are valid.",
)


@click.group()
def certs() -> None:
    """The cluster's CA and member certificates (TLS on every path)."""


@certs.command()
@cluster_option
@click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False),
    help="Where to write them [default: tls/ beside the cluster file].",
)
@DAYS
def create(cluster: str | None, root: str | None, days: int) -> None:
    """A new CA and a certificate for every member, naming its host, name and agent host.

    Keys are written 0600. Refused when the directory already holds a CA (use rotate).
    """
    from galera.controller import certs as workflow

    spec = load_spec(cluster)
    where = Path(root) if root else spec.path.parent / "tls"
    named = workflow.create(spec, where, days)
    for name, names in named.items():
        click.echo(f"{name}: {where / (name + '.pem')} ({', '.join(names)})")
    click.echo(f"CA: {where / 'ca.pem'}; add to {spec.path}:  tls: {{ca: {where / 'ca.pem'}}}")


@certs.command()
@cluster_option
@DAYS
@click.option(
    "--new-ca", is_flag=True, help="Also a new CA, trusted alongside the old one until retired."
)
@click.option(
    "--no-wait",
    is_flag=True,
    help="Do not wait for the members to reload (the files must first reach their hosts).",
)
@click.option("--timeout", default=120.0, show_default=True, type=float)
@output.option
def rotate(
    cluster: str | None, days: int, new_ca: bool, no_wait: bool, timeout: float, fmt: str
) -> None:
    """New certificates for every member, taken into use without restarting any.

    Each member's agent notices its new files and has mariadbd reload them (FLUSH SSL for
    clients, socket.ssl_reload for replication); this waits until every member serves its
    new certificate. Exit 0 when all did, 1 otherwise, 2 on bad input.
    """
    from galera.controller import certs as workflow
    from galera.domain import events

    emit = output.events(fmt)
    spec = load_spec(cluster)
    fresh = workflow.rotate(spec, new_ca, days, emit, wait=None if no_wait else timeout)
    emit(events.of(events.Kind.SUMMARY, issued=sorted(fresh), waited=not no_wait))


@certs.command("retire-old-ca")
@cluster_option
def retire_old_ca(cluster: str | None) -> None:
    """Drop every CA but the current one from the bundle (after a --new-ca rotation, once
    every member serves a certificate of the new CA)."""
    from galera.config import certdir
    from galera.controller import certs as workflow

    spec = load_spec(cluster)
    dropped = certdir.retire_old_cas(workflow.directory(spec))
    click.echo(f"dropped {dropped} old CA(s) from {spec.tls_ca}")


@certs.command()
@cluster_option
@output.option
def show(cluster: str | None, fmt: str) -> None:
    """When the CA and each member's certificate expire (exit 1 when one expires within 14
    days or already has)."""
    from galera import tls
    from galera.controller import certs as workflow

    spec = load_spec(cluster)
    now = dt.datetime.now(dt.timezone.utc)
    expiries = workflow.expiries(spec)
    rows = [
        {"name": name, "not_after": when.isoformat(), "days_left": (when - now).days}
        for name, when in expiries.items()
    ]

    def table(data: list[dict[str, Any]]) -> str:
        cells = [[r["name"], r["not_after"], r["days_left"]] for r in data]
        return output.columns(["CERTIFICATE", "NOT AFTER", "DAYS LEFT"], cells)

    output.emit(rows, fmt, table)
    if any((when - now).days < tls.EXPIRY_WARNING_DAYS for when in expiries.values()):
        raise SystemExit(1)
