"""Rolling restarts: the gate before each member, the IST forecast and the restart order."""

from __future__ import annotations

import pytest

from galera.domain.rolling import forecast_ist, gate, order
from galera.domain.snapshot import Observation, Snapshot
from galera.domain.status import MemberStatus
from tests.unit.builders import (
    NAMES3,
    UUID_B,
    arbitrator,
    healthy,
    non_primary,
    primary,
    seen,
    snapshot,
    unreachable,
)

WITH_GARBD = ("galera-0", "galera-1", "garbd")
PAIR = NAMES3[:2]

# --- gate ---------------------------------------------------------------------------------


def with_arbitrator() -> Snapshot:
    """Two data members and garbd in one Primary component of size 3, weight 3."""
    return snapshot(
        seen(primary("galera-0", WITH_GARBD, size=3, cluster_weight=3)),
        seen(primary("galera-1", WITH_GARBD, size=3, cluster_weight=3)),
        arbitrator("garbd"),
    )


def one_member(replaced: Observation, index: int = 2) -> Snapshot:
    """A healthy three-member cluster in which member ``index`` is replaced."""
    observations = [seen(primary(n, NAMES3)) for n in NAMES3]
    observations[index] = replaced
    return snapshot(*observations)


def two_histories() -> Snapshot:
    """galera-2 reports a Primary component with another cluster state UUID."""
    return snapshot(
        seen(primary("galera-0", PAIR)),
        seen(primary("galera-1", PAIR)),
        seen(primary("galera-2", ("galera-2",), uuid=UUID_B, conf_id=1)),
    )


@pytest.mark.parametrize(
    ("snap", "target"),
    [
        (healthy(), "galera-0"),
        (healthy(), "galera-2"),
        (with_arbitrator(), "galera-0"),
        (with_arbitrator(), "galera-1"),
        (healthy(tuple(f"galera-{i}" for i in range(5))), "galera-4"),
    ],
    ids=["healthy-3-first", "healthy-3-last", "arbitrator-pair-0", "arbitrator-pair-1", "five"],
)
def test_gate_passes_when_the_rest_keeps_quorum(snap: Snapshot, target: str) -> None:
    verdict = gate(snap, target)
    assert verdict.ok
    assert "all other members Synced and Primary" in verdict.reason
    assert "quorum kept" in verdict.reason


def test_gate_on_healthy_three_states_the_remaining_weight() -> None:
    verdict = gate(healthy(), "galera-1")
    assert verdict.ok
    assert "without galera-1 (weight 1) the component keeps weight 2 of 3" in verdict.reason


@pytest.mark.parametrize(
    ("snap", "target", "why"),
    [
        (one_member(unreachable("galera-2", error="connection refused")), "galera-2", "refused"),
        (one_member(seen(non_primary("galera-2"))), "galera-2", "not in a Primary component"),
        (
            one_member(
                seen(
                    primary(
                        "galera-2",
                        NAMES3,
                        wsrep_local_state="2",
                        wsrep_local_state_comment="Donor/Desynced",
                    )
                )
            ),
            "galera-2",
            "not Synced (Donor/Desynced)",
        ),
        (
            one_member(seen(primary("galera-2", NAMES3, wsrep_ready="OFF"))),
            "galera-2",
            "wsrep_ready is OFF",
        ),
    ],
    ids=["unreachable", "non-primary", "donor", "not-ready"],
)
def test_gate_refuses_an_unhealthy_target(snap: Snapshot, target: str, why: str) -> None:
    verdict = gate(snap, target)
    assert not verdict.ok
    assert f"{target} is not healthy before its restart" in verdict.reason
    assert why in verdict.reason


