"""``galeractl certs``: a cluster's certificates, created, rotated and reloaded without a restart.

Every member's agent watches its certificate files and has mariadbd reload them (``FLUSH SSL``,
``socket.ssl_reload``) once a consistent new set is in place. Rotation writes the new set
where the members read it (the sandbox, or VMs sharing the directory) and waits until every
agent reports the new certificate in use; with the files on other hosts, the person copies
them and the agents take them from there.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

from galera import poll, tls
from galera.config import certdir, endpoints
from galera.config.clusterfile import ClusterSpec
from galera.domain import events
from galera.domain.events import Kind
from galera.errors import GaleraError, InvalidInput, OperationFailed

Emit = events.Emit


def parties(spec: ClusterSpec) -> dict[str, list[str]]:
    """Every member (garbd included) and the names its certificate must carry: the address
    peers and clients use, its name, and its agent's host."""
    result: dict[str, list[str]] = {}
    for m in spec.members:
        names = [m.host, m.name]
        if m.agent:
            names.append(urlsplit(m.agent).hostname or m.host)
        result[m.name] = [n for n in dict.fromkeys(names) if n]
    return result


def directory(spec: ClusterSpec) -> Path:
    """Where the cluster's certificates are: beside the CA the cluster file names."""
    if spec.tls_ca is None:
        raise InvalidInput(
            f"{spec.path} names no CA (tls: ca); create one with: galeractl certs create"
        )
    return spec.tls_ca.parent


def create(spec: ClusterSpec, root: Path, days: int) -> dict[str, list[str]]:
    """A new CA and every member's certificate in ``root``; what each names."""
    named = parties(spec)
    certdir.create(root, spec.name, named, days)
    return named


def rotate(
    spec: ClusterSpec, new_ca: bool, days: int, emit: Emit, wait: float | None = 120.0
) -> dict[str, str]:
    """New certificates for every member (and a new CA with ``new_ca``, trusted alongside the
    old one); with ``wait``, until every agent reports its new certificate in use. Returns
    each member's new fingerprint."""
    root = directory(spec)
    named = parties(spec)
    certdir.rotate(root, spec.name, named, new_ca=new_ca, days=days)
    fresh = {}
    for name in named:
        cert = certdir.files(root, name).cert
        assert cert is not None
        fresh[name] = tls.fingerprint(cert)
        emit(events.of(Kind.ISSUED, member=name, fingerprint=fresh[name][:16]))
    if wait is not None:
        wait_reloaded(spec, fresh, wait, emit)
    return fresh


def wait_reloaded(spec: ClusterSpec, fresh: dict[str, str], timeout: float, emit: Emit) -> None:
    """Until every data member's agent serves ``fresh[member]`` (its mariadbd reloaded)."""
    todo = {m.name: m for m in spec.members if not m.arbitrator and m.agent}
    token = spec.agent_token()

    def left() -> list[str]:
        for name in list(todo):
            try:
                state = endpoints.agent(spec, todo[name], token).status().get("tls") or {}
            except GaleraError:
                continue
            if state.get("fingerprint") == fresh[name] and not state.get("error"):
                emit(events.of(Kind.RELOADED, member=name))
                del todo[name]
        return list(todo)

    try:
        poll.until(
            lambda: True if not left() else None,
            timeout=timeout,
            interval=1.0,
            what="every member reloaded",
        )
    except poll.TimedOut:
        raise OperationFailed(
            f"{', '.join(todo)} did not take the new certificate into use within "
            f"{timeout:.0f}s (their agents' status shows why: tls.error)"
        ) from None


def expiries(spec: ClusterSpec) -> dict[str, dt.datetime]:
    """When the CA and each member's certificate in the cluster's directory expire."""
    return certdir.expiries(directory(spec), list(parties(spec)))
