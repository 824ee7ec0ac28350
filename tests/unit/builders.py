"""Plain builders for unit tests: realistic rows, observations, snapshots and files.

Every builder starts from what a real, healthy member reports and takes keyword overrides,
so a test states only what differs from the healthy case.
"""

from __future__ import annotations

from typing import Any

import yaml

from galera.domain import status as member_status
from galera.domain.snapshot import ExpectedMember, Observation, Snapshot
from galera.domain.status import MemberStatus
from galera.render import MemberConfig

UUID_A = "6c60474c-e8cf-11f1-81d5-3f0896c7a009"
UUID_B = "9d1c2a3e-f00d-11f1-8000-0123456789ab"
GCOMM_UUID = "6c5fe0e8-e8cf-11f1-902d-8eb23bd6cdeb"
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
NO_CONF_ID = "18446744073709551615"


# --- SHOW GLOBAL STATUS / VARIABLES rows -------------------------------------------------


def status_rows(**overrides: str) -> dict[str, str]:
    """``SHOW GLOBAL STATUS LIKE 'wsrep%'`` of a real, Synced, single-member Primary node."""
    rows = {
        "wsrep_local_state_uuid": UUID_A,
        "wsrep_last_committed": "1",
        "wsrep_local_state": "4",
        "wsrep_local_state_comment": "Synced",
        "wsrep_cluster_weight": "2",
        "wsrep_cluster_conf_id": "1",
        "wsrep_cluster_size": "1",
        "wsrep_cluster_state_uuid": UUID_A,
        "wsrep_cluster_status": "Primary",
        "wsrep_connected": "ON",
        "wsrep_ready": "ON",
        "wsrep_local_cert_failures": "0",
        "wsrep_local_bf_aborts": "0",
        "wsrep_local_recv_queue": "0",
        "wsrep_local_send_queue": "0",
        "wsrep_flow_control_paused": "0",
        "wsrep_evs_delayed": "",
        "wsrep_evs_evict_list": "",
        "wsrep_evs_state": "OPERATIONAL",
        "wsrep_gcomm_uuid": GCOMM_UUID,
        "wsrep_provider_name": "Galera",
        "wsrep_provider_version": "4.23(rXXXX)",
        "wsrep_desync_count": "0",
    }
    rows.update(overrides)
    return rows


def options_text(weight: int = 1) -> str:
    return f"base_port = 4567; pc.weight = {weight}; gcache.size = 32M;"


def variable_rows(**overrides: str) -> dict[str, str]:
    """``SHOW GLOBAL VARIABLES`` (the part galeractl reads) of the same node."""
    rows = {
        "wsrep_on": "ON",
        "wsrep_node_name": "galera-0",
        "wsrep_provider_options": options_text(1),
        "read_only": "OFF",
        "version": "10.11.19-MariaDB",
    }
    rows.update(overrides)
    return rows


def without(rows: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in rows.items() if k not in keys}


# --- Member status, observations, snapshots ----------------------------------------------


def member(
    name: str,
    members: tuple[str, ...] = (),
    *,
    weight: int = 1,
    read_only: str = "OFF",
    **status: str,
) -> MemberStatus:
    """A parsed MemberStatus named ``name``; ``status`` overrides wsrep status rows."""
    variables = variable_rows(
        wsrep_node_name=name, wsrep_provider_options=options_text(weight), read_only=read_only
    )
    return member_status.parse(status_rows(**status), variables, members)


def primary(
    name: str,
    members: tuple[str, ...],
    *,
    uuid: str = UUID_A,
    conf_id: int = 7,
    weight: int = 1,
    cluster_weight: int | None = None,
    size: int | None = None,
    **status: str,
) -> MemberStatus:
    """A Synced Primary member reporting the component ``members``.

    Size defaults to the number of members; the component weight defaults to the count of
    members too (everyone at pc.weight 1) unless ``cluster_weight`` says otherwise.
    """
    size = len(members) if size is None else size
    rows = {
        "wsrep_cluster_state_uuid": uuid,
        "wsrep_local_state_uuid": uuid,
        "wsrep_cluster_conf_id": str(conf_id),
        "wsrep_cluster_size": str(size),
        "wsrep_cluster_weight": str(size if cluster_weight is None else cluster_weight),
    }
    rows.update(status)
    return member(name, members, weight=weight, **rows)


def non_primary(name: str, **status: str) -> MemberStatus:
    """A member alone in a non-Primary component, as after losing quorum."""
    rows = {
        "wsrep_cluster_status": "non-Primary",
        "wsrep_cluster_conf_id": NO_CONF_ID,
        "wsrep_cluster_size": "1",
        "wsrep_cluster_weight": "0",
        "wsrep_local_state": "1",
        "wsrep_local_state_comment": "Initialized",
        "wsrep_ready": "OFF",
    }
    rows.update(status)
    return member(name, **rows)


