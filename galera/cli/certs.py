"""``galeractl certs``: create, rotate and inspect the cluster's TLS certificates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from galera.cli import output
from galera.cli.common import cluster_option, load_spec, on_kube
from galera.cli.render import VALUES, load_values

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


def _files_only() -> None:
    """create, rotate, retire-old-ca and show work on a certificate directory (VMs, the
    sandbox); on Kubernetes the certificates are the Secret the pods mount."""
    if on_kube():
        from galera.errors import InvalidInput

        raise InvalidInput(
            "with --kube the certificates are the TLS Secret the pods mount: cert-manager "
            "renews it (tls.certManager.issuer), or galeractl certs secret writes one"
        )


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
    _files_only()
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
    _files_only()
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
    _files_only()
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
    _files_only()
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


@certs.command()
@VALUES
@click.option(
    "-n",
    "--namespace",
    help="The cluster's namespace (default: the values' namespace); the names carry it.",
)
@click.option(
    "--ca-dir",
    type=click.Path(file_okay=False),
    help="Keep the CA here (ca.pem, ca-key.pem 0600): created when missing, reused to sign a "
    "renewed certificate. Without it a new CA signs, and its key is not kept.",
)
@DAYS
@click.option(
    "-o",
    "--output",
    default="-",
    show_default=True,
    metavar="FILE|-",
    help="Where to write the Secret's manifest (mode 0600), or - for stdout.",
)
def secret(
    values_files: tuple[str, ...],
    namespace: str | None,
    ca_dir: str | None,
    days: int,
    output: str,
) -> None:
    """The TLS Secret of a cluster on Kubernetes, for clusters without cert-manager.

    One certificate (EC P-256) for every member, the address each has under the headless
    Service (*.<name>-peers.<namespace>.svc), and the client Service, in a kubernetes.io/tls
    Secret with ca.crt: what the rendered pods mount (tls.secretName). Apply it with
    kubectl apply -f FILE; a renewed Secret is taken into use without a restart.
    """
    from galera import tls
    from galera.controller import certs as workflow
    from galera.render import manifests

    values, source = load_values(values_files)
    where = Path(ca_dir) if ca_dir else None
    obj, names = workflow.kubernetes_secret(values, namespace, days, where, source)
    text = manifests.dump([obj])
    if output == "-":
        click.echo(text, nl=False)
    else:
        tls.write(Path(output), text.encode(), private=True)
    meta = obj["metadata"]
    click.echo(
        f"Secret {meta['name']} (namespace {meta['namespace']}) names {', '.join(names)}"
        + ("" if output == "-" else f"; written to {output}"),
        err=True,
    )
    if where is None:
        click.echo("the CA's key was not kept: a renewal needs --ca-dir", err=True)
