"""``galeractl bootstrap`` and ``galeractl rejoin``: full and partial outage recovery."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from galera import proc
from galera.cli.common import EXIT_UNHEALTHY, cluster_option, confirmed, on_kube, platform_for
from galera.errors import GaleraError, InvalidInput


def emitter(fmt: str) -> Any:
    def emit(event: dict[str, Any]) -> None:
        if fmt == "json":
            click.echo(json.dumps(event, default=str))
            return
        kind = event.get("event")
        if kind == "member":
            where = event["position"] or ("empty" if event["empty"] else event["error"] or "?")
            state = "Primary" if event["primary"] else ("running" if event["running"] else "down")
            click.echo(f"  {event['member']:<12} {state:<8} {where}")
        elif kind == "plan" and "action" in event:
            click.echo(f"decision: {event['action']}: {event['reason']}")
        elif kind == "plan":
            click.echo(f"order: {', '.join(event['order'])}")
            click.echo(f"first gate: {'passed' if event['ok'] else 'refused'}: {event['gate']}")
        elif kind == "summary":
            if event.get("dry_run"):
                click.echo("dry run: nothing changed")
            elif "restarted" in event:
                click.echo(f"done: restarted {', '.join(event['restarted'])}")
            else:
                click.echo(
                    f"done: cluster {event.get('verdict', 'ok')}"
                    + (f" ({event['reason']})" if event.get("reason") else "")
                )
        else:
            detail = " ".join(f"{k}={v}" for k, v in event.items() if k != "event")
            click.echo(f"  {kind}: {detail}")

    return emit


def _confirm(yes: bool) -> Any:
    def confirm(plan: Any) -> bool:
        what = "new cluster" if plan.initialize else plan.position
        return confirmed(yes, f"Bootstrap {plan.member} ({what})?")

    return confirm


@click.command()
@cluster_option
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--dry-run", is_flag=True, help="Decide and print the decision; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--allow-missing",
    type=click.IntRange(0, 9),
    default=0,
    show_default=True,
    help="Go ahead although N members reported no position (they may hold "
    "writes that will be lost).",
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
def bootstrap(
    cluster: str | None,
    fmt: str,
    dry_run: bool,
    yes: bool,
    allow_missing: int,
    force_member: str | None,
    timeout: float,
    initialize: bool,
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
    emit = emitter(fmt)
    try:
        summary = workflow.run(platform, options, _confirm(yes), emit)
    except workflow.Refused as refused:
        click.echo(f"galeractl: refused: {refused.plan.reason}", err=True)
        sys.exit(EXIT_UNHEALTHY)
    if not dry_run and summary.get("verdict") != "healthy":
        sys.exit(EXIT_UNHEALTHY)


@click.command()
@click.argument("members", nargs=-1)
@cluster_option
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--timeout", type=float, default=300.0, show_default=True)
def rejoin(members: tuple[str, ...], cluster: str | None, fmt: str, timeout: float) -> None:
    """Start stopped MEMBERS (default: all that are down) in join mode while a Primary runs."""
    from galera.controller import rejoin as workflow

    workflow.run(platform_for(cluster), list(members) or None, emitter(fmt), timeout=timeout)


@click.command()
@cluster_option
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table")
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
    initialize: bool,
    metrics: str | None,
    values_file: str | None,
    cycles: int | None,
) -> None:
    """Watch the cluster and recover it automatically: rejoin members that stay down while a
    Primary component runs; bootstrap after a full outage once every agent answers. Never
    bootstraps while any member is Primary; never acts on a split brain."""
    import logging

    from galera.controller import loop
    from galera.domain import autopilot

    logging.getLogger("galera").setLevel(logging.INFO)
    # SIGTERM (a pod being replaced) or Ctrl-C ends the loop through its cleanup: the Lease
    # is released so that the next controller takes over at once. A second signal never
    # interrupts that cleanup.
    proc.Shutdown(interrupt=True).install()
    on_refresh = on_lease = None
    emit = emitter(fmt)
    if metrics:
        from galera.cli.exporter import address, collector_for, start_server
        from galera.exporter.collector import Standby

        address(metrics)
    if values_file and not on_kube():
        raise InvalidInput("--apply needs --kube: it applies Kubernetes objects")
    platform = platform_for(cluster)
    digest = ""
    objects: list[Any] = []
    if values_file:
        digest, objects = loop.render_values(Path(values_file))  # bad values change nothing
    else:
        platform.spec()  # a cluster that cannot be found is bad input, reported at once
    registry = standby = None
    if metrics:
        # Serving at once: a standby waiting for the Lease answers its probes too.
        registry = start_server(metrics)
        standby = Standby()
        registry.register(standby)
    if values_file:
        # Only the Lease holder applies: standbys wait here until they lead.
        loop.lead(platform, interval, platform.emitter(emit))
        try:
            platform.apply(objects, platform.emitter(emit))
        except GaleraError as e:
            # A cluster that exists is still watched and recovered; the apply is retried.
            log_error = f"applying the values failed: {e}"
            click.echo(f"galeractl: {log_error}", err=True)
            platform.emitter(emit)({"event": "failed", "action": "apply", "error": str(e)})
            digest = ""
    if registry is not None:
        collector = collector_for(platform.spec(), {})
        registry.unregister(standby)
        registry.register(collector)

        def on_refresh(fresh: Any) -> None:
            collector.rediscovered(fresh)

        def on_lease(held: bool) -> None:
            collector.active = held

    loop.run(
        platform,
        autopilot.Grace(no_primary_grace, member_down_grace),
        interval,
        emit,
        cycles=cycles,
        initialize=initialize,
        on_refresh=on_refresh,
        values_file=Path(values_file) if values_file else None,
        applied=digest,
        on_lease=on_lease,
    )
