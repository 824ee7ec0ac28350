"""Gathering one snapshot of a cluster: every member read in parallel with bounded timeouts."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from galera import sql
from galera.agent_client import AgentClient
from galera.config import endpoints
from galera.config.clusterfile import ClusterSpec, MemberSpec
from galera.domain import quorum
from galera.domain.credentials import Credentials
from galera.domain.snapshot import Observation, Snapshot
from galera.errors import AccessDenied, GaleraError


class AllDenied(AccessDenied):
    """Every reachable member refused the credentials: bad input, not a cluster problem."""


def _observe(member: MemberSpec, credentials: Credentials, spec: ClusterSpec) -> Observation:
    if member.arbitrator:
        return Observation(member.expected, host=member.host)
    endpoint = endpoints.of_member(spec, member)
    try:
        status = sql.fetch_status(endpoint, credentials, member.name)
    except GaleraError as e:
        error = f"{e.message} ({e.hint})" if e.hint else e.message
        return Observation(
            member.expected,
            error=error,
            error_kind=type(e).__name__,
            host=member.host,
            port=member.port,
            agent=_agent_view(member),
        )
    return Observation(member.expected, status=status, host=member.host, port=member.port)


def _agent_view(member: MemberSpec) -> dict[str, object] | None:
    """When SQL fails, what the member's agent says about its process and grastate."""
    if not member.agent:
        return None
    try:
        body = AgentClient(member.agent, member=member.name, timeout=1.5).status()
    except GaleraError as e:
        return {"error": e.message}
    return {"process": body.get("process"), "grastate": body.get("grastate")}


def snapshot(spec: ClusterSpec, credentials: Credentials | None = None) -> Snapshot:
    """Read every member once, in parallel. Unreachable members are recorded, not fatal.

    Raises :class:`AllDenied` when every member that answered refused the credentials,
    since then nothing useful can be said about the cluster.
    """
    credentials = credentials or spec.credentials()
    members = spec.members
    with ThreadPoolExecutor(max_workers=max(len(members), 1)) as pool:
        observations = tuple(pool.map(lambda m: _observe(m, credentials, spec), members))
    denied = [o for o in observations if o.error_kind == "AccessDenied"]
    answered = [o for o in observations if o.reachable or o.error_kind == "AccessDenied"]
    if denied and len(denied) == len(answered):
        raise AllDenied(
            f"every reachable member refused user {credentials.user!r}",
            hint="wrong user or password in the credentials",
        )
    return Snapshot(observations, taken_at=time.time(), cluster_name=spec.name)


def confirmed_snapshot(
    spec: ClusterSpec, credentials: Credentials | None = None, settle: float = 1.0
) -> Snapshot:
    """A snapshot in which a split brain, if reported, was seen twice.

    Members read during a view change can briefly disagree on the configuration id; a real
    split brain persists, so it is confirmed by a second read ``settle`` seconds later.
    """
    credentials = credentials or spec.credentials()
    first = snapshot(spec, credentials)
    if not quorum.split_brain(first).detected:
        return first
    time.sleep(settle)
    return snapshot(spec, credentials)
