"""``galeractl bootstrap`` and ``galeractl rejoin``: full and partial outage recovery."""

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
    on_kube,
    platform_for,
    take_lease_option,
)
from galera.errors import InvalidInput


def _confirm(yes: bool) -> Any:
    def confirm(plan: Any) -> bool:
        what = "new cluster" if plan.initialize else plan.position
        return confirmed(yes, f"Bootstrap {plan.member} ({what})?")

    return confirm


@click.command()
@cluster_option
@output.option
@click.option("--dry-run", is_flag=True, help="Decide and print the decision; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--allow-missing",
    metavar="NAME",
    multiple=True,
    help="Go ahead although member NAME reported no position (it may hold writes that "
    "will be lost); repeat for each. Never a member whose server runs.",
)
@click.option(
    "--force-member",
    metavar="NAME",
    default=None,
    help="Bootstrap NAME whatever the positions say (writes only others had are lost).",
)
@click.option(
    "--timeout",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds to wait for each stage (Primary, all Synced).",
)
@click.option(
    "--initialize",
    is_flag=True,
    help="A brand-new cluster: when every member's data directory is empty, create it on "
    "the first member (the others join by SST).",
)
@take_lease_option
def bootstrap(
    cluster: str | None,
    fmt: str,
    dry_run: bool,
    yes: bool,
    allow_missing: tuple[str, ...],
    force_member: str | None,
    timeout: float,
    initialize: bool,
    take_lease: bool,
) -> None:
    """Re-form the cluster after a full outage from its most advanced member.

    Refuses, changing nothing, when any member is Primary (use rejoin), when a member
    reported no position, or when members belong to different histories. Exit 0 when the
    cluster ends healthy (or, with --dry-run, when a bootstrap would go ahead).
    """
    from galera.controller import bootstrap as workflow

    platform = platform_for(cluster)
    if force_member is not None:
        platform.spec().member(force_member)
    options = workflow.Options(
        dry_run=dry_run,
        allow_missing=allow_missing,
        force_member=force_member,
        initialize=initialize,
        timeout=timeout,
    )
    emit = output.events(fmt)
    try:
        with acting(platform, "bootstrap", take_lease, emit, dry_run):
            summary = workflow.run(platform, options, _confirm(yes), emit)
    except workflow.Refused as refused:
        click.echo(f"galeractl: refused: {refused.plan.reason}", err=True)
        sys.exit(EXIT_UNHEALTHY)
    if not dry_run and summary.details.get("verdict") != "healthy":
        sys.exit(EXIT_UNHEALTHY)


@click.command()
@click.argument("members", nargs=-1)
@cluster_option
@output.option
@click.option("--timeout", type=float, default=300.0, show_default=True)
@click.option(
    "--discard",
    metavar="MEMBER",
    multiple=True,
    help="Let MEMBER join although it is ahead of the Primary component or holds another "
    "history: its own transactions are lost (a full SST replaces its data).",
)
@take_lease_option
def rejoin(
    members: tuple[str, ...],
    cluster: str | None,
    fmt: str,
    timeout: float,
    discard: tuple[str, ...],
    take_lease: bool,
) -> None:
    """Start stopped MEMBERS (default: all that are down) in join mode while a Primary runs.

    Refused, starting nothing, when a member to start is ahead of the Primary component or
    holds another history, unless named with --discard.
    """
    from galera.controller import rejoin as workflow

    platform, emit = platform_for(cluster), output.events(fmt)
    with acting(platform, "rejoin", take_lease, emit):
        workflow.run(platform, list(members) or None, emit, timeout=timeout, discard=discard)


