"""A real HAProxy in front of the sandbox's members (``galeractl sandbox up --proxy``).

Two TCP frontends: the writer's sends every connection to the one member whose agent
answers ``/health/writer`` (the designated writer, Synced), the reader's balances over the
members answering ``/health/reader``. Checks run every 300 ms against the agents (over
HTTPS, verified against the cluster's CA, where the agents serve TLS); a server marked down
has its sessions shut, so that clients of a writer that stopped being one reconnect to the
new writer at once instead of writing to the old one. galeractl also tells it at once
through its runtime API (:mod:`galera.platforms.haproxy_admin`) when it moves the writer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HAPROXY = "/usr/sbin/haproxy"
CHECK = "inter 300ms fastinter 200ms downinter 500ms fall 2 rise 1"


ADMIN_SOCKET = "admin.sock"  # the runtime API, beside haproxy.cfg (haproxy_admin.py)


def config(
    members: list[Any],
    writer_port: int,
    reader_port: int,
    ca: Path | None,
    bind: str,
    admin: Path | None = None,
) -> str:
    """The HAProxy configuration for ``members`` (sandbox member plans); ``admin``: where
    its runtime API listens (only its owner may connect)."""
    lines = [
        "global",
        "  maxconn 2000",
        *([f"  stats socket unix@{admin} mode 600 level admin"] if admin else []),
        "defaults",
        "  mode tcp",
        "  timeout connect 2s",
        "  timeout client 1h",
        "  timeout server 1h",
        "  timeout check 2s",
    ]
    for pool, port in (("writer", writer_port), ("reader", reader_port)):
        lines += [
            f"frontend {pool}",
            f"  bind {bind}:{port}",
            f"  default_backend {pool}s",
            f"backend {pool}s",
            "  balance first" if pool == "writer" else "  balance roundrobin",
            f"  option httpchk GET /health/{pool}",
            "  http-check expect status 200",
        ]
        for m in members:
            tls = f" check-ssl verify required ca-file {ca} verifyhost {m.name}" if ca else ""
            lines.append(
                f"  server {m.name} {m.address}:{m.sql_port} check port {m.agent_port} {CHECK}"
                f" on-marked-down shutdown-sessions{tls}"
            )
    return "\n".join(lines) + "\n"
