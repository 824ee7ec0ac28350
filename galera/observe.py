"""Gathering one snapshot of a cluster: every member read in parallel with bounded timeouts.

Shared by the controller (``status``, ``quorum``, every decision) and the exporter (every
scrape). A member's SQL is read first; its agent is asked what it sees of the member as soon
as SQL has failed, or when SQL is still silent ``connect_timeout - AGENT_TIMEOUT`` seconds in
(``AGENT_GRACE`` at least), so that the agent's answer is in when SQL's connect timeout runs
out. A member whose packets are dropped costs one connect timeout, not a connect timeout and
then an agent timeout; a member whose SQL answers costs no agent call at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass, replace

from galera import sql
from galera.config import endpoints
from galera.config.clusterfile import ClusterSpec, MemberSpec
from galera.domain import quorum
from galera.domain.credentials import Credentials
from galera.domain.snapshot import Observation, Snapshot
from galera.domain.status import MemberStatus
from galera.errors import GaleraError

AGENT_TIMEOUT = 1.5  # seconds an agent has to say what it sees of a member SQL cannot read
# SQL that answers at all answers well within this (milliseconds on a LAN): with a short
# connect timeout, agents are still not asked about members that are only a little slow.
AGENT_GRACE = 0.1
POOL_LIMIT = 32  # threads one gathering may use: an SQL read and an agent call per member

AgentView = dict[str, object]
Calls = dict[str, "futures.Future[AgentView | None]"]


@dataclass(frozen=True)
class Reading:
    """One member read once: its raw rows and parsed status, or the error that stopped it.

    ``agent`` is what the member's agent said, kept only when SQL failed (it explains why).
    """

    member: MemberSpec
    raw: sql.Raw | None = None
    status: MemberStatus | None = None
    error: GaleraError | None = None
    agent: AgentView | None = None


@dataclass(frozen=True)
class Gathering:
    """Every member's reading, in cluster-file order, and the snapshot they make."""

    readings: tuple[Reading, ...]
    snapshot: Snapshot

    def raws(self) -> dict[str, sql.Raw]:
        """The raw rows of every member whose status could be read and parsed."""
        return {r.member.name: r.raw for r in self.readings if r.raw is not None}


def observation(reading: Reading, hints: bool = True) -> Observation:
    """What the domain sees of a reading. With ``hints`` the error carries its hint too."""
    member = reading.member
    if member.arbitrator:
        return Observation(member.expected, host=member.host)
    error = reading.error
    if error is None:
        return Observation(
            member.expected, status=reading.status, host=member.host, port=member.port
        )
    text = f"{error.message} ({error.hint})" if hints and error.hint else error.message
    return Observation(
        member.expected,
        error=text,
        error_kind=type(error).__name__,
        host=member.host,
        port=member.port,
        agent=reading.agent,
    )


def agent_deadline(spec: ClusterSpec) -> float:
    """Seconds SQL may stay silent before the agent is asked too (see the module docstring)."""
    return max(spec.connect_timeout - AGENT_TIMEOUT, AGENT_GRACE)


def read_sql(member: MemberSpec, credentials: Credentials, spec: ClusterSpec) -> Reading:
    """Connect to the member's SQL, read and parse its status; failures are recorded."""
    endpoint = endpoints.of_member(spec, member)
    try:
        raw = sql.fetch_raw(endpoint, credentials, member.name)
        return Reading(member, raw=raw, status=sql.parse_raw(raw, member.name))
    except GaleraError as e:
        return Reading(member, error=e)


def agent_view(spec: ClusterSpec, member: MemberSpec) -> AgentView | None:
    """What the member's agent says about its process and grastate (None without an agent)."""
    if not member.agent:
        return None
    try:
        body = endpoints.agent(spec, member, timeout=AGENT_TIMEOUT).status()
    except GaleraError as e:
        return {"error": e.message}
    return {"process": body.get("process"), "grastate": body.get("grastate")}


def gather(
    spec: ClusterSpec,
    credentials: Credentials,
    pool: futures.Executor | None = None,
    *,
    agents: bool = True,
    hints: bool = True,
) -> Gathering:
    """Read every member once, in parallel; unreachable members are recorded, not fatal.

    With ``agents``, a member's agent is asked alongside its SQL (see the module docstring);
    ``hints`` adds an error's hint to its text. Without ``pool`` a bounded one is made.
    """
    if pool is None:
        workers = min(max(2 * len(spec.members), 1), POOL_LIMIT)
        with futures.ThreadPoolExecutor(max_workers=workers) as own:
            return gather(spec, credentials, own, agents=agents, hints=hints)
    data = [m for m in spec.members if not m.arbitrator]
    sql_reads = {m.name: pool.submit(read_sql, m, credentials, spec) for m in data}
    asked = _ask_agents(spec, data, sql_reads, pool) if agents else {}
    readings = tuple(_settled(m, sql_reads, asked) for m in spec.members)
    return Gathering(readings, snapshot_of(spec, readings, hints))


def _ask_agents(
    spec: ClusterSpec,
    members: Iterable[MemberSpec],
    sql_reads: dict[str, futures.Future[Reading]],
    pool: futures.Executor,
) -> Calls:
    """Ask the agent of every member whose SQL failed, or is still silent after the agent
    deadline. Returns at that deadline at the latest, the calls still in flight."""
    until = time.monotonic() + agent_deadline(spec)
    watched = {sql_reads[m.name]: m for m in members if m.agent}
    asked: Calls = {}
    while watched:
        left = max(until - time.monotonic(), 0.0)
        done, _ = futures.wait(watched, timeout=left, return_when=futures.FIRST_COMPLETED)
        if not done:  # SQL still silent: it may be dropping packets, ask every agent left
            asked.update({m.name: pool.submit(agent_view, spec, m) for m in watched.values()})
            break
        for future in done:
            member = watched.pop(future)
            if future.result().error is not None:
                asked[member.name] = pool.submit(agent_view, spec, member)
    return asked


def _settled(
    member: MemberSpec,
    sql_reads: dict[str, futures.Future[Reading]],
    asked: Calls,
) -> Reading:
    """The member's reading once its SQL (and, if SQL failed, its agent) has answered."""
    if member.arbitrator:
        return Reading(member)
    reading = sql_reads[member.name].result()
    if reading.error is None or member.name not in asked:
        return reading
    return replace(reading, agent=asked[member.name].result())


def snapshot_of(spec: ClusterSpec, readings: Iterable[Reading], hints: bool = True) -> Snapshot:
    """The snapshot the readings make, taken now."""
    observations = tuple(observation(r, hints) for r in readings)
    return Snapshot(observations, taken_at=time.time(), cluster_name=spec.name)


def confirmed(read: Callable[[], Gathering], settle: float = 1.0) -> Gathering:
    """A gathering in which a split brain, if reported, was seen twice.

    Members read during a view change can briefly disagree on the configuration id; a real
    split brain persists, so it is confirmed by a second read ``settle`` seconds later.
    """
    first = read()
    if not quorum.split_brain(first.snapshot).detected:
        return first
    time.sleep(settle)
    return read()
