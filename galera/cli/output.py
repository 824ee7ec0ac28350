"""One output path for every command: a table for people, JSON or YAML for programs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from galera.domain.events import Emit, Event

FORMATS = ("table", "json", "yaml")

option = click.option(
    "-o",
    "--output",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format: a table for people; JSON or YAML for programs (commands that "
    "report progress print one JSON object per line, or one YAML document, per event).",
)


def emit(data: Any, fmt: str, table: Callable[[Any], str]) -> None:
    """Print ``data`` as ``fmt``; ``table`` renders the human view."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, default=str))
    elif fmt == "yaml":
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
    else:
        click.echo(table(data))


def columns(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned table."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in cells
    )


def events(fmt: str) -> Emit:
    """How a command reports progress: each event as a line for people, a JSON object per
    line, or a YAML document (the shapes are documented in docs/events.md)."""

    def emit(event: Event) -> None:
        if fmt == "json":
            click.echo(json.dumps(event.as_dict(), default=str))
        elif fmt == "yaml":
            import yaml

            click.echo("---\n" + yaml.safe_dump(event.as_dict(), sort_keys=False), nl=False)
        else:
            click.echo(line(event))

    return emit


def line(event: Event) -> str:
    """The human line of one event."""
    from galera.domain.events import Kind

    said = event.as_dict()
    if event.kind is Kind.MEMBER:
        where = said["position"] or ("empty" if said["empty"] else said["error"] or "?")
        state = "Primary" if said["primary"] else ("running" if said["running"] else "down")
        return f"  {event.member:<12} {state:<8} {where}"
    if event.kind is Kind.PLAN:
        text = f"decision: {said['action']}: {said['reason']}"
        return text + (f"\norder: {', '.join(said['order'])}" if said.get("order") else "")
    if event.kind is Kind.SUMMARY:
        if said.get("dry_run"):
            return "dry run: nothing changed"
        if "bytes_removed" in said:
            return f"done: {event.member} Synced again, from {said['donor']} ({said['seconds']} s)"
        if "restarted" in said:
            return f"done: restarted {', '.join(said['restarted'])}"
        reason = f" ({said['reason']})" if said.get("reason") else ""
        return f"done: cluster {said.get('verdict', 'ok')}{reason}"
    detail = " ".join(f"{k}={v}" for k, v in said.items() if k != "event")
    return f"  {event.kind.value}: {detail}"
