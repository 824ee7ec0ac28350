"""``galeractl rolling-restart`` and ``galeractl upgrade``."""

from __future__ import annotations

import sys
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
from galera.cli.common import assignments as parse_assignments
from galera.domain import options as server_options
from galera.errors import InvalidInput


def _options(func: Any) -> Any:
    decorators = [
        cluster_option,
        output.option,
        click.option(
            "--members",
            default="",
            metavar="A,B",
            help="Only these members (default: every data member).",
        ),
        click.option("--dry-run", is_flag=True, help="Show the order and the first gate."),
        click.option("--yes", is_flag=True, help="Do not ask for confirmation."),
        click.option("--resume", is_flag=True, help="Continue an interrupted rollout."),
        click.option(
            "--step-timeout",
            type=click.FloatRange(1, 86400),
            default=300.0,
            show_default=True,
            help="Seconds for one member to be back and Synced.",
        ),
        click.option(
            "--drain-seconds",
            type=click.FloatRange(0, 3600),
            default=2.0,
            show_default=True,
            help="At most this many seconds for clients to disconnect after readiness turns "
            "false (the drain ends as soon as none is left).",
        ),
        click.option(
            "--allow-sst",
            is_flag=True,
            help="Go ahead even when a member is predicted to need a full SST.",
        ),
        take_lease_option,
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _run(
    *,
    cluster: str | None,
    fmt: str,
    members: str,
    dry_run: bool,
    yes: bool,
    resume: bool,
    step_timeout: float,
    drain_seconds: float,
    allow_sst: bool,
    settings: dict[str, str],
    take_lease: bool,
    image: str | None = None,
) -> None:
    from galera.controller import rolling

    platform = platform_for(cluster)
    names = tuple(n.strip() for n in members.split(",") if n.strip())
    options = rolling.Options(
        members=names,
        options=settings,
        dry_run=dry_run,
        resume=resume,
        step_timeout=step_timeout,
        drain_seconds=drain_seconds,
        allow_sst=allow_sst,
        image=image,
    )

    def confirm(order: list[str]) -> bool:
        return confirmed(yes, f"Restart {', '.join(order)} one at a time?")

    command, emit = "upgrade" if settings or image else "rolling-restart", output.events(fmt)
    try:
        with acting(platform, command, take_lease, emit, dry_run):
            rolling.run(platform, options, confirm, emit)
    except rolling.Stopped as e:
        click.echo(f"galeractl: {e}", err=True)
        sys.exit(EXIT_UNHEALTHY)


@click.command(name="rolling-restart")
@_options
def rolling_restart(**common: Any) -> None:
    """Restart members one at a time without losing quorum or writes.

    Exit 0 when every member was restarted and the cluster is Synced; 1 when a gate or a
    step stopped the rollout (later members untouched); 2 on bad input.
    """
    _run(**common, settings={})


@click.command()
@_options
@click.option(
    "--set",
    "options_set",
    multiple=True,
    metavar="OPTION=VALUE",
    help="A mysqld/wsrep option to apply (repeatable); validated by mariadbd first.",
)
@click.option(
    "--image",
    metavar="IMAGE",
    default=None,
    help="With --kube (or a sandbox of containers): the new node image; the StatefulSet is "
    "patched (OnDelete) and pods are replaced one at a time in the safe order.",
)
def upgrade(options_set: tuple[str, ...], image: str | None, **common: Any) -> None:
    """A rolling restart that applies new server options on each member.

    Every member validates the options with mariadbd before anything restarts; unknown or
    malformed options are rejected with exit 2 and nothing changes.
    """
    settings = parse_assignments(options_set, "--set", "OPTION=VALUE")
    server_options.check(settings, "--set ")  # before any member is contacted
    if not settings and not image and not common["resume"]:
        raise InvalidInput("upgrade needs --image IMAGE or at least one --set OPTION=VALUE")
    if image is not None and (not image.strip() or any(c.isspace() for c in image)):
        raise InvalidInput(f"--image {image!r}: not an image reference")
    _run(**common, settings=settings, image=image)
