"""``galeractl pause``, ``resume`` and ``history``: maintenance mode and what happened."""

from __future__ import annotations

import time
from typing import Any

import click

from galera.cli import output
from galera.cli.common import acting, cluster_option, platform_for, take_lease_option
from galera.domain import events
from galera.errors import InvalidInput

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str, option: str) -> float:
    """30m, 2h, 1d or plain seconds; at least a minute, at most 30 days."""
    value = text.strip().lower()
    unit = UNITS.get(value[-1:], 0) if value else 0
    number = value[:-1] if unit else value
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise InvalidInput(f"{option} {text!r}: a duration like 30m, 2h, 1d or seconds") from None
    if not 60 <= seconds <= 30 * 86400:
        raise InvalidInput(f"{option} {text!r}: from 1 minute to 30 days")
    return seconds


def _when(at: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(at)))
    except (TypeError, ValueError):
        return "?"


def _person(command: str) -> Any:
    from galera.controller import fencing

    def named(platform: Any) -> Any:
        platform.identity = fencing.command_identity(command)
        return platform

    return named


@click.command()
@cluster_option
@output.option
@click.option("--reason", default="", help="Why (shown by status, the controller, history).")
@click.option(
    "--for",
    "expected",
    default="1h",
    show_default=True,
    metavar="DURATION",
    help="How long you expect it to last (30m, 2h, 1d, or seconds); the GaleraPausedTooLong "
    "alert fires after that. The pause never ends by itself.",
)
def pause(cluster: str | None, fmt: str, reason: str, expected: str) -> None:
    """Maintenance mode: the controller keeps observing and exporting but rejoins,
    bootstraps, rolls out and applies nothing until ``galeractl resume``. A step already
    running finishes. Takes no lease: it is how a person stops the controller's hands."""
    from galera.controller import records

    seconds = duration(expected, "--for")
    platform = _person("pause")(platform_for(cluster))
    record = records.pause(platform, reason.strip(), seconds)
    data = {key: record.get(key) for key in ("paused", "by", "at", "until", "reason")}

    def table(d: dict[str, Any]) -> str:
        why = f" ({d['reason']})" if d.get("reason") else ""
        return (
            f"paused by {d['by']} since {_when(d['at'])} UTC{why}; expected to end by "
            f"{_when(d['until'])} UTC"
        )

    output.emit(data, fmt, table)


@click.command()
@cluster_option
@output.option
def resume(cluster: str | None, fmt: str) -> None:
    """End maintenance mode: the controller acts again from its next cycle."""
    from galera.controller import records

    platform = _person("resume")(platform_for(cluster))
    ended = records.resume(platform)
    data = {"paused": False, "was_paused_by": (ended or {}).get("by")}

    def table(d: dict[str, Any]) -> str:
        if d["was_paused_by"] is None:
            return "not paused: nothing to resume"
        return f"resumed (paused by {d['was_paused_by']})"

    output.emit(data, fmt, table)


def _details(entry: dict[str, Any]) -> str:
    rest = {k: v for k, v in entry.items() if k not in ("at", "kind", "by")}
    return ", ".join(f"{k}={v}" for k, v in rest.items())


@click.command()
@cluster_option
@output.option
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the last N entries.")
def history(cluster: str | None, fmt: str, limit: int | None) -> None:
    """What happened to the cluster, newest last: bootstraps (the member, its position and
    the alternatives), rollouts, rejoins, switchovers, pauses, with who ran them."""
    from galera.controller import records

    entries = records.history(platform_for(cluster))
    if limit is not None:
        entries = entries[-limit:]

    def table(rows: list[dict[str, Any]]) -> str:
        if not rows:
            return "no history recorded yet"
        return output.columns(
            ["TIME (UTC)", "WHAT", "BY", "DETAILS"],
            [[_when(e.get("at")), e.get("kind"), e.get("by"), _details(e)] for e in rows],
        )

    output.emit(entries, fmt, table)


@click.command()
@cluster_option
@output.option
@click.option("--to", "to", metavar="NAME", default=None, help="The member to take writes.")
@click.option(
    "--drain-seconds",
    type=click.FloatRange(0, 600),
    default=10.0,
    show_default=True,
    help="At most this long for the old writer's clients to leave before the new one takes writes.",
)
@take_lease_option
def switchover(
    cluster: str | None, fmt: str, to: str | None, drain_seconds: float, take_lease: bool
) -> None:
    """Move the cluster's writes to another member (a proxy follows the agents'
    /health/writer; on Kubernetes the <name>-writer Service follows too).

    The target must be Synced in the Primary component with an empty receive queue; without
    --to the best candidate is chosen and the reason said. Refused, changing nothing,
    otherwise. The old writer stops answering as the writer first, and two members never
    answer at once; the gap clients saw is reported."""
    from galera.controller import writer

    platform = platform_for(cluster)
    emit = output.events(fmt)
    with acting(platform, "switchover", take_lease, emit):
        event = writer.switchover(platform, to, emit, drain_seconds)
    emit(events.of(events.Kind.SUMMARY, member=event.member, reason=event.reason))
