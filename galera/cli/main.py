"""Entry point of ``galeractl``. Commands import their heavy dependencies lazily."""

from __future__ import annotations

from typing import Any

import click

from galera import __version__
from galera.cli import agent, conflicts, exporter, recovery, render, rolling, sandbox, status
from galera.cli.common import fail
from galera.errors import GaleraError


class Group(click.Group):
    """Turns every :class:`GaleraError` into one clear line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GaleraError as e:
            fail(e)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="galeractl")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for debug).")
def cli(verbose: int) -> None:
    """Run MariaDB Galera clusters safely: on Kubernetes, on VMs, and as a local sandbox."""
    import logging

    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")


cli.add_command(status.status)
cli.add_command(status.quorum)
cli.add_command(sandbox.sandbox)
cli.add_command(agent.agent)
cli.add_command(recovery.bootstrap)
cli.add_command(recovery.rejoin)
cli.add_command(recovery.controller)
cli.add_command(rolling.rolling_restart)
cli.add_command(rolling.upgrade)
cli.add_command(exporter.exporter)
cli.add_command(conflicts.conflicts)
cli.add_command(render.render)


def main() -> None:
    cli(prog_name="galeractl")