def test_gate_refuses_when_another_member_is_unreachable() -> None:
    snap = snapshot(
        seen(primary("galera-0", PAIR, conf_id=8, cluster_weight=2)),
        seen(primary("galera-1", PAIR, conf_id=8, cluster_weight=2)),
        unreachable("galera-2", error="timed out"),
    )
    verdict = gate(snap, "galera-0")
    assert not verdict.ok
    assert "galera-2 is unreachable (timed out)" in verdict.reason
    assert "taking galera-0 down now could lose the cluster" in verdict.reason


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (
            seen(
                primary(
                    "galera-2",
                    NAMES3,
                    wsrep_local_state="2",
                    wsrep_local_state_comment="Donor/Desynced",
                )
            ),
            "not Synced (Donor/Desynced)",
        ),
        (
            seen(
                primary(
                    "galera-2",
                    NAMES3,
                    wsrep_local_state="3",
                    wsrep_local_state_comment="Joined",
                )
            ),
            "not Synced (Joined)",
        ),
        (seen(non_primary("galera-2")), "not in a Primary component (non-Primary)"),
    ],
    ids=["donor", "joined", "non-primary"],
)
def test_gate_refuses_when_another_member_is_not_synced_and_primary(
    other: Observation, why: str
) -> None:
    verdict = gate(one_member(other), "galera-0")
    assert not verdict.ok
    assert "galera-2 is not Synced and Primary" in verdict.reason
    assert why in verdict.reason


@pytest.mark.parametrize("target", NAMES3, ids=list(NAMES3))
def test_gate_refuses_two_primary_histories_as_a_split_brain(target: str) -> None:
    verdict = gate(two_histories(), target)
    assert not verdict.ok
    assert verdict.reason.startswith("split brain")
    assert "2 Primary components" in verdict.reason


def test_gate_refuses_a_pair_without_arbitrator_as_quorum_at_risk() -> None:
    verdict = gate(healthy(PAIR), "galera-0")
    assert not verdict.ok
    assert "quorum would be at risk" in verdict.reason
    assert "keeps weight 1 of 2, not more than half" in verdict.reason


def test_gate_refuses_the_heaviest_member_when_the_rest_is_only_half() -> None:
    snap = snapshot(
        seen(primary("galera-0", NAMES3, weight=2, cluster_weight=4), declared_weight=2),
        seen(primary("galera-1", NAMES3, cluster_weight=4)),
        seen(primary("galera-2", NAMES3, cluster_weight=4)),
    )
    heavy = gate(snap, "galera-0")
    light = gate(snap, "galera-1")
    assert not heavy.ok
    assert "quorum would be at risk" in heavy.reason
    assert light.ok


def test_gate_refuses_an_arbitrator_target() -> None:
    verdict = gate(with_arbitrator(), "garbd")
    assert not verdict.ok
    assert "garbd is an arbitrator" in verdict.reason


# --- forecast_ist -------------------------------------------------------------------------
#
# Every member below runs with gcache.size = 32M = 33,554,432 bytes (builders.options_text)
# and has replicated + received 2,000,000 bytes in 2,000 write sets: an average write set
# of 1,000 bytes. The usable capacity is therefore 0.8 * 33,554,432 / 1,000 = 26,843.5456
# write sets. IST holds while  position + 1 >= max(cached_downto, newest - capacity + 1)
# with newest = donor's last_committed + write_rate * downtime.

CAPACITY = 0.8 * 32 * 1024**2 / 1000


def gcache_member(
    name: str,
    *,
    committed: int = 1000,
    cached_downto: int = 1,
    threads: int = 0,
    names: tuple[str, ...] = NAMES3,
) -> MemberStatus:
    """A Synced Primary member whose status rows describe its gcache window."""
    return primary(
        name,
        names,
        wsrep_last_committed=str(committed),
        wsrep_local_cached_downto=str(cached_downto),
        wsrep_replicated_bytes="1500000",
        wsrep_received_bytes="500000",
        wsrep_replicated="1500",
        wsrep_received="500",
        Threads_connected=str(threads),
    )


