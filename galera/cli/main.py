"""Entry point of ``galeractl``.

Each command's module is imported only when that command runs (or when ``--help`` lists
them all): ``galeractl status`` never pays for the agent's, the exporter's or Kubernetes'
imports. Commands import their own heavy dependencies lazily too.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from galera import __version__
from galera.cli.common import CLUSTER_BEFORE, fail
from galera.errors import GaleraError

# Command name -> "module:attribute" of its click command, imported on first use.
COMMANDS = {
    "agent": "galera.cli.agent:agent",
    "backup": "galera.cli.backup:backup",
    "bootstrap": "galera.cli.recovery:bootstrap",
    "certs": "galera.cli.certs:certs",
    "conflicts": "galera.cli.conflicts:conflicts",
    "controller": "galera.cli.recovery:controller",
    "exporter": "galera.cli.exporter:exporter",
    "history": "galera.cli.maintenance:history",
    "list": "galera.cli.status:list_members",
    "pause": "galera.cli.maintenance:pause",
    "quorum": "galera.cli.status:quorum",
    "reinit": "galera.cli.recovery:reinit",
    "rejoin": "galera.cli.recovery:rejoin",
    "restore": "galera.cli.backup:restore",
    "resume": "galera.cli.maintenance:resume",
    "render": "galera.cli.render:render",
    "rolling-restart": "galera.cli.rolling:rolling_restart",
    "sandbox": "galera.cli.sandbox:sandbox",
    "status": "galera.cli.status:status",
    "switchover": "galera.cli.maintenance:switchover",
    "upgrade": "galera.cli.rolling:upgrade",
}


class Group(click.Group):
    """Loads commands lazily (click's "Lazily Loading Subcommands") and turns every
    :class:`GaleraError` into one clear line and a non-zero exit."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return _load(self.lazy[cmd_name])
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GaleraError as e:
            fail(e)


def _load(target: str) -> click.Command:
    module, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


@click.group(cls=Group, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="galeractl")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for debug).")
@click.option(
    "-c",
    "--cluster",
    metavar="FILE",
    default=None,
    help="Cluster file, before the command as well as after it (patronictl's habit).",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, cluster: str | None) -> None:
    """Run MariaDB Galera clusters safely: on Kubernetes, on VMs, and as a local sandbox."""
    import logging

    if cluster is not None:
        ctx.meta[CLUSTER_BEFORE] = cluster
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def main() -> None:
    cli(prog_name="galeractl")
