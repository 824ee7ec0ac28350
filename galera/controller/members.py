"""Reading every member through its agent: process, grastate, wsrep, recovered position."""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from galera.agent_client import AgentClient
from galera.config import endpoints
from galera.config.clusterfile import ClusterSpec, MemberSpec
from galera.domain import events
from galera.domain.bootstrap import MemberReport
from galera.domain.events import Kind
from galera.domain.grastate import Grastate
from galera.domain.position import ZERO_UUID, Position
from galera.errors import GaleraError, InvalidInput

Emit = events.Emit


def agents(spec: ClusterSpec, timeout: float = 10.0) -> dict[str, AgentClient]:
    """An agent client per data member; every data member must have an agent URL."""
    token = spec.agent_token()
    clients = {}
    for member in spec.members:
        if member.arbitrator:
            continue
        if not member.agent:
            raise InvalidInput(
                f"{spec.path}: member {member.name} has no agent URL; "
                "bootstrap and rejoin work through the node agents"
            )
        clients[member.name] = endpoints.agent(spec, member, token, timeout)
    return clients


def report_of(
    member: MemberSpec,
    body: dict[str, Any] | None,
    error: str | None,
    recovered: Position | None = None,
) -> MemberReport:
    """What one member's agent status (``GET /v1/status``) says for a bootstrap decision."""
    if body is None:
        return MemberReport(member.name, error=error)
    process = body.get("process") or {}
    running = process.get("state") in ("running", "stopping")
    wsrep = body.get("wsrep") or {}
    primary = running and str(wsrep.get("cluster_status", "")).lower() == "primary"
    g = body.get("grastate") or {}
    unplaced = _unplaced(member.name, process, g, running, primary)
    if unplaced is not None:
        return unplaced
    if recovered is None and process.get("recovered"):
        recovered = Position.parse(str(process["recovered"]))
    live = _live_position(wsrep, running)
    if running and not primary and live is None and process.get("join_touched"):
        return MemberReport(
            member.name,
            running=True,
            error="a join attempt that lost its donor: no position while it runs "
            "(a bootstrap stops it first, then reads its position)",
            stalled=True,
        )
    return MemberReport(
        member.name,
        running=running,
        primary=primary,
        grastate=_grastate(g),
        recovered=recovered,
        live_position=live,
    )


def _unplaced(
    name: str, process: dict[str, Any], g: dict[str, Any], running: bool, primary: bool
) -> MemberReport | None:
    """The report of a member whose grastate.dat does not say where its data is: corrupt or
    missing beside data, a join in progress, an interrupted state transfer. None otherwise."""
    if g.get("error"):
        return MemberReport(
            name, running=running, primary=primary, error=f"corrupt grastate.dat: {g['error']}"
        )
    joining = Position.parse(str(process["joining_from"])) if process.get("joining_from") else None
    if running and joining is not None:
        # Started in join mode, nothing applied yet (it waits for a donor): its data is
        # still at the position it started from, whatever grastate.dat says meanwhile.
        return MemberReport(name, running=True, primary=primary, joining_from=joining)
    if process.get("sst_interrupted"):
        return MemberReport(
            name,
            running=running,
            primary=primary,
            error="a state transfer into it was interrupted; data incomplete",
        )
    if not running and g.get("present") is False and g.get("pristine") is False:
        return MemberReport(
            name,
            error="no grastate.dat beside existing data: its position is unknown "
            "(run --wsrep-recover by hand, or restore the file)",
        )
    return None


def _live_position(wsrep: dict[str, Any], running: bool) -> Position | None:
    """The position a running member has applied, from its wsrep status."""
    # The history the member's data belongs to: its own state UUID. A non-Primary member
    # reports the zero UUID as the cluster's; that says nothing about its data, and must
    # never make it look empty (an empty member is overwritten by SST without a question).
    uuids = [str(wsrep.get(k) or "") for k in ("local_state_uuid", "cluster_state_uuid")]
    history = next((u for u in uuids if u and u != ZERO_UUID), None)
    committed = wsrep.get("last_committed")
    if running and history and isinstance(committed, int) and committed >= 0:
        return Position(history, committed)
    return None


def _grastate(g: dict[str, Any]) -> Grastate | None:
    """The grastate.dat the agent read, or None when the member has none."""
    if not g.get("present"):
        return None
    return Grastate(
        str(g.get("version", "2.1")),
        str(g["uuid"]),
        int(g["seqno"]),
        bool(g.get("safe_to_bootstrap")),
    )


def _needs_recovery(report: MemberReport) -> bool:
    return (
        report.error is None
        and not report.running
        and report.grastate is not None
        and report.grastate.needs_recovery
        and report.recovered is None
    )


def _recovered(
    member: MemberSpec, body: dict[str, Any] | None, client: AgentClient, emit: Emit
) -> MemberReport:
    """The report of a member that crashed, with the position ``--wsrep-recover`` found."""
    emit(events.of(Kind.RECOVERING, member=member.name))
    try:
        answer = client.recover()
    except GaleraError as e:
        emit(events.of(Kind.RECOVERY_FAILED, member=member.name, error=e.message))
        return MemberReport(member.name, error=f"--wsrep-recover failed: {e.message}")
    position = Position.parse(str(answer["position"]))
    emit(
        events.of(
            Kind.RECOVERED,
            member=member.name,
            position=str(position),
            seconds=answer.get("seconds"),
        )
    )
    return report_of(member, body, None, recovered=position)


def gather(
    spec: ClusterSpec,
    clients: dict[str, AgentClient],
    recover: bool,
    emit: Emit,
    only: Collection[str] | None = None,
) -> list[MemberReport]:
    """Every data member's report (or those named in ``only``), in cluster-file order,
    read in parallel.

    With ``recover``, members that are down with an unknown seqno (a crash) run
    ``--wsrep-recover`` through their agents, in parallel.
    """
    members = [m for m in spec.members if not m.arbitrator and (only is None or m.name in only)]
    if not members:
        return []

    def status(member: MemberSpec) -> tuple[dict[str, Any] | None, str | None]:
        try:
            return clients[member.name].status(), None
        except GaleraError as e:
            return None, e.message

    with ThreadPoolExecutor(max_workers=len(members)) as pool:
        bodies = list(pool.map(status, members))
    reports = [report_of(m, b, e) for m, (b, e) in zip(members, bodies, strict=True)]
    if not recover:
        return reports

    def run(index: int) -> MemberReport:
        member, (body, _e) = members[index], bodies[index]
        return _recovered(member, body, clients[member.name], emit)

    todo = [i for i, r in enumerate(reports) if _needs_recovery(r)]
    if todo:
        with ThreadPoolExecutor(max_workers=len(todo)) as pool:
            for i, report in zip(todo, pool.map(run, todo), strict=True):
                reports[i] = report
    return reports