def seen(
    status: MemberStatus, *, declared_weight: int = 1, host: str = "", port: int = 3306
) -> Observation:
    """An observation of a member that answered."""
    return Observation(
        ExpectedMember(status.node_name, declared_weight),
        status=status,
        host=host or f"{status.node_name}.db.internal",
        port=port,
    )


def unreachable(
    name: str, *, weight: int = 1, error: str = "connection refused", host: str = "10.0.0.99"
) -> Observation:
    """An observation of a data member that did not answer."""
    return Observation(
        ExpectedMember(name, weight),
        error=error,
        error_kind="MemberUnreachable",
        host=host,
        port=3306,
    )


def arbitrator(name: str = "garbd", *, weight: int = 1) -> Observation:
    """An arbitrator: never read directly, known only from the Primary members' view."""
    return Observation(ExpectedMember(name, weight, arbitrator=True), host="10.0.0.50")


def snapshot(*observations: Observation, name: str = "prod") -> Snapshot:
    return Snapshot(tuple(observations), taken_at=1700000000.0, cluster_name=name)


NAMES3 = ("galera-0", "galera-1", "galera-2")


def healthy(names: tuple[str, ...] = NAMES3) -> Snapshot:
    """Every member Synced in one Primary component that holds all of them."""
    return snapshot(*(seen(primary(n, names)) for n in names))


def one_crashed() -> Snapshot:
    """galera-2 crashed: galera-0 and galera-1 form a Primary component of two."""
    pair = NAMES3[:2]
    return snapshot(
        seen(primary("galera-0", pair, conf_id=8)),
        seen(primary("galera-1", pair, conf_id=8)),
        unreachable("galera-2"),
    )


# --- Files --------------------------------------------------------------------------------


def grastate_text(
    uuid: str = UUID_A,
    seqno: str = "42",
    safe_to_bootstrap: str | None = "0",
    version: str = "2.1",
) -> str:
    """The text of a grastate.dat as Galera writes it (None leaves a line out)."""
    lines = ["# GALERA saved state", f"version: {version}", f"uuid:    {uuid}", f"seqno:   {seqno}"]
    if safe_to_bootstrap is not None:
        lines.append(f"safe_to_bootstrap: {safe_to_bootstrap}")
    return "\n".join(lines) + "\n"


def cluster_data(**top: Any) -> dict[str, Any]:
    """A valid cluster file mapping; keyword arguments replace (or, as None, drop) top keys."""
    data: dict[str, Any] = {
        "name": "prod",
        "credentials": {"file": "client.cnf"},
        "agent": {"token_env": "GALERACTL_TOKEN"},
        "timeouts": {"connect": 1.5, "read": 4},
        "members": [
            {"name": "db-0", "host": "10.0.0.10", "port": 3306, "agent": "http://10.0.0.10:8080/"},
            {"name": "db-1", "host": "10.0.0.11", "weight": 2},
            {"name": "garbd", "arbitrator": True},
        ],
    }
    for key, value in top.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def cluster_yaml(**top: Any) -> str:
    return yaml.safe_dump(cluster_data(**top), sort_keys=False)


def with_member(index: int, **changes: Any) -> list[dict[str, Any]]:
    """The default member list with member ``index`` changed (None drops a key)."""
    members: list[dict[str, Any]] = cluster_data()["members"]
    for key, value in changes.items():
        if value is None:
            members[index].pop(key, None)
        else:
            members[index][key] = value
    return members


def member_config(**overrides: Any) -> MemberConfig:
    values: dict[str, Any] = {
        "name": "galera-0",
        "cluster_name": "prod",
        "datadir": "/var/lib/galera/galera-0/data",
        "socket": "/run/galera/galera-0.sock",
        "pid_file": "/run/galera/galera-0.pid",
        "log_error": "/var/log/galera/galera-0.err",
        "peers": ("10.0.0.10:4567", "10.0.0.11:4567", "10.0.0.12:4567"),
        "node_address": "10.0.0.10",
    }
    values.update(overrides)
    return MemberConfig(**values)


def agent_data(**changes: Any) -> dict[str, Any]:
    """A valid agent config mapping; keyword arguments replace (or, as None, drop) keys."""
    data: dict[str, Any] = {
        "name": "galera-0",
        "listen": "0.0.0.0:8080",
        "token_file": "token",
        "start": "join",
        "restart": "on-failure",
        "stop_timeout": 60,
        "health": {"donor_ok": True},
        "server": {
            "cluster_name": "prod",
            "datadir": "/var/lib/galera/galera-0/data",
            "socket": "/run/galera/galera-0.sock",
            "pid_file": "/run/galera/galera-0.pid",
            "log_error": "/var/log/galera/galera-0.err",
            "peers": ["10.0.0.10:4567", "10.0.0.11:4567"],
            "node_address": "10.0.0.10",
        },
    }
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data
