"""The status report: one JSON-friendly view of a snapshot, shared by the CLI and the API."""

from __future__ import annotations

from typing import Any

from galera.domain import health, quorum
from galera.domain.snapshot import Snapshot


def status_report(
    snapshot: Snapshot, policy: health.HealthPolicy = health.HealthPolicy()
) -> dict[str, Any]:
    """``{"cluster": {...}, "members": [...]}`` for ``galeractl status -o json``."""
    verdict = health.cluster_verdict(snapshot, policy)
    q = quorum.assess(snapshot)
    stale = quorum.split_brain(snapshot).stale
    by_name = {v.name: v for v in verdict.members}
    members = []
    for o in snapshot.observations:
        s = o.status
        members.append(
            {
                "name": o.name,
                "role": "arbitrator" if o.member.arbitrator else "data",
                "host": o.host,
                "port": o.port or None,
                "reachable": o.reachable if not o.member.arbitrator else by_name[o.name].healthy,
                "error": o.error,
                "cluster_status": s.cluster_status.value
                if s
                else ("Primary" if o.member.arbitrator and by_name[o.name].healthy else None),
                "local_state": int(s.local_state) if s else None,
                "local_state_comment": s.local_state_comment if s else None,
                "last_committed": s.last_committed if s else None,
                "cluster_state_uuid": s.state_uuid if s else None,
                "cluster_conf_id": s.conf_id if s else None,
                "cluster_size": s.cluster_size if s else None,
                "ready": s.ready if s else None,
                "weight": o.weight,
                "healthy": by_name[o.name].healthy,
                "reason": by_name[o.name].reason,
                "recv_queue": s.recv_queue if s else None,
                "send_queue": s.send_queue if s else None,
                "flow_control_paused": s.flow_control_paused if s else None,
                "flow_control_active": s.flow_control_active if s else None,
                "segment": s.segment if s else None,
                "evs_delayed": list(s.evs_delayed) if s else [],
                "agent": o.agent,
            }
        )
    return {
        "cluster": {
            "name": snapshot.cluster_name,
            "verdict": verdict.verdict.value,
            "reason": verdict.reason,
            "expected_size": q.expected_size,
            "size": q.size,
            "expected_weight": q.expected_weight,
            "weight": q.weight,
            "quorum_margin": {"members": q.margin_members, "weight": q.margin_weight},
            "quorum": q.reason,
            "stale_views": [v.as_dict() for v in stale],
            "taken_at": snapshot.taken_at,
        },
        "members": members,
    }
