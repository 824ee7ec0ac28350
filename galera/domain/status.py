"""A member's wsrep status, typed, parsed from ``SHOW GLOBAL STATUS`` and ``VARIABLES``."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from galera.errors import InvalidInput


class NotGalera(InvalidInput):
    """The server answered but is not running with a Galera provider."""


class ClusterStatus(enum.Enum):
    """``wsrep_cluster_status``: the component this member belongs to."""

    PRIMARY = "Primary"
    NON_PRIMARY = "non-Primary"
    DISCONNECTED = "Disconnected"

    @classmethod
    def parse(cls, text: str) -> ClusterStatus:
        """Case-insensitive: Galera versions spell ``non-Primary`` differently."""
        folded = text.strip().lower().replace("_", "-")
        for member in cls:
            if member.value.lower() == folded:
                return member
        if folded in ("nonprimary", "non primary"):
            return cls.NON_PRIMARY
        raise InvalidInput(f"unknown wsrep_cluster_status {text!r}")


class LocalState(enum.IntEnum):
    """``wsrep_local_state``: where this member is in the state machine of a Galera node."""

    INITIALIZED = 0
    JOINING = 1
    DONOR = 2
    JOINED = 3
    SYNCED = 4

    @property
    def label(self) -> str:
        return {0: "Initialized", 1: "Joining", 2: "Donor/Desynced", 3: "Joined", 4: "Synced"}[
            int(self)
        ]


def _on(value: str | None) -> bool:
    return (value or "").strip().upper() in ("ON", "1", "TRUE", "YES")


def _int(value: str | None, default: int = 0) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        return int(float(value))


def _float(value: str | None) -> float:
    if value is None or value.strip() == "":
        return 0.0
    return float(value)


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _average(total: int, count: int) -> float:
    return total / count if count > 0 else 0.0


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int:
    """A Galera size option (``128M``, ``1G``, ``1048576``) in bytes; 0 when unparsable."""
    text = text.strip().upper().removesuffix("B")
    unit = text[-1:] if text[-1:] in _SIZE_UNITS and text[-1:] else ""
    number = text[:-1] if unit else text
    try:
        value = int(float(number) * _SIZE_UNITS[unit])
    except (ValueError, OverflowError):
        return 0
    return max(value, 0)


def provider_options(text: str) -> dict[str, str]:
    """Parse ``wsrep_provider_options`` (``key = value; key = value;``) into a dict."""
    options: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            options[key.strip()] = value.strip()
    return options


# A conf id of 2**64-1 (or -1) means "no Primary view": Galera prints it for non-Primary members.
_NO_CONF_ID = (2**64 - 1, -1)


@dataclass(frozen=True)
class MemberStatus:
    """Everything galeractl reads from one running member, typed.

    Built by :func:`parse` from the rows of ``SHOW GLOBAL STATUS LIKE 'wsrep%'`` and of
    ``SHOW GLOBAL VARIABLES``; ``members`` is the node names of the component as the member
    sees it (from ``mysql.wsrep_cluster_members``), empty when unknown.
    """

    node_name: str
    cluster_status: ClusterStatus
    local_state: LocalState
    local_state_comment: str
    ready: bool
    connected: bool
    cluster_size: int
    conf_id: int | None
    state_uuid: str
    local_state_uuid: str
    last_committed: int
    cluster_weight: int
    weight: int
    flow_control_paused: float
    flow_control_sent: int
    flow_control_recv: int
    flow_control_active: bool
    cert_failures: int
    bf_aborts: int
    recv_queue: int
    recv_queue_avg: float
    send_queue: int
    send_queue_avg: float
    desync_count: int
    desync: bool
    evs_state: str
    evs_delayed: tuple[str, ...]
    evs_evict_list: tuple[str, ...]
    gcomm_uuid: str
    incoming_addresses: tuple[str, ...]
    read_only: bool
    provider_version: str
    server_version: str
    members: tuple[str, ...] = field(default=())
    cached_downto: int = 0
    threads_connected: int = 0
    flow_control_paused_ns: int = 0
    log_conflicts: bool = False
    gcache_bytes: int = 0
    avg_writeset_bytes: float = 0.0
    segment: int = 0  # gmcast.segment: the site (a multi-site cluster has one per site)

    @property
    def primary(self) -> bool:
        return self.cluster_status is ClusterStatus.PRIMARY

    @property
    def synced(self) -> bool:
        return self.local_state is LocalState.SYNCED

    def summary(self) -> dict[str, object]:
        """The JSON-friendly subset that agents serve and the CLI prints."""
        return {
            "node_name": self.node_name,
            "cluster_status": self.cluster_status.value,
            "local_state": int(self.local_state),
            "local_state_comment": self.local_state_comment,
            "ready": self.ready,
            "connected": self.connected,
            "cluster_size": self.cluster_size,
            "cluster_conf_id": self.conf_id,
            "cluster_state_uuid": self.state_uuid,
            "local_state_uuid": self.local_state_uuid,
            "last_committed": self.last_committed,
            "cluster_weight": self.cluster_weight,
            "weight": self.weight,
            "flow_control_paused": self.flow_control_paused,
            "cert_failures": self.cert_failures,
            "bf_aborts": self.bf_aborts,
            "recv_queue": self.recv_queue,
            "send_queue": self.send_queue,
            "desync_count": self.desync_count,
            "desync": self.desync,
            "evs_delayed": list(self.evs_delayed),
            "evs_evict_list": list(self.evs_evict_list),
            "read_only": self.read_only,
            "members": list(self.members),
            "server_version": self.server_version,
            "provider_version": self.provider_version,
        }


def from_summary(d: Mapping[str, Any]) -> MemberStatus:
    """A status an agent served (:meth:`MemberStatus.summary`) read back: what a decision
    made through the agents needs (state, component, position, weight, queues); the
    counters a summary does not carry are zero."""
    try:
        local_state = LocalState(int(d.get("local_state", 0)))
    except ValueError:
        local_state = LocalState.INITIALIZED
    conf_id = d.get("cluster_conf_id")
    return MemberStatus(
        node_name=str(d.get("node_name", "")),
        cluster_status=ClusterStatus.parse(str(d.get("cluster_status", ""))),
        local_state=local_state,
        local_state_comment=str(d.get("local_state_comment", local_state.label)),
        ready=bool(d.get("ready")),
        connected=bool(d.get("connected")),
        cluster_size=int(d.get("cluster_size", 0)),
        conf_id=None if conf_id is None else int(conf_id),
        state_uuid=str(d.get("cluster_state_uuid", "")),
        local_state_uuid=str(d.get("local_state_uuid", "")),
        last_committed=int(d.get("last_committed", -1)),
        cluster_weight=int(d.get("cluster_weight", 0)),
        weight=int(d.get("weight", 1)),
        flow_control_paused=float(d.get("flow_control_paused", 0.0)),
        flow_control_sent=0,
        flow_control_recv=0,
        flow_control_active=False,
        cert_failures=int(d.get("cert_failures", 0)),
        bf_aborts=int(d.get("bf_aborts", 0)),
        recv_queue=int(d.get("recv_queue", 0)),
        recv_queue_avg=0.0,
        send_queue=int(d.get("send_queue", 0)),
        send_queue_avg=0.0,
        desync_count=int(d.get("desync_count", 0)),
        desync=bool(d.get("desync")),
        evs_state="",
        evs_delayed=tuple(d.get("evs_delayed") or ()),
        evs_evict_list=tuple(d.get("evs_evict_list") or ()),
        gcomm_uuid="",
        incoming_addresses=(),
        read_only=bool(d.get("read_only")),
        provider_version=str(d.get("provider_version", "")),
        server_version=str(d.get("server_version", "")),
        members=tuple(d.get("members") or ()),
    )


def parse(
    status: Mapping[str, str],
    variables: Mapping[str, str],
    members: tuple[str, ...] = (),
) -> MemberStatus:
    """Build a :class:`MemberStatus` from status and variable rows (names case-insensitive).

    Raises :class:`NotGalera` when the server has no wsrep status (``wsrep_on=OFF`` or no
    provider loaded), since none of the cluster logic applies to such a server.
    """
    s = {k.lower(): ("" if v is None else str(v)) for k, v in status.items()}
    v = {k.lower(): ("" if val is None else str(val)) for k, val in variables.items()}
    if "wsrep_cluster_status" not in s or not s.get("wsrep_provider_name", "x"):
        raise NotGalera("server has no Galera provider loaded (is wsrep_on=ON?)")
    if v and not _on(v.get("wsrep_on", "ON")):
        raise NotGalera("server runs with wsrep_on=OFF")

    state_number = _int(s.get("wsrep_local_state"), 0)
    try:
        local_state = LocalState(state_number)
    except ValueError:
        local_state = LocalState.INITIALIZED
    conf_id: int | None = _int(s.get("wsrep_cluster_conf_id"), -1)
    if conf_id in _NO_CONF_ID:
        conf_id = None
    options = provider_options(v.get("wsrep_provider_options", ""))
    cluster_status = ClusterStatus.parse(s["wsrep_cluster_status"])
    return MemberStatus(
        node_name=v.get("wsrep_node_name", ""),
        cluster_status=cluster_status,
        local_state=local_state,
        local_state_comment=s.get("wsrep_local_state_comment", local_state.label),
        ready=_on(s.get("wsrep_ready")),
        connected=_on(s.get("wsrep_connected")),
        cluster_size=_int(s.get("wsrep_cluster_size")),
        conf_id=conf_id,
        state_uuid=s.get("wsrep_cluster_state_uuid", ""),
        local_state_uuid=s.get("wsrep_local_state_uuid", ""),
        last_committed=_int(s.get("wsrep_last_committed"), -1),
        cluster_weight=_int(s.get("wsrep_cluster_weight")),
        weight=_int(options.get("pc.weight"), 1),
        flow_control_paused=_float(s.get("wsrep_flow_control_paused")),
        flow_control_sent=_int(s.get("wsrep_flow_control_sent")),
        flow_control_recv=_int(s.get("wsrep_flow_control_recv")),
        flow_control_active=_on(s.get("wsrep_flow_control_active")),
        cert_failures=_int(s.get("wsrep_local_cert_failures")),
        bf_aborts=_int(s.get("wsrep_local_bf_aborts")),
        recv_queue=_int(s.get("wsrep_local_recv_queue")),
        recv_queue_avg=_float(s.get("wsrep_local_recv_queue_avg")),
        send_queue=_int(s.get("wsrep_local_send_queue")),
        send_queue_avg=_float(s.get("wsrep_local_send_queue_avg")),
        desync_count=_int(s.get("wsrep_desync_count")),
        desync=_on(v.get("wsrep_desync")),
        evs_state=s.get("wsrep_evs_state", ""),
        evs_delayed=_list(s.get("wsrep_evs_delayed")),
        evs_evict_list=_list(s.get("wsrep_evs_evict_list")),
        gcomm_uuid=s.get("wsrep_gcomm_uuid", ""),
        incoming_addresses=_list(s.get("wsrep_incoming_addresses")),
        read_only=_on(v.get("read_only")),
        provider_version=s.get("wsrep_provider_version", ""),
        server_version=v.get("version", ""),
        members=tuple(members) if cluster_status is ClusterStatus.PRIMARY else (),
        cached_downto=_int(s.get("wsrep_local_cached_downto"), 0),
        flow_control_paused_ns=_int(s.get("wsrep_flow_control_paused_ns")),
        log_conflicts=_on(v.get("wsrep_log_conflicts")),
        gcache_bytes=parse_size(options.get("gcache.size", "0")),
        avg_writeset_bytes=_average(
            _int(s.get("wsrep_replicated_bytes")) + _int(s.get("wsrep_received_bytes")),
            _int(s.get("wsrep_replicated")) + _int(s.get("wsrep_received")),
        ),
        threads_connected=_int(s.get("threads_connected"), 0),
        segment=_int(options.get("gmcast.segment"), 0),
    )
