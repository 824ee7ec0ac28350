"""``galeractl conflicts``: who conflicts with whom, on which tables."""

from __future__ import annotations

import re
from typing import Any

import click

from galera.cli import output
from galera.cli.common import cluster_option, load_spec
from galera.errors import InvalidInput

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90s``, ``10m``, ``2h``, ``1d`` (a bare number is seconds)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise InvalidInput(f"--since {text!r}: expected a duration such as 90s, 10m, 2h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _table(data: dict[str, Any]) -> str:
    lines = [f"{data['conflicts']} logged conflicts in the last {data['window_seconds']:.0f}s", ""]
    lines.append(
        output.columns(
            ["MEMBER", "CERT FAILURES", "BF ABORTS", "LOGGED", "PER MIN", "LOGGING"],
            [
                [
                    m["member"],
                    m["cert_failures"],
                    m["bf_aborts"],
                    m["logged"],
                    m["per_minute"],
                    {True: "on", False: "off", None: None}[m["log_conflicts_enabled"]],
                ]
                for m in data["members"]
            ],
        )
    )
    if data["tables"]:
        lines += [
            "",
            output.columns(
                ["TABLE", "CONFLICTS"], [[t["table"], t["conflicts"]] for t in data["tables"]]
            ),
        ]
    if data["statements"]:
        lines += [
            "",
            output.columns(
                ["COUNT", "STATEMENT"], [[s["count"], s["statement"]] for s in data["statements"]]
            ),
        ]
    if any(m["log_conflicts_enabled"] is False for m in data["members"]):
        lines += ["", "wsrep_log_conflicts is off on some members: run with --enable-logging"]
    return "\n".join(lines)


@click.command()
@cluster_option
@output.option
@click.option("--since", default="1h", show_default=True, help="Window: 90s, 10m, 2h, 1d.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--enable-logging",
    is_flag=True,
    help="Turn wsrep_log_conflicts (and cert.log_conflicts) on first; dynamic, "
    "until the next restart.",
)
def conflicts(cluster: str | None, fmt: str, since: str, top: int, enable_logging: bool) -> None:
    """Certification failures and BF aborts per member, and the conflicting tables and
    statements read from the members' error logs (through their agents)."""
    from galera.controller import conflicts as workflow

    window = parse_duration(since)
    spec = load_spec(cluster)
    if enable_logging:
        workflow.enable_logging(spec)
    output.emit(workflow.report(spec, window, top), fmt, _table)