def gcache_cluster(
    *, position: int = 1000, committed: int = 1000, cached_downto: int = 1
) -> Snapshot:
    """galera-0 is the target at ``position``; galera-1 and galera-2 are the donors."""
    return snapshot(
        seen(gcache_member("galera-0", committed=position, cached_downto=cached_downto)),
        seen(gcache_member("galera-1", committed=committed, cached_downto=cached_downto)),
        seen(gcache_member("galera-2", committed=committed, cached_downto=cached_downto)),
    )


def test_the_gcache_builder_gives_the_numbers_worked_below() -> None:
    status = gcache_member("galera-1")
    assert status.gcache_bytes == 33_554_432
    assert status.avg_writeset_bytes == 1000.0
    assert status.cached_downto == 1
    assert 0.8 * status.gcache_bytes / status.avg_writeset_bytes == pytest.approx(26_843.5456)


@pytest.mark.parametrize(
    ("snap", "rate", "downtime"),
    [
        # newest = 1000 + 10*60 = 1600; oldest = max(1, 1600 - 26843.5 + 1) = 1;
        # spare = 1001 - 1 = 1000 >= 0.
        (gcache_cluster(), 10.0, 60.0),
        # No writes: oldest = max(1, 1000 - 26843.5 + 1) = 1; spare = 1000.
        (gcache_cluster(), 0.0, 600.0),
        # A negative rate counts as no writes at all.
        (gcache_cluster(), -50.0, 600.0),
        # newest = 1000 + 100*268 = 27800; oldest = 27800 - 26843.5456 + 1 = 957.45;
        # spare = 1001 - 957.45 = 43.5 >= 0: just inside the window.
        (gcache_cluster(), 100.0, 268.0),
        # Target 500 behind, cached_downto 400 <= 501: oldest = max(400, 1000-26842.5) = 400.
        (gcache_cluster(position=500, cached_downto=400), 0.0, 60.0),
    ],
    ids=["far-from-full", "no-writes", "negative-rate", "just-inside", "behind-but-cached"],
)
def test_forecast_predicts_ist_while_the_gcache_still_holds_the_position(
    snap: Snapshot, rate: float, downtime: float
) -> None:
    forecast = forecast_ist(snap, "galera-0", rate, downtime)
    assert forecast.ist
    assert forecast.reason.endswith(": IST")
    assert "galera-0's position" in forecast.reason


def test_forecast_far_from_full_names_the_window() -> None:
    forecast = forecast_ist(gcache_cluster(), "galera-0", 10.0, 60.0)
    assert forecast.ist
    # The first donor wins a tie (equal spare 1000 on both).
    assert forecast.reason.startswith("galera-1: its gcache holds seqnos from 1")
    assert "about 26844 write sets of 1000 bytes" in forecast.reason
    assert "after ~600 writes in a 60s restart" in forecast.reason


@pytest.mark.parametrize(
    ("snap", "rate", "downtime"),
    [
        # Donors hold seqnos from 5000 on; the target is at 4000: spare = 4001 - 5000 = -999.
        (gcache_cluster(position=4000, committed=10_000, cached_downto=5000), 0.0, 60.0),
        # newest = 1000 + 1000*60 = 61000; oldest = 61000 - 26843.5456 + 1 = 34157.45;
        # spare = 1001 - 34157.45 = -33156.45 < 0.
        (gcache_cluster(), 1000.0, 60.0),
        # newest = 1000 + 100*269 = 27900; oldest = 27900 - 26843.5456 + 1 = 1057.45;
        # spare = 1001 - 1057.45 = -56.45 < 0: just outside the window.
        (gcache_cluster(), 100.0, 269.0),
    ],
    ids=["position-below-cached-downto", "heavy-write-rate", "just-outside"],
)
def test_forecast_predicts_sst_when_the_gcache_no_longer_holds_the_position(
    snap: Snapshot, rate: float, downtime: float
) -> None:
    forecast = forecast_ist(snap, "galera-0", rate, downtime)
    assert not forecast.ist
    assert "a full SST is likely" in forecast.reason
    assert "no longer hold galera-0's position" in forecast.reason


