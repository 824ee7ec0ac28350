"""``galeractl backup``: physical backups that carry the Galera position, and their check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from galera.cli import output
from galera.cli.common import cluster_option, platform_for


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
    from galera.errors import InvalidInput

    if target is None:
        raise InvalidInput("backup needs --to DIR (or: galeractl backup verify DIR)")
    platform = platform_for(cluster)
    emit = output.events(fmt)
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
