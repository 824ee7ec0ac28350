"""Where a member of the cluster file serves SQL, as the SQL port wants it."""

from __future__ import annotations

from galera import sql
from galera.config.clusterfile import ClusterSpec, MemberSpec


def of_member(spec: ClusterSpec, member: MemberSpec) -> sql.Endpoint:
    """The SQL endpoint of ``member`` with the cluster file's timeouts."""
    return sql.Endpoint(
        member.host,
        member.port,
        connect_timeout=spec.connect_timeout,
        read_timeout=spec.read_timeout,
    )
