"""Where a member of the cluster file serves SQL, as the SQL port wants it."""

from __future__ import annotations

from galera import sql, tls
from galera.agent_client import AgentClient
from galera.config.clusterfile import ClusterSpec, MemberSpec
from galera.errors import InvalidInput


def of_member(spec: ClusterSpec, member: MemberSpec) -> sql.Endpoint:
    """The SQL endpoint of ``member`` with the cluster file's timeouts and TLS."""
    files = spec.tls_files()
    return sql.Endpoint(
        member.host,
        member.port,
        connect_timeout=spec.connect_timeout,
        read_timeout=spec.read_timeout,
        tls=tls.client_context(files, member.tls_name or None) if files is not None else None,
        tls_name=member.tls_name,
    )


def agent(
    spec: ClusterSpec, member: MemberSpec, token: str | None = None, timeout: float = 10.0
) -> AgentClient:
    """A client of ``member``'s agent that verifies it against the cluster's CA and its
    name (an ``https://`` agent URL); ``token`` for the endpoints that need one."""
    files = spec.tls_files()
    context = tls.client_context(files, member.tls_name or None) if files is not None else None
    return AgentClient(member.agent, token, member=member.name, timeout=timeout, tls=context)


def of_proxy(spec: ClusterSpec, pool: str) -> sql.Endpoint:
    """Where clients reach the ``writer`` or the ``reader`` pool through the cluster file's
    proxy, with its timeouts and TLS (the member behind it presents its certificate)."""
    address = spec.proxy.get(pool)
    if not address:
        raise InvalidInput(f"{spec.path}: no proxy.{pool} (a sandbox made with --proxy has one)")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InvalidInput(f"{spec.path}: proxy.{pool}: expected HOST:PORT, got {address!r}")
    member = MemberSpec(name=f"proxy-{pool}", host=host, port=int(port))
    return of_member(spec, member)