@click.command()
@click.argument("member")
@cluster_option
@output.option
@click.option(
    "--donor",
    metavar="NAME",
    default=None,
    help="The Synced member to take the full state from (default: one that is not the writer).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--timeout",
    type=float,
    default=1800.0,
    show_default=True,
    help="Seconds to wait for MEMBER to be Synced after its transfer.",
)
@take_lease_option
def reinit(
    member: str,
    cluster: str | None,
    fmt: str,
    donor: str | None,
    yes: bool,
    timeout: float,
    take_lease: bool,
) -> None:
    """Empty MEMBER's data and let it rejoin by a full SST from a Synced donor.

    For a member whose data is suspect (diverged, corrupt, of another history). Refused,
    changing nothing, when quorum would break without MEMBER, when no other member is
    Synced to give the state, when MEMBER holds transactions the Primary component lacks,
    or while it serves a transfer or a backup. A writer's writes move first; a running
    member is drained and stopped gracefully; its agent empties the data directory.
    """
    from galera.controller import reinit as workflow

    if timeout <= 0:
        raise InvalidInput(f"--timeout {timeout}: must be seconds above 0")
    platform, emit = platform_for(cluster), output.events(fmt)

    def confirm(plan: Any) -> bool:
        return confirmed(
            yes, f"Empty {plan.member}'s data and rejoin it by a full SST from {plan.donor}?"
        )

    with acting(platform, "reinit", take_lease, emit):
        workflow.run(platform, member, donor, confirm, emit, timeout=timeout)


@click.command()
@cluster_option
@output.option
@click.option(
    "--interval",
    type=click.FloatRange(0.2, 3600),
    default=5.0,
    show_default=True,
    help="Seconds between cycles.",
)
@click.option(
    "--no-primary-grace",
    type=click.FloatRange(0, 86400),
    default=30.0,
    show_default=True,
    help="Seconds without any Primary component before bootstrap.",
)
@click.option(
    "--member-down-grace",
    type=click.FloatRange(0, 86400),
    default=20.0,
    show_default=True,
    help="Seconds a member stays down before it is rejoined.",
)
@click.option(
    "--writer-down-grace",
    type=click.FloatRange(0, 86400),
    default=5.0,
    show_default=True,
    help="Seconds the designated writer stays out of the Primary component before its "
    "writes move to another member.",
)
@click.option(
    "--initialize",
    is_flag=True,
    help="Create a brand-new cluster when every member's data directory is empty and no "
    "bootstrap was ever recorded for it (first installation).",
)
@click.option(
    "--metrics",
    metavar="ADDR:PORT",
    default=None,
    help="Also serve the exporter's /metrics here (members rediscovered every cycle).",
)
@click.option(
    "--apply",
    "values_file",
    metavar="FILE",
    default=None,
    help="With --kube: render the cluster from these values (galeractl render) and apply it "
    "whenever the file changes; outdated pods are then rolled safely.",
)
@click.option("--cycles", type=click.IntRange(1), default=None, hidden=True)
def controller(
    cluster: str | None,
    fmt: str,
    interval: float,
    no_primary_grace: float,
    member_down_grace: float,
    writer_down_grace: float,
    initialize: bool,
    metrics: str | None,
    values_file: str | None,
    cycles: int | None,
) -> None:
    """Watch the cluster and recover it automatically: move the writes off a designated
    writer that left the Primary component; rejoin members that stay down while a Primary
    component runs; bootstrap after a full outage once every agent answers. Never
    bootstraps while any member is Primary; never acts on a split brain."""
    from galera.controller import loop, service
    from galera.domain import autopilot
    from galera.exporter import serve

    if metrics:
        serve.address(metrics)
    if values_file and not on_kube():
        raise InvalidInput("--apply needs --kube: it applies Kubernetes objects")
    platform = platform_for(cluster)
    digest, objects = "", None
    if values_file:
        digest, objects = loop.render_values(Path(values_file))  # bad values change nothing
    else:
        platform.spec()  # a cluster that cannot be found is bad input, reported at once
    watch = loop.Watch(
        platform,
        autopilot.Grace(no_primary_grace, member_down_grace, writer_down_grace),
        output.events(fmt),
        initialize=initialize,
        values_file=Path(values_file) if values_file else None,
        applied=digest,
    )
    service.main(watch, interval, cycles, metrics, objects)
