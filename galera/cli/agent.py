"""``galeractl agent``: the node agent, one per member (a pod's main process, or systemd)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option(
    "--config", "config_path", required=True, metavar="FILE", help="The agent's YAML configuration."
)
@click.option(
    "--start",
    "start",
    type=click.Choice(["join", "new-cluster", "none"]),
    default=None,
    help="How to start mariadbd now (default: the config's 'start'). "
    "new-cluster applies to this first start only; restarts always join.",
)
def agent(config_path: str, start: str | None) -> None:
    """Run the node agent in the foreground until SIGTERM."""
    import logging

    from galera.agent import run
    from galera.config import agent as config

    logging.getLogger("galera").setLevel(logging.INFO)
    cfg = config.load(Path(config_path))
    sys.exit(run.serve(cfg, start_mode=start))
