"""``galeractl backup``: physical backups that carry the Galera position, and their check."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from galera.cli import output
from galera.cli.common import (
    EXIT_UNHEALTHY,
    acting,
    cluster_option,
    confirmed,
    platform_for,
    take_lease_option,
)
from galera.domain import events
from galera.domain.events import Kind
from galera.errors import InvalidInput


@click.group(invoke_without_command=True)
@cluster_option
@output.option
@click.option(
    "--member",
    metavar="NAME",
    default=None,
    help="The member to back up (default: a Synced member that is not the writer).",
)
@click.option("--to", "target", metavar="DIR", default=None, help="An absent or empty directory.")
@click.option(
    "--into",
    "series",
    metavar="DIR",
    default=None,
    help="A series: the backup goes to DIR/backup-<UTC time>; only the newest --keep stay.",
)
@click.option(
    "--keep",
    type=int,
    default=None,
    help="With --into: how many complete backups to keep (default 7).",
)
@click.option(
    "--no-prepare",
    is_flag=True,
    help="Keep the backup as streamed (prepare it before restoring: mariabackup --prepare).",
)
@click.pass_context
def backup(
    ctx: click.Context,
    cluster: str | None,
    fmt: str,
    member: str | None,
    target: str | None,
    series: str | None,
    keep: int | None,
    no_prepare: bool,
) -> None:
    """Back the cluster up: a mariabackup stream from one member through its agent, with the
    Galera position (--galera-info), prepared, with a manifest of every file's sha256.

    The member is desynchronised for the duration (flow control never throttles the
    cluster behind it) and always resynchronised by its agent, even when galeractl is
    killed. Refused when the cluster has no Primary component or when desynchronising the
    member would leave no other Synced member."""
    if ctx.invoked_subcommand is not None:
        return
    from galera.controller import backup as backups

    if (target is None) == (series is None):
        raise InvalidInput("backup needs one of --to DIR or --into DIR (or: backup verify DIR)")
    if keep is not None and series is None:
        raise InvalidInput("--keep goes with --into DIR")
    platform = platform_for(cluster)
    emit = output.events(fmt)
    if series is not None:
        from galera.controller import backup_series

        manifest, where, removed = backup_series.take(
            platform, member, Path(series), 7 if keep is None else keep, not no_prepare, emit
        )
        target = str(where)
        if removed:
            emit(
                events.of(
                    Kind.BACKUPS_REMOVED, reason=f"more than --keep in {series}", removed=removed
                )
            )
    else:
        assert target is not None
        manifest = backups.take(platform, member, Path(target), not no_prepare, emit)
    if fmt == "text":
        click.echo(_described(manifest, target))


def _described(manifest: dict[str, Any], where: str) -> str:
    size = sum(int(f["size"]) for f in manifest["files"].values())
    return (
        f"backup of {manifest['member']} at {manifest['position']} in {where}: "
        f"{len(manifest['files'])} files, {size / 1048576:.1f} MiB"
        f"{', prepared' if manifest['prepared'] else ''}"
    )


@backup.command()
@output.option
@click.argument("directory", metavar="DIR")
def verify(fmt: str, directory: str) -> None:
    """Check a backup: every file against its manifest's sha256, then a throwaway server
    started on a copy must recover the manifest's position."""
    from galera.controller import backup as backups

    manifest = backups.verify(Path(directory))
    output.emit(
        {"ok": True, "position": manifest["position"], "files": len(manifest["files"])},
        fmt,
        lambda _doc: "verified: " + _described(manifest, directory),
    )


@click.command()
@click.argument("directory", metavar="DIR")
@cluster_option
@output.option
@click.option(
    "--new-cluster",
    is_flag=True,
    help="Required: form a new cluster from the backup (every member seeded from it).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--timeout",
    type=float,
    default=600.0,
    show_default=True,
    help="Seconds to wait for each stage (Primary, all Synced).",
)
@take_lease_option
def restore(
    directory: str,
    cluster: str | None,
    fmt: str,
    new_cluster: bool,
    yes: bool,
    timeout: float,
    take_lease: bool,
) -> None:
    """Form a new cluster from a backup: every member's empty data directory receives it
    through its agent, with grastate.dat at the backup's position; one member forms the
    cluster there and the others join by IST, never by a full SST.

    Refused, changing nothing, when the backup does not verify, was not prepared or comes
    from another MariaDB release series, and when any member holds data or runs in a
    Primary component."""
    from galera.controller import restore as workflow

    if not new_cluster:
        raise InvalidInput("restore needs --new-cluster (the only kind of restore there is)")
    if timeout <= 0:
        raise InvalidInput(f"--timeout {timeout}: must be seconds above 0")
    platform, emit = platform_for(cluster), output.events(fmt)

    def confirm(position: Any, names: list[str]) -> bool:
        return confirmed(
            yes, f"Restore {directory} ({position}) into {', '.join(names)} as a new cluster?"
        )

    with acting(platform, "restore", take_lease, emit):
        summary = workflow.run(platform, Path(directory), confirm, emit, timeout=timeout)
    if summary.details.get("verdict") != "healthy":
        sys.exit(EXIT_UNHEALTHY)
