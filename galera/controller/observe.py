"""One snapshot of a cluster for a decision: the shared gathering (:mod:`galera.observe`),
refused when every member that answered refused the credentials."""

from __future__ import annotations

from galera import observe
from galera.config.clusterfile import ClusterSpec
from galera.domain.credentials import Credentials
from galera.domain.snapshot import Snapshot
from galera.errors import AccessDenied


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