def test_forecast_prefers_the_donor_with_the_widest_window() -> None:
    # galera-1 holds from 5000 (spare 4001 - 5000 = -999), galera-2 from 100 (spare 3901).
    snap = snapshot(
        seen(gcache_member("galera-0", committed=4000, cached_downto=100)),
        seen(gcache_member("galera-1", committed=10_000, cached_downto=5000)),
        seen(gcache_member("galera-2", committed=10_000, cached_downto=100)),
    )
    forecast = forecast_ist(snap, "galera-0", 0.0, 60.0)
    assert forecast.ist
    assert forecast.reason.startswith("galera-2: its gcache holds seqnos from 100")


@pytest.mark.parametrize(
    "cached_downto",
    [0, 2**64 - 1],
    ids=["zero", "empty-gcache-sentinel"],
)
def test_forecast_assumes_ist_when_no_donor_reports_a_window(cached_downto: int) -> None:
    forecast = forecast_ist(gcache_cluster(cached_downto=cached_downto), "galera-0", 1e6, 3600)
    assert forecast.ist
    assert forecast.reason == "no donor reports a gcache window; assuming IST"


def test_forecast_ignores_donors_outside_the_primary_component() -> None:
    snap = snapshot(
        seen(gcache_member("galera-0")),
        seen(non_primary("galera-1", wsrep_local_cached_downto="5000")),
        unreachable("galera-2"),
    )
    forecast = forecast_ist(snap, "galera-0", 0.0, 60.0)
    assert forecast.ist
    assert "assuming IST" in forecast.reason


def test_forecast_for_an_unreachable_target_is_not_ist() -> None:
    snap = snapshot(
        unreachable("galera-0"),
        seen(gcache_member("galera-1")),
        seen(gcache_member("galera-2")),
    )
    forecast = forecast_ist(snap, "galera-0", 0.0, 60.0)
    assert not forecast.ist
    assert forecast.reason == "galera-0 is unreachable; its position is unknown"


# --- order --------------------------------------------------------------------------------


def loaded(threads: dict[str, int], names: tuple[str, ...] = NAMES3) -> Snapshot:
    return snapshot(
        *(seen(gcache_member(n, threads=threads.get(n, 0), names=names)) for n in names)
    )


def test_threads_connected_is_read_from_the_status_rows() -> None:
    assert gcache_member("galera-0", threads=17).threads_connected == 17


@pytest.mark.parametrize(
    ("threads", "members", "expected"),
    [
        (
            {"galera-0": 40, "galera-1": 2, "galera-2": 0},
            NAMES3,
            ["galera-2", "galera-1", "galera-0"],
        ),
        (
            {"galera-0": 5, "galera-1": 0, "galera-2": 5},
            NAMES3,
            ["galera-1", "galera-0", "galera-2"],
        ),
        ({}, NAMES3, list(NAMES3)),
        ({}, ("galera-2", "galera-0", "galera-1"), list(NAMES3)),
        ({"galera-0": 9, "galera-2": 1}, ("galera-2", "galera-0"), ["galera-2", "galera-0"]),
    ],
    ids=[
        "writer-last",
        "ties-keep-file-order",
        "all-idle-file-order",
        "request-order-ignored",
        "subset",
    ],
)
def test_order_puts_the_least_connected_first(
    threads: dict[str, int], members: tuple[str, ...], expected: list[str]
) -> None:
    snap = loaded(threads)
    assert order(snap, members) == expected
    assert order(snap, list(reversed(members))) == expected


def test_order_counts_an_unreachable_member_as_idle() -> None:
    snap = snapshot(
        seen(gcache_member("galera-0", threads=3)),
        seen(gcache_member("galera-1", threads=0)),
        unreachable("galera-2"),
    )
    assert order(snap, NAMES3) == ["galera-1", "galera-2", "galera-0"]
