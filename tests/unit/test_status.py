"""status.parse: typed MemberStatus from SHOW GLOBAL STATUS / VARIABLES rows."""

from __future__ import annotations

import pytest

from galera.domain.status import (
    ClusterStatus,
    LocalState,
    NotGalera,
    parse,
    provider_options,
)
from galera.errors import InvalidInput
from tests.unit.builders import (
    GCOMM_UUID,
    NO_CONF_ID,
    UUID_A,
    options_text,
    status_rows,
    variable_rows,
    without,
)

MEMBERS = ("galera-0", "galera-1", "galera-2")


def test_real_node_rows_give_typed_fields() -> None:
    status = parse(status_rows(), variable_rows(), ("galera-0",))
    assert status.node_name == "galera-0"
    assert status.cluster_status is ClusterStatus.PRIMARY
    assert status.primary and status.synced
    assert status.local_state is LocalState.SYNCED
    assert status.local_state_comment == "Synced"
    assert status.ready and status.connected
    assert (status.cluster_size, status.conf_id, status.cluster_weight) == (1, 1, 2)
    assert status.state_uuid == status.local_state_uuid == UUID_A
    assert status.last_committed == 1
    assert status.weight == 1
    assert status.evs_state == "OPERATIONAL"
    assert status.evs_delayed == status.evs_evict_list == ()
    assert status.gcomm_uuid == GCOMM_UUID
    assert status.provider_version == "4.23(rXXXX)"
    assert status.server_version == "10.11.19-MariaDB"
    assert status.read_only is False
    assert status.members == ("galera-0",)


def test_summary_is_json_friendly() -> None:
    summary = parse(status_rows(), variable_rows(), MEMBERS).summary()
    assert summary["cluster_status"] == "Primary"
    assert summary["local_state"] == 4
    assert summary["cluster_conf_id"] == 1
    assert summary["members"] == list(MEMBERS)
    assert summary["evs_delayed"] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Primary", ClusterStatus.PRIMARY),
        ("primary", ClusterStatus.PRIMARY),
        ("PRIMARY ", ClusterStatus.PRIMARY),
        ("non-Primary", ClusterStatus.NON_PRIMARY),
        ("NON-PRIMARY", ClusterStatus.NON_PRIMARY),
        ("non_primary", ClusterStatus.NON_PRIMARY),
        ("nonprimary", ClusterStatus.NON_PRIMARY),
        ("Disconnected", ClusterStatus.DISCONNECTED),
        ("disconnected", ClusterStatus.DISCONNECTED),
    ],
    ids=[
        "Primary",
        "primary",
        "PRIMARY-space",
        "non-Primary",
        "NON-PRIMARY",
        "non_primary",
        "nonprimary",
        "Disconnected",
        "disconnected",
    ],
)
def test_cluster_status_is_case_insensitive(text: str, expected: ClusterStatus) -> None:
    status = parse(status_rows(wsrep_cluster_status=text), variable_rows())
    assert status.cluster_status is expected
    assert status.primary is (expected is ClusterStatus.PRIMARY)


def test_unknown_cluster_status_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown wsrep_cluster_status 'Secondary'"):
        parse(status_rows(wsrep_cluster_status="Secondary"), variable_rows())


@pytest.mark.parametrize(
    ("number", "comment", "state", "label"),
    [
        ("1", "Joining", LocalState.JOINING, "Joining"),
        ("2", "Donor/Desynced", LocalState.DONOR, "Donor/Desynced"),
        ("3", "Joined", LocalState.JOINED, "Joined"),
        ("4", "Synced", LocalState.SYNCED, "Synced"),
        ("0", "Initialized", LocalState.INITIALIZED, "Initialized"),
        ("9", "Weird", LocalState.INITIALIZED, "Initialized"),
    ],
    ids=["joining", "donor", "joined", "synced", "initialized", "out-of-range"],
)
def test_local_state_and_comment(number: str, comment: str, state: LocalState, label: str) -> None:
    status = parse(
        status_rows(wsrep_local_state=number, wsrep_local_state_comment=comment), variable_rows()
    )
    assert status.local_state is state
    assert status.local_state.label == label
    assert status.local_state_comment == comment
    assert status.synced is (state is LocalState.SYNCED)


def test_missing_comment_falls_back_to_the_state_label() -> None:
    rows = without(status_rows(wsrep_local_state="2"), "wsrep_local_state_comment")
    assert parse(rows, variable_rows()).local_state_comment == "Donor/Desynced"


@pytest.mark.parametrize(
    ("ready", "connected", "expected"),
    [
        ("ON", "ON", (True, True)),
        ("OFF", "ON", (False, True)),
        ("ON", "OFF", (True, False)),
        ("off", "off", (False, False)),
        ("1", "0", (True, False)),
        ("", "", (False, False)),
    ],
    ids=["both-on", "not-ready", "not-connected", "lower-case-off", "numeric", "empty"],
)
def test_ready_and_connected_flags(ready: str, connected: str, expected: tuple) -> None:
    status = parse(status_rows(wsrep_ready=ready, wsrep_connected=connected), variable_rows())
    assert (status.ready, status.connected) == expected


