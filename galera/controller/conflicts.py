"""``galeractl conflicts``: certification conflicts per member, table and statement."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from galera import sql
from galera.config import endpoints
from galera.config.clusterfile import ClusterSpec
from galera.controller import members, observe
from galera.domain import conflicts
from galera.errors import GaleraError


def enable_logging(spec: ClusterSpec) -> list[str]:
    """Turn ``wsrep_log_conflicts`` and ``cert.log_conflicts`` on (dynamic, until restart)."""
    enabled = []
    credentials = spec.admin_credentials()  # SET GLOBAL
    for m in spec.members:
        if m.arbitrator:
            continue
        sql.execute(
            endpoints.of_member(spec, m),
            credentials,
            [
                "SET GLOBAL wsrep_log_conflicts = ON",
                "SET GLOBAL wsrep_provider_options = 'cert.log_conflicts=YES'",
            ],
            member=m.name,
        )
        enabled.append(m.name)
    return enabled


def report(spec: ClusterSpec, since_seconds: float, top: int = 10) -> dict[str, Any]:
    """Counters from SHOW STATUS and the logged conflicts of the last ``since_seconds``."""
    snapshot = observe.snapshot(spec)
    clients = members.agents(spec)
    cutoff = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - since_seconds))

    def read(name: str) -> tuple[str, list[conflicts.Conflict], str | None]:
        try:
            lines = clients[name].log()
        except GaleraError as e:
            return name, [], e.message
        entries = [e for e in conflicts.parse(lines) if e.at >= cutoff]
        return name, entries, None

    with ThreadPoolExecutor(max_workers=max(len(clients), 1)) as pool:
        results = list(pool.map(read, list(clients)))
    everything: list[conflicts.Conflict] = []
    per_member = []
    for name, entries, error in results:
        status = snapshot.get(name).status
        everything += entries
        per_member.append(
            {
                "member": name,
                "cert_failures": status.cert_failures if status else None,
                "bf_aborts": status.bf_aborts if status else None,
                "logged": len(entries),
                "per_minute": round(len(entries) / max(since_seconds / 60, 1e-9), 2),
                "log_conflicts_enabled": status.log_conflicts if status else None,
                "error": error or (snapshot.get(name).error if status is None else None),
            }
        )
    summary = conflicts.summarise(everything, top)
    return {
        "window_seconds": since_seconds,
        "members": per_member,
        "conflicts": summary.conflicts,
        "tables": [{"table": t, "conflicts": n} for t, n in summary.tables],
        "statements": [{"statement": s, "count": n} for s, n in summary.statements],
    }
