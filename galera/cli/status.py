"""``galeractl status`` and ``galeractl quorum``."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from galera.cli import output
from galera.cli.common import EXIT_UNHEALTHY, cluster_option, load_spec, platform_for
from galera.config.clusterfile import ClusterSpec


def _agent_note(agent: dict[str, Any] | None) -> str:
    """What the agent said about a member whose SQL could not be read."""
    if not agent:
        return ""
    if agent.get("error"):
        error = str(agent["error"])
        # A member presenting another CA's certificate: say so (its peers refuse it too).
        return f"; agent: {error}" if "TLS with agent" in error else "; agent unreachable"
    process = agent.get("process") or {}
    note = f"; agent: mariadbd {process.get('state', '?')}"
    grastate = agent.get("grastate") or {}
    if grastate.get("error"):
        note += ", grastate corrupt"
    elif grastate.get("present"):
        note += f", grastate seqno {grastate.get('seqno')}"
    return note


def _warnings(spec: ClusterSpec) -> list[str]:
    """What is unsafe in how galeractl reaches this cluster (never changes the exit code)."""
    if spec.tls_ca is not None:
        return []
    how = "tls: enabled: false" if spec.tls_off else "no tls: ca"
    return [
        f"TLS is off ({how} in {spec.path}): SQL, agent calls, replication and state "
        "transfers may travel in plaintext"
    ]


def _table(report: dict[str, Any]) -> str:
    c = report["cluster"]
    margin = c["quorum_margin"]
    lines = [
        f"cluster {c['name']}: {c['verdict']} ({c['reason']})",
        f"quorum: {c['quorum']}",
        *(f"stale view: {v['reason']}" for v in c.get("stale_views") or []),
        *(f"warning: {w}" for w in report.get("warnings") or []),
        "",
    ]
    rows = []
    for m in report["members"]:
        address = f"{m['host']}:{m['port']}" if m["port"] else (m["host"] or "-")
        rows.append(
            [
                m["name"],
                address,
                m["cluster_status"] or ("-" if m["reachable"] else "unreachable"),
                m["local_state_comment"],
                m["last_committed"],
                (m["cluster_state_uuid"] or "")[:8] or None,
                {True: "ON", False: "OFF", None: None}[m["ready"]],
                "ok" if m["healthy"] else m["reason"] + _agent_note(m.get("agent")),
            ]
        )
    lines.append(
        output.columns(
            ["MEMBER", "ADDRESS", "STATUS", "STATE", "SEQNO", "UUID", "READY", "HEALTH"], rows
        )
    )
    if report.get("bootstrap"):
        b = report["bootstrap"]
        lines.append(
            f"bootstrap in flight: {b['member']} at {b['position']}, last step "
            f"{b['last_step']} (run 'galeractl bootstrap' again to finish it)"
        )
    for pool, address in (report.get("proxy") or {}).items():
        lines.append(f"{pool}s through the proxy at {address}")
    if report.get("paused"):
        p = report["paused"]
        why = f" ({p['reason']})" if p.get("reason") else ""
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(p.get("at") or 0)))
        lines.append(
            f"paused by {p.get('by')} since {since} UTC{why}: the controller changes nothing "
            "(galeractl resume)"
        )
    if margin["members"] is not None:
        lines.append("")
        lines.append(f"quorum margin: {margin['members']} member(s), weight {margin['weight']}")
    return "\n".join(lines)


@click.command()
@cluster_option
@output.option
def status(cluster: str | None, fmt: str) -> None:
    """Show every member's wsrep state and the cluster's verdict.

    Exit code 0 when the cluster is healthy, 1 when it is anything less, 2 on bad input.
    """
    from galera.controller import observe, records
    from galera.controller.progress import Progress
    from galera.domain import report

    platform = platform_for(cluster)
    spec = platform.spec()
    data = report.status_report(observe.confirmed_snapshot(spec))
    data["warnings"] = _warnings(spec)
    data["proxy"] = dict(spec.proxy)
    progress = Progress.load(platform)
    if progress.in_flight:
        data["bootstrap"] = progress.summary()
    data["paused"] = records.paused(platform)
    output.emit(data, fmt, _table)
    if data["cluster"]["verdict"] != "healthy":
        sys.exit(EXIT_UNHEALTHY)


@click.command()
@cluster_option
@output.option
@click.option(
    "--if-down",
    "if_down",
    metavar="MEMBER",
    help="Say whether taking MEMBER down keeps quorum, and why.",
)
def quorum(cluster: str | None, fmt: str, if_down: str | None) -> None:
    """Quorum of the Primary component: weights and margins.

    With --if-down MEMBER: exit 0 when the rest keeps quorum even if MEMBER crashes, 1 when
    it does not, 2 on bad input (such as an unknown member).
    """
    from galera.controller import observe
    from galera.domain import quorum as quorum_model

    spec = load_spec(cluster)
    if if_down is not None:
        spec.member(if_down)
    snap = observe.confirmed_snapshot(spec)
    q = quorum_model.assess(snap)
    data: dict[str, Any] = {"quorum": q.as_dict()}
    if if_down is not None:
        data["if_down"] = quorum_model.if_down(snap, if_down).as_dict()

    def table(d: dict[str, Any]) -> str:
        qd = d["quorum"]
        lines = [qd["reason"]]
        if qd["primary"]:
            lines.append(f"members: {', '.join(qd['members']) or '?'}")
            lines.append(
                f"margin: {qd['margin']['members']} member(s), weight {qd['margin']['weight']}"
            )
        if "if_down" in d:
            verdict = "keeps quorum" if d["if_down"]["keeps_quorum"] else "LOSES quorum"
            lines.append(
                f"if {d['if_down']['member']} goes down: {verdict}: {d['if_down']['reason']}"
            )
        return "\n".join(lines)

    output.emit(data, fmt, table)
    ok = data["if_down"]["keeps_quorum"] if if_down is not None else q.primary is not None
    if not ok:
        sys.exit(EXIT_UNHEALTHY)


def _list_table(data: dict[str, Any]) -> str:
    rows = []
    for m in data["members"]:
        address = f"{m['host']}:{m['port']}" if m["port"] else (m["host"] or "-")
        fc = m["flow_control_paused"]
        rows.append(
            [
                m["name"],
                address,
                m["role"],
                m["local_state_comment"] or ("-" if m["reachable"] else "unreachable"),
                {True: "yes", False: "no", None: None}[m["primary"]],
                m["last_committed"],
                m["segment"],
                m["weight"],
                m["recv_queue"],
                None if fc is None else f"{fc:.1%}",
            ]
        )
    headers = ["MEMBER", "ADDRESS", "ROLE", "STATE", "PRIMARY", "SEQNO", "SEGMENT", "WEIGHT"]
    table = output.columns([*headers, "RECV Q", "FC PAUSED"], rows)
    c = data["cluster"]
    head = f"cluster {c['name']}: {c['verdict']}"
    if data.get("paused"):
        head += f" (paused by {data['paused'].get('by')})"
    proxy = "".join(f"\n{pool}s through the proxy at {a}" for pool, a in data["proxy"].items())
    return f"{head}\n{table}{proxy}"


@click.command(name="list")
@cluster_option
@output.option
def list_members(cluster: str | None, fmt: str) -> None:
    """One line per member, patronictl-style: address, role (writer, reader, arbitrator),
    state, Primary, seqno, segment, weight, receive queue and flow control.

    Exit 0 when the cluster is healthy, 1 otherwise, 2 on bad input."""
    from galera.controller import observe, records
    from galera.domain import report

    platform = platform_for(cluster)
    spec = platform.spec()
    data = report.status_report(observe.confirmed_snapshot(spec))
    writer = records.read(platform, records.WRITER).get("member")
    for m in data["members"]:
        arbitrator = spec.member(m["name"]).arbitrator
        m["role"] = "arbitrator" if arbitrator else ("writer" if m["name"] == writer else "reader")
        m["primary"] = None if m["cluster_status"] is None else m["cluster_status"] == "Primary"
    data["paused"] = records.paused(platform)
    data["proxy"] = dict(spec.proxy)
    output.emit(
        {key: data[key] for key in ("cluster", "members", "paused", "proxy")},
        fmt,
        _list_table,
    )
    if data["cluster"]["verdict"] != "healthy":
        sys.exit(EXIT_UNHEALTHY)