@pytest.mark.parametrize(
    ("conf_id", "expected"),
    [("1", 1), ("42", 42), (NO_CONF_ID, None), ("-1", None), ("", None)],
    ids=["one", "forty-two", "2**64-1-no-primary-view", "minus-one", "empty"],
)
def test_conf_id_without_a_primary_view_is_none(conf_id: str, expected: int | None) -> None:
    status = parse(status_rows(wsrep_cluster_conf_id=conf_id), variable_rows())
    assert status.conf_id == expected


@pytest.mark.parametrize(
    ("options", "weight"),
    [
        (options_text(2), 2),
        ("pc.weight=0", 0),
        ("base_port = 4567; gcache.size = 32M;", 1),
        ("", 1),
    ],
    ids=["weight-2", "weight-0-no-spaces", "no-pc-weight-defaults-1", "no-options"],
)
def test_weight_comes_from_provider_options(options: str, weight: int) -> None:
    status = parse(status_rows(), variable_rows(wsrep_provider_options=options))
    assert status.weight == weight


def test_provider_options_split_into_a_dict() -> None:
    text = "base_port = 4567; gmcast.listen_addr = tcp://0.0.0.0:4567; pc.weight = 1; junk;"
    assert provider_options(text) == {
        "base_port": "4567",
        "gmcast.listen_addr": "tcp://0.0.0.0:4567",
        "pc.weight": "1",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("tcp://10.0.0.11:4567", ("tcp://10.0.0.11:4567",)),
        ("a:1, b:2,,", ("a:1", "b:2")),
        (" x ,y", ("x", "y")),
    ],
    ids=["empty", "one", "two-with-blanks", "spaces"],
)
def test_evs_delayed_and_evict_list_are_split_by_comma(text: str, expected: tuple) -> None:
    status = parse(status_rows(wsrep_evs_delayed=text, wsrep_evs_evict_list=text), variable_rows())
    assert status.evs_delayed == expected
    assert status.evs_evict_list == expected


@pytest.mark.parametrize(
    ("status", "variables", "expected"),
    [
        (without(status_rows(), "wsrep_cluster_status"), variable_rows(), "no Galera provider"),
        ({}, {}, "no Galera provider"),
        (status_rows(wsrep_provider_name=""), variable_rows(), "no Galera provider"),
        (status_rows(), variable_rows(wsrep_on="OFF"), "wsrep_on=OFF"),
        (status_rows(), variable_rows(wsrep_on="0"), "wsrep_on=OFF"),
    ],
    ids=["no-cluster-status", "no-rows", "empty-provider", "wsrep-off", "wsrep-0"],
)
def test_server_without_galera_is_not_galera(status: dict, variables: dict, expected: str) -> None:
    with pytest.raises(NotGalera, match=expected):
        parse(status, variables)


@pytest.mark.parametrize(
    ("cluster_status", "members"),
    [("Primary", MEMBERS), ("non-Primary", ()), ("Disconnected", ())],
    ids=["primary-keeps", "non-primary-drops", "disconnected-drops"],
)
def test_members_are_kept_only_when_primary(cluster_status: str, members: tuple) -> None:
    status = parse(status_rows(wsrep_cluster_status=cluster_status), variable_rows(), MEMBERS)
    assert status.members == members


def test_row_names_are_case_insensitive_and_none_values_are_empty() -> None:
    rows = {k.upper(): v for k, v in status_rows(wsrep_evs_delayed=None).items()}  # type: ignore[arg-type]
    variables = {k.upper(): v for k, v in variable_rows(read_only="ON").items()}
    status = parse(rows, variables)
    assert status.primary and status.read_only
    assert status.node_name == "galera-0"
    assert status.evs_delayed == ()


@pytest.mark.parametrize(
    ("key", "value", "field", "expected"),
    [
        ("wsrep_last_committed", "", "last_committed", -1),
        ("wsrep_cluster_size", "3", "cluster_size", 3),
        ("wsrep_local_recv_queue", "12", "recv_queue", 12),
        ("wsrep_flow_control_paused", "0.25", "flow_control_paused", 0.25),
        ("wsrep_local_cert_failures", "7", "cert_failures", 7),
        ("wsrep_desync_count", "1", "desync_count", 1),
        ("wsrep_local_send_queue_avg", "1.5", "send_queue_avg", 1.5),
    ],
    ids=["no-last-committed", "size", "recv-queue", "fc-paused", "cert-failures", "desync", "avg"],
)
def test_numeric_fields_are_typed(key: str, value: str, field: str, expected: float) -> None:
    status = parse(status_rows(**{key: value}), variable_rows())
    assert getattr(status, field) == expected
