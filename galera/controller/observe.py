"""One snapshot of a cluster for a decision: the shared gathering (:mod:`galera.observe`),
refused when every member that answered refused the credentials."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from galera import observe
from galera.config.clusterfile import ClusterSpec, MemberSpec
from galera.controller import members
from galera.domain import quorum, status
from galera.domain.credentials import Credentials
from galera.domain.snapshot import Observation, Snapshot
from galera.errors import AccessDenied, GaleraError


class AllDenied(AccessDenied):
    """Every reachable member refused the credentials: bad input, not a cluster problem."""


def _checked(
    gathering: observe.Gathering, credentials: Credentials, plaintext: bool
) -> observe.Gathering:
    observations = gathering.snapshot.observations
    denied = [o for o in observations if o.error_kind == "AccessDenied"]
    answered = [o for o in observations if o.reachable or o.error_kind == "AccessDenied"]
    if denied and len(denied) == len(answered):
        hint = "wrong user or password in the credentials"
        if plaintext:  # MariaDB answers a plaintext client of a TLS-only server the same way
            hint += ", or the members accept only TLS (the cluster file names no CA)"
        raise AllDenied(f"every reachable member refused user {credentials.user!r}", hint=hint)
    return gathering


def _read(spec: ClusterSpec, credentials: Credentials) -> observe.Gathering:
    gathering = observe.gather(spec, credentials)
    return _checked(gathering, credentials, plaintext=spec.tls_ca is None)


def snapshot(spec: ClusterSpec, credentials: Credentials | None = None) -> Snapshot:
    """Read every member once, in parallel. Unreachable members are recorded, not fatal;
    a member's agent is asked what it sees when its SQL fails or stays silent.

    Raises :class:`AllDenied` when every member that answered refused the credentials,
    since then nothing useful can be said about the cluster.
    """
    return _read(spec, credentials or spec.credentials()).snapshot


def confirmed_snapshot(
    spec: ClusterSpec, credentials: Credentials | None = None, settle: float = 1.0
) -> Snapshot:
    """A snapshot in which a split brain, if reported, was seen twice (see
    :func:`galera.observe.confirmed`)."""
    credentials = credentials or spec.credentials()
    return observe.confirmed(lambda: _read(spec, credentials), settle).snapshot


def through_agents(spec: ClusterSpec) -> Snapshot:
    """A snapshot read through the members' agents only (their token, no SQL account): what
    a decision needs from each member's status as its agent reads it. A split brain, if
    reported, is read again to be confirmed."""
    first = _agents_once(spec)
    if not quorum.split_brain(first).detected:
        return first
    time.sleep(1.0)
    return _agents_once(spec)


def _agents_once(spec: ClusterSpec) -> Snapshot:
    clients = members.agents(spec)

    def seen(member: MemberSpec) -> Observation:
        expected, host, port = member.expected, member.host, member.port
        if member.arbitrator:
            return Observation(expected, host=host)
        try:
            body = clients[member.name].status()
        except GaleraError as e:
            return Observation(
                expected, error=e.message, error_kind="AgentError", host=host, port=port
            )
        wsrep = body.get("wsrep")
        if not wsrep:
            why = str(body.get("wsrep_error") or "its agent reads no wsrep status")
            return Observation(expected, error=why, error_kind="NotRunning", host=host, port=port)
        return Observation(expected, status=status.from_summary(wsrep), host=host, port=port)

    with ThreadPoolExecutor(max_workers=min(len(spec.members), 16)) as pool:
        observations = tuple(pool.map(seen, spec.members))
    return Snapshot(observations, taken_at=time.time(), cluster_name=spec.name)
