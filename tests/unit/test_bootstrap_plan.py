"""The bootstrap decision: whom to bootstrap after a full outage, and every refusal."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from galera.domain.bootstrap import (
    Action,
    MemberReport,
    Resume,
    Start,
    plan_bootstrap,
    rank,
    resume,
    start_path,
)
from galera.domain.grastate import Grastate
from galera.domain.position import Position
from tests.unit.builders import UUID_A, UUID_B, ZERO_UUID

# --- Builders -----------------------------------------------------------------------------


def state(seqno: int = 10, *, uuid: str = UUID_A, safe: bool = False) -> Grastate:
    """A grastate.dat as Galera leaves it (seqno -1 after a crash or while running)."""
    return Grastate(version="2.1", uuid=uuid, seqno=seqno, safe_to_bootstrap=safe)


def stopped(name: str, seqno: int = 10, *, uuid: str = UUID_A, safe: bool = False) -> MemberReport:
    """A member shut down cleanly: its grastate.dat holds a valid seqno."""
    return MemberReport(name, grastate=state(seqno, uuid=uuid, safe=safe))


def crashed(
    name: str, recovered: int | None = 10, *, uuid: str = UUID_A, safe: bool = False
) -> MemberReport:
    """A member that crashed: grastate seqno -1, position from --wsrep-recover (or none)."""
    return MemberReport(
        name,
        grastate=state(-1, uuid=uuid, safe=safe),
        recovered=None if recovered is None else Position(uuid, recovered),
    )


def running(
    name: str, live: int = 10, *, uuid: str = UUID_A, primary: bool = False
) -> MemberReport:
    """A running member: grastate seqno -1 while it runs, position read live."""
    return MemberReport(
        name,
        running=True,
        primary=primary,
        grastate=state(-1, uuid=uuid),
        live_position=Position(uuid, live),
    )


def joiner(name: str, started_from: int = 10, *, uuid: str = UUID_A) -> MemberReport:
    """A server started in join mode that has applied nothing yet (waiting for a donor)."""
    return MemberReport(
        name, running=True, grastate=state(-1, uuid=uuid), joining_from=Position(uuid, started_from)
    )


def failed(name: str, error: str = "agent unreachable: connection refused") -> MemberReport:
    """A member that could not report at all."""
    return MemberReport(name, grastate=state(10), error=error)


def blank(name: str, *, zero_uuid: bool = False) -> MemberReport:
    """A member that never held data: no grastate.dat, or one with the zero UUID."""
    return MemberReport(name, grastate=state(-1, uuid=ZERO_UUID) if zero_uuid else None)


# --- Where a member's position comes from -------------------------------------------------


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (stopped("m", 42), Position(UUID_A, 42)),
        (crashed("m", 57), Position(UUID_A, 57)),
        (crashed("m", None), None),
        (
            MemberReport("m", grastate=state(-1), recovered=Position(UUID_A, -1)),
            None,
        ),
        (
            MemberReport("m", grastate=state(42), recovered=Position(UUID_A, 99)),
            Position(UUID_A, 42),
        ),
        (
            MemberReport("m", grastate=state(-1, uuid=UUID_A), recovered=Position(UUID_B, 5)),
            Position(UUID_B, 5),
        ),
        (running("m", 70), Position(UUID_A, 70)),
        (
            MemberReport("m", running=True, grastate=state(42), live_position=Position(UUID_A, 70)),
            Position(UUID_A, 70),
        ),
        (
            MemberReport("m", running=True, grastate=state(42), live_position=Position(UUID_A, -1)),
            Position(UUID_A, 42),
        ),
        (joiner("m", 21), Position(UUID_A, 21)),
        (failed("m"), None),
        (blank("m"), None),
        (blank("m", zero_uuid=True), None),
        (MemberReport("m", grastate=state(100, uuid=ZERO_UUID)), None),
    ],
    ids=[
        "valid-grastate-seqno",
        "recovered-when-grastate-is-minus-one",
        "crashed-and-not-recovered-has-none",
        "recovered-minus-one-is-not-a-position",
        "valid-grastate-wins-over-recovered",
        "recovered-uuid-is-used-as-is",
        "live-for-a-running-member",
        "live-wins-over-valid-grastate",
        "unknown-live-falls-back-to-grastate",
        "joiner-holds-its-start-position",
        "error-means-no-position",
        "no-grastate-means-no-position",
        "zero-uuid-means-no-position",
        "zero-uuid-with-a-seqno-means-no-position",
    ],
)
def test_member_position_comes_from_live_then_grastate_then_recovered(
    report: MemberReport, expected: Position | None
) -> None:
    assert report.position == expected


@pytest.mark.parametrize(
    ("report", "empty"),
    [
        (blank("m"), True),
        (blank("m", zero_uuid=True), True),
        (stopped("m"), False),
        (crashed("m", None), False),
        (MemberReport("m", error="agent unreachable"), False),
        (
            MemberReport("m", running=True, live_position=Position(ZERO_UUID, -1)),
            True,
        ),
        (running("m"), False),
    ],
    ids=[
        "no-grastate",
        "zero-uuid-grastate",
        "valid-grastate",
        "crashed-unrecovered-is-not-empty",
        "error-is-never-empty",
        "running-with-zero-live-uuid",
        "running-with-live-position",
    ],
)
def test_member_is_empty_only_when_it_never_held_data(report: MemberReport, empty: bool) -> None:
    assert report.empty is empty


def test_describe_names_the_member_and_its_position() -> None:
    assert stopped("galera-0", 42).describe() == f"galera-0 ({UUID_A}:42)"
    assert failed("galera-1").describe() == "galera-1"


# --- The most advanced member -------------------------------------------------------------


@pytest.mark.parametrize(
    ("reports", "member", "seqno"),
    [
        (
            [stopped("galera-0", 10), stopped("galera-1", 30), stopped("galera-2", 20)],
            "galera-1",
            30,
        ),
        (
            [stopped("galera-0", 10), crashed("galera-1", 31), stopped("galera-2", 30)],
            "galera-1",
            31,
        ),
        ([crashed("galera-0", 5), crashed("galera-1", 9), crashed("galera-2", 7)], "galera-1", 9),
        ([stopped("galera-0", 50), running("galera-1", 51)], "galera-1", 51),
        ([running("galera-0", 40), stopped("galera-1", 41)], "galera-1", 41),
        ([stopped("galera-0", 0)], "galera-0", 0),
        ([stopped("galera-0", 3), stopped("galera-1", 10**12)], "galera-1", 10**12),
    ],
    ids=[
        "highest-grastate-seqno",
        "recovered-seqno-beats-lower-grastate",
        "all-crashed-highest-recovered",
        "running-member-live-position",
        "stopped-member-ahead-of-running",
        "single-member-at-seqno-zero",
        "very-large-seqno",
    ],
)
def test_bootstraps_the_member_with_the_highest_seqno(
    reports: list[MemberReport], member: str, seqno: int
) -> None:
    plan = plan_bootstrap(reports)
    assert plan.action is Action.BOOTSTRAP
    assert plan.bootstrap
    assert plan.member == member
    assert plan.position == Position(UUID_A, seqno)
    assert plan.forced is False
    assert f"{member} has the highest seqno {seqno} of uuid {UUID_A}" in plan.reason
    assert plan.reason.endswith(f"bootstrapping {member}")


def test_a_joiner_left_behind_is_not_missing_and_the_most_advanced_is_chosen() -> None:
    """Members stopped one after another while the first one was rejoining: the joiner waits
    for a donor that has gone; it holds its start position, the last to leave is ahead."""
    plan = plan_bootstrap(
        [joiner("galera-0", 21), stopped("galera-1", 22), stopped("galera-2", 24)]
    )
    assert plan.action is Action.BOOTSTRAP
    assert plan.member == "galera-2"
    assert plan.missing == ()
    assert "galera-0 waits for a donor that has gone" in plan.reason


def test_a_stopped_member_wins_a_tie_with_a_running_one() -> None:
    """A member left half-joined may ignore pc.bootstrap; a stopped one starts cleanly."""
    plan = plan_bootstrap(
        [running("galera-0", 24), stopped("galera-1", 22), stopped("galera-2", 24)]
    )
    assert plan.member == "galera-2"
    assert "(tied with galera-0; it is stopped and starts cleanly in bootstrap mode)" in (
        plan.reason
    )


def test_a_joiner_ahead_of_everyone_is_the_one_bootstrapped() -> None:
    """Its data never changed since it started: it is at its start position, the highest."""
    plan = plan_bootstrap([joiner("galera-0", 30), stopped("galera-1", 22)])
    assert plan.action is Action.BOOTSTRAP
    assert plan.member == "galera-0"
    assert plan.position == Position(UUID_A, 30)
    assert "galera-0 waits for a donor that has gone (nothing received): stopped first" in (
        plan.reason
    )


def test_a_clean_plan_reports_one_history_and_nothing_missing() -> None:
    plan = plan_bootstrap([stopped("galera-0", 10), stopped("galera-1", 12)])
    assert plan.histories == ((UUID_A, ("galera-0", "galera-1")),)
    assert (plan.primary, plan.missing, plan.empty) == ((), (), ())
    assert "tied" not in plan.reason


# --- Tie-break ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reports", "member", "tied", "why"),
    [
        (
            [stopped("galera-0", 10), stopped("galera-1", 10, safe=True)],
            "galera-1",
            "galera-0",
            "it is marked safe_to_bootstrap",
        ),
        (
            [stopped("galera-0", 10), stopped("galera-1", 10)],
            "galera-0",
            "galera-1",
            "it is listed first",
        ),
        (
            [stopped("galera-2", 10), stopped("galera-0", 10)],
            "galera-2",
            "galera-0",
            "it is listed first",
        ),
        (
            [stopped("galera-0", 10), stopped("galera-1", 10), stopped("galera-2", 10, safe=True)],
            "galera-2",
            "galera-0, galera-1",
            "it is marked safe_to_bootstrap",
        ),
        (
            [crashed("galera-0", 10), stopped("galera-1", 10)],
            "galera-0",
            "galera-1",
            "it is listed first",
        ),
    ],
    ids=[
        "safe-to-bootstrap-wins",
        "else-listed-first",
        "listing-order-not-name-order",
        "safe-wins-over-two",
        "recovered-and-grastate-tie",
    ],
)
def test_tie_at_the_highest_seqno_is_broken_deterministically(
    reports: list[MemberReport], member: str, tied: str, why: str
) -> None:
    plan = plan_bootstrap(reports)
    assert plan.bootstrap
    assert plan.member == member
    assert f"(tied with {tied}; {why})" in plan.reason


def test_safe_to_bootstrap_never_beats_a_higher_seqno() -> None:
    plan = plan_bootstrap([stopped("galera-0", 9, safe=True), stopped("galera-1", 10)])
    assert plan.member == "galera-1"
    assert "tied" not in plan.reason


def test_rank_orders_by_seqno_then_safe_flag_then_listing_and_drops_unknowns() -> None:
    reports = [
        stopped("a", 5),
        failed("b"),
        stopped("c", 7),
        stopped("d", 7, safe=True),
        blank("e"),
        crashed("f", None),
        stopped("g", 7),
    ]
    assert [r.name for r in rank(reports)] == ["d", "c", "g", "a"]


def test_rank_of_no_reports_is_empty() -> None:
    assert rank([]) == []


# --- Primary: never bootstrap a running cluster -------------------------------------------


@pytest.mark.parametrize(
    ("reports", "options", "primary", "phrase"),
    [
        (
            [running("galera-0", 10, primary=True), stopped("galera-1", 20)],
            {},
            ("galera-0",),
            "galera-0 is Primary",
        ),
        (
            [
                running("galera-0", 10, primary=True),
                running("galera-1", 10, primary=True),
                stopped("galera-2", 20),
            ],
            {},
            ("galera-0", "galera-1"),
            "galera-0, galera-1 are Primary",
        ),
        (
            [stopped("galera-0", 20), running("galera-1", 10, primary=True), failed("galera-2")],
            {"allow_missing": ("galera-2",)},
            ("galera-1",),
            "galera-1 is Primary",
        ),
        (
            [stopped("galera-0", 20), running("galera-1", 10, primary=True)],
            {"force_member": "galera-0"},
            ("galera-1",),
            "galera-1 is Primary",
        ),
        (
            [MemberReport("galera-0", primary=True, error="sql timeout"), stopped("galera-1")],
            {},
            ("galera-0",),
            "galera-0 is Primary",
        ),
    ],
    ids=["one-primary", "two-primary", "despite-allow-missing", "despite-force", "with-error"],
)
def test_refuses_while_any_member_is_primary(
    reports: list[MemberReport], options: dict[str, object], primary: tuple[str, ...], phrase: str
) -> None:
    plan = plan_bootstrap(reports, **options)  # type: ignore[arg-type]
    assert plan.action is Action.REFUSE
    assert not plan.bootstrap
    assert plan.member is None
    assert plan.position is None
    assert plan.primary == primary
    assert phrase in plan.reason
    assert "galeractl rejoin" in plan.reason


# --- Missing positions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reports", "missing", "details"),
    [
        (
            [stopped("galera-0", 10), stopped("galera-1", 10), failed("galera-2", "agent down")],
            ("galera-2",),
            "galera-2: agent down",
        ),
        (
            [stopped("galera-0", 10), crashed("galera-1", None), stopped("galera-2", 9)],
            ("galera-1",),
            "galera-1: no position",
        ),
        (
            [failed("galera-0", "corrupt grastate.dat"), crashed("galera-1", None), stopped("x")],
            ("galera-0", "galera-1"),
            "galera-0: corrupt grastate.dat; galera-1: no position",
        ),
        (
            [crashed("galera-0", None), crashed("galera-1", None), crashed("galera-2", None)],
            ("galera-0", "galera-1", "galera-2"),
            "galera-2: no position",
        ),
        (
            [
                MemberReport(
                    "galera-0", running=True, grastate=state(-1), live_position=Position(UUID_A, -1)
                ),
                stopped("galera-1"),
            ],
            ("galera-0",),
            "galera-0: no position",
        ),
    ],
    ids=["error", "unrecovered-crash", "two-missing", "all-missing", "running-unknown-live"],
)
def test_refuses_when_a_member_has_no_position(
    reports: list[MemberReport], missing: tuple[str, ...], details: str
) -> None:
    plan = plan_bootstrap(reports)
    assert plan.action is Action.REFUSE
    assert plan.member is None
    assert plan.missing == missing
    assert f"{len(missing)} member(s) reported no position" in plan.reason
    assert details in plan.reason
    for r in reports:
        if r.name in missing:  # offered by name, and never for a running member
            assert (f"--allow-missing {r.name}" in plan.reason) is not r.running


def test_allow_missing_of_some_still_refuses_naming_the_others() -> None:
    reports = [stopped("galera-0", 10), failed("galera-1"), crashed("galera-2", None)]
    plan = plan_bootstrap(reports, allow_missing=("galera-1",))
    assert plan.action is Action.REFUSE
    assert "1 member(s) reported no position (galera-2: no position)" in plan.reason
    assert "--allow-missing galera-2" in plan.reason


def test_a_running_member_is_never_skipped() -> None:
    """Its SQL read failed (too many connections, a slow socket): it may be the Primary."""
    live = MemberReport("galera-0", running=True, error="cannot reach SQL at 10.0.0.1:3306")
    reports = [live, stopped("galera-1", 10), stopped("galera-2", 9)]
    refused = plan_bootstrap(reports)
    assert refused.action is Action.REFUSE
    assert "--allow-missing galera-0" not in refused.reason
    assert "galera-0 runs: a running member is never skipped" in refused.reason
    plan = plan_bootstrap(reports, allow_missing=("galera-0",))
    assert plan.action is Action.REFUSE
    assert plan.reason.startswith("--allow-missing galera-0: its server is running")


def test_allow_missing_of_an_unknown_member_refuses_naming_it() -> None:
    plan = plan_bootstrap([stopped("galera-0"), failed("galera-1")], allow_missing=("galera-9",))
    assert plan.action is Action.REFUSE
    assert plan.reason == "--allow-missing 'galera-9' is not a member (galera-0, galera-1)"


def test_allow_missing_goes_ahead_without_the_named_members() -> None:
    reports = [failed("galera-0"), stopped("galera-1", 10), crashed("galera-2", None)]
    plan = plan_bootstrap(reports, allow_missing=("galera-0", "galera-2"))
    assert plan.bootstrap
    assert plan.member == "galera-1"
    assert plan.missing == ("galera-0", "galera-2")
    assert plan.forced is False
    assert "going ahead without galera-0, galera-2 as allowed (--allow-missing)" in plan.reason


def test_allow_missing_is_not_mentioned_when_nothing_is_missing() -> None:
    plan = plan_bootstrap([stopped("galera-0"), stopped("galera-1")], allow_missing=())
    assert plan.bootstrap
    assert "going ahead without" not in plan.reason


# --- Empty members ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "empty_member",
    [blank("galera-2"), blank("galera-2", zero_uuid=True)],
    ids=["no-grastate", "zero-uuid"],
)
def test_empty_member_is_never_a_candidate_and_is_listed(empty_member: MemberReport) -> None:
    plan = plan_bootstrap([stopped("galera-0", 10), stopped("galera-1", 12), empty_member])
    assert plan.bootstrap
    assert plan.member == "galera-1"
    assert plan.empty == ("galera-2",)
    assert plan.missing == ()
    assert "galera-2 hold no data and will receive a full SST" in plan.reason


def test_zero_uuid_member_with_a_high_seqno_is_not_a_candidate() -> None:
    reports = [MemberReport("galera-0", grastate=state(10**6, uuid=ZERO_UUID)), stopped("g1", 1)]
    plan = plan_bootstrap(reports)
    assert plan.member == "g1"
    assert plan.empty == ("galera-0",)


@pytest.mark.parametrize(
    "reports",
    [
        [blank("galera-0"), blank("galera-1"), blank("galera-2")],
        [blank("galera-0", zero_uuid=True), blank("galera-1")],
        [blank("galera-0")],
    ],
    ids=["three-without-grastate", "mixed-empty", "single"],
)
def test_all_empty_refuses_with_no_candidate(reports: list[MemberReport]) -> None:
    plan = plan_bootstrap(reports)
    assert plan.action is Action.REFUSE
    assert plan.member is None
    assert plan.reason.startswith(
        "no candidate to bootstrap: every member has an empty data directory"
    )
    assert "--initialize" in plan.reason
    assert plan.empty == tuple(r.name for r in reports)
    assert plan.histories == ()


@pytest.mark.parametrize(
    "reports",
    [
        [blank("galera-0"), blank("galera-1"), blank("galera-2")],
        [blank("galera-0", zero_uuid=True), blank("galera-1")],
        [blank("galera-0")],
    ],
    ids=["three-without-grastate", "mixed-empty", "single"],
)
def test_brand_new_cluster_is_initialised_on_the_first_member(
    reports: list[MemberReport],
) -> None:
    plan = plan_bootstrap(reports, initialize=True)
    assert plan.action is Action.INITIALIZE
    assert plan.bootstrap and plan.initialize
    assert plan.member == "galera-0"
    assert plan.position is None
    assert "brand-new cluster" in plan.reason


@pytest.mark.parametrize(
    "reports",
    [
        [blank("galera-0"), stopped("galera-1", 5)],
        [blank("galera-0"), MemberReport("galera-1", error="agent unreachable")],
        [blank("galera-0"), MemberReport("galera-1", running=True, primary=True)],
    ],
    ids=["one-member-has-data", "one-member-unreachable", "one-member-primary"],
)
def test_initialize_never_applies_unless_every_member_is_empty(
    reports: list[MemberReport],
) -> None:
    plan = plan_bootstrap(reports, initialize=True)
    assert plan.action is not Action.INITIALIZE


def test_no_members_refuses_with_no_candidate() -> None:
    plan = plan_bootstrap([])
    assert plan.action is Action.REFUSE
    assert plan.reason == "no candidate to bootstrap: no member has a position"


def test_all_missing_but_allowed_refuses_with_no_candidate() -> None:
    plan = plan_bootstrap(
        [failed("galera-0"), crashed("galera-1", None)], allow_missing=("galera-0", "galera-1")
    )
    assert plan.action is Action.REFUSE
    assert plan.reason == "no candidate to bootstrap: no member has a position"
    assert plan.missing == ("galera-0", "galera-1")


def test_no_candidate_reason_does_not_call_a_missing_member_empty() -> None:
    plan = plan_bootstrap([blank("galera-0"), failed("galera-1")], allow_missing=("galera-1",))
    assert plan.action is Action.REFUSE
    assert "every member has an empty data directory" not in plan.reason


# --- Different histories ------------------------------------------------------------------


def test_different_histories_refuse_and_list_both_groups() -> None:
    reports = [
        stopped("galera-0", 10, uuid=UUID_A),
        stopped("galera-1", 500, uuid=UUID_B),
        crashed("galera-2", 11, uuid=UUID_A),
    ]
    plan = plan_bootstrap(reports)
    assert plan.action is Action.REFUSE
    assert plan.member is None
    assert "2 different cluster histories" in plan.reason
    assert f"{UUID_A}: galera-0, galera-2" in plan.reason
    assert f"{UUID_B}: galera-1" in plan.reason
    assert "--force-member" in plan.reason
    assert plan.histories == ((UUID_A, ("galera-0", "galera-2")), (UUID_B, ("galera-1",)))
    assert plan.as_dict()["histories"] == {UUID_A: ["galera-0", "galera-2"], UUID_B: ["galera-1"]}


def test_empty_and_missing_members_do_not_count_as_a_history() -> None:
    reports = [stopped("galera-0", 10), blank("galera-1", zero_uuid=True), failed("galera-2")]
    plan = plan_bootstrap(reports, allow_missing=("galera-2",))
    assert plan.bootstrap
    assert plan.histories == ((UUID_A, ("galera-0",)),)


# --- force_member -------------------------------------------------------------------------


def test_force_of_an_unknown_member_refuses_naming_it() -> None:
    plan = plan_bootstrap([stopped("galera-0"), stopped("galera-1")], force_member="galera-9")
    assert plan.action is Action.REFUSE
    assert plan.member is None
    assert plan.reason == "--force-member 'galera-9' is not a member (galera-0, galera-1)"


@pytest.mark.parametrize(
    ("forced", "why"),
    [
        (failed("galera-1", "agent unreachable"), "(agent unreachable)"),
        (crashed("galera-1", None), "(unknown)"),
        (blank("galera-1"), "(empty data directory)"),
        (blank("galera-1", zero_uuid=True), "(empty data directory)"),
    ],
    ids=["error", "unrecovered", "no-grastate", "zero-uuid"],
)
def test_force_of_a_member_without_position_refuses(forced: MemberReport, why: str) -> None:
    plan = plan_bootstrap([stopped("galera-0", 10), forced], force_member="galera-1")
    assert plan.action is Action.REFUSE
    assert plan.member is None
    assert plan.forced is False
    assert plan.reason.startswith("--force-member galera-1: it has no position")
    assert why in plan.reason


def test_force_of_a_less_advanced_member_bootstraps_it_and_warns_of_lost_writes() -> None:
    reports = [stopped("galera-0", 20), stopped("galera-1", 10), stopped("galera-2", 15)]
    plan = plan_bootstrap(reports, force_member="galera-1")
    assert plan.bootstrap
    assert plan.forced is True
    assert plan.member == "galera-1"
    assert plan.position == Position(UUID_A, 10)
    assert plan.reason.startswith(f"forced by the operator: bootstrapping galera-1 ({UUID_A}:10)")
    assert f"galera-0 ({UUID_A}:20) is more advanced: its extra writes will be lost" in (
        plan.reason
    )


def test_force_of_the_most_advanced_member_warns_of_nothing() -> None:
    plan = plan_bootstrap(
        [stopped("galera-0", 20), stopped("galera-1", 10)], force_member="galera-0"
    )
    assert plan.bootstrap
    assert plan.forced is True
    assert plan.member == "galera-0"
    assert "will be lost" not in plan.reason


def test_force_works_across_different_histories() -> None:
    reports = [stopped("galera-0", 10, uuid=UUID_A), stopped("galera-1", 7, uuid=UUID_B)]
    assert plan_bootstrap(reports).action is Action.REFUSE
    plan = plan_bootstrap(reports, force_member="galera-1")
    assert plan.bootstrap
    assert plan.forced is True
    assert plan.member == "galera-1"
    assert plan.position == Position(UUID_B, 7)
    assert plan.histories == ((UUID_A, ("galera-0",)), (UUID_B, ("galera-1",)))


def test_force_goes_ahead_without_members_that_are_missing() -> None:
    plan = plan_bootstrap([stopped("galera-0", 10), failed("galera-1")], force_member="galera-0")
    assert plan.bootstrap
    assert plan.forced is True
    assert plan.missing == ("galera-1",)


def test_force_of_a_member_tied_at_the_highest_seqno_warns_of_nothing() -> None:
    plan = plan_bootstrap(
        [stopped("galera-0", 20), stopped("galera-1", 20)], force_member="galera-1"
    )
    assert plan.member == "galera-1"
    assert "will be lost" not in plan.reason


# --- as_dict ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reports", "options", "action", "member", "position"),
    [
        ([stopped("galera-0", 10), stopped("galera-1", 12)], {}, "bootstrap", "galera-1", 12),
        ([running("galera-0", primary=True)], {}, "refuse", None, None),
        ([stopped("a", 10, uuid=UUID_A), stopped("b", 11, uuid=UUID_B)], {}, "refuse", None, None),
        ([stopped("a", 10), failed("b")], {"allow_missing": ("b",)}, "bootstrap", "a", 10),
        ([stopped("a", 10), stopped("b", 12)], {"force_member": "a"}, "bootstrap", "a", 10),
        ([blank("a")], {}, "refuse", None, None),
    ],
    ids=["bootstrap", "primary", "histories", "allow-missing", "forced", "empty"],
)
def test_as_dict_is_json_serialisable_with_the_decision(
    reports: list[MemberReport],
    options: dict[str, object],
    action: str,
    member: str | None,
    position: int | None,
) -> None:
    plan = plan_bootstrap(reports, **options)  # type: ignore[arg-type]
    data = json.loads(json.dumps(plan.as_dict()))
    assert data["action"] == action
    assert data["member"] == member
    assert data["position"] == (None if position is None else f"{UUID_A}:{position}")
    assert data["reason"] == plan.reason
    assert data["forced"] is plan.forced
    assert data["primary"] == list(plan.primary)
    assert data["missing"] == list(plan.missing)
    assert data["empty"] == list(plan.empty)


# --- Properties ---------------------------------------------------------------------------

seqnos = st.integers(min_value=0, max_value=2**63 - 1)
sources = st.sampled_from(["grastate", "recovered", "live"])


def known_member(name: str, seqno: int, safe: bool, source: str) -> MemberReport:
    if source == "grastate":
        return stopped(name, seqno, safe=safe)
    if source == "recovered":
        return crashed(name, seqno, safe=safe)
    return MemberReport(
        name,
        running=True,
        grastate=state(-1, safe=safe),
        live_position=Position(UUID_A, seqno),
    )


@given(st.lists(st.tuples(seqnos, st.booleans(), sources), min_size=1, max_size=7))
def test_one_history_always_bootstraps_a_member_at_the_max_seqno(
    members: list[tuple[int, bool, str]],
) -> None:
    reports = [known_member(f"m{i}", *m) for i, m in enumerate(members)]
    plan = plan_bootstrap(reports)
    top = max(seqno for seqno, _, _ in members)
    assert plan.bootstrap
    chosen = next(r for r in reports if r.name == plan.member)
    assert plan.position == chosen.position == Position(UUID_A, top)
    at_top = [r for r in reports if r.position == plan.position]
    if any(r.safe_to_bootstrap for r in at_top):
        assert chosen.safe_to_bootstrap
    assert plan_bootstrap(list(reports)) == plan
    assert rank(reports)[0].name == plan.member


def any_member(name: str, kind: str, seqno: int) -> MemberReport:
    return {
        "stopped": lambda: stopped(name, seqno),
        "crashed": lambda: crashed(name, seqno),
        "unrecovered": lambda: crashed(name, None),
        "failed": lambda: failed(name),
        "blank": lambda: blank(name),
        "other-history": lambda: stopped(name, seqno, uuid=UUID_B),
        "running": lambda: running(name, seqno),
        "primary": lambda: running(name, seqno, primary=True),
    }[kind]()


kinds = st.sampled_from(
    ["stopped", "crashed", "unrecovered", "failed", "blank", "other-history", "running", "primary"]
)


@given(
    members=st.lists(st.tuples(kinds, seqnos), min_size=0, max_size=6),
    primary_at=st.integers(min_value=0, max_value=6),
    allow_missing=st.integers(min_value=0, max_value=7),
    force=st.one_of(st.none(), st.integers(min_value=0, max_value=7)),
)
def test_never_bootstraps_while_any_member_is_primary(
    members: list[tuple[str, int]], primary_at: int, allow_missing: int, force: int | None
) -> None:
    members.insert(min(primary_at, len(members)), ("primary", 1))
    reports = [any_member(f"m{i}", kind, seqno) for i, (kind, seqno) in enumerate(members)]
    force_member = None if force is None else f"m{force}"
    allowed = tuple(r.name for r in reports[:allow_missing])
    plan = plan_bootstrap(reports, allow_missing=allowed, force_member=force_member)
    assert plan.action is Action.REFUSE
    assert plan.member is None
    assert plan.forced is False


# --- Resuming an interrupted bootstrap, and how the chosen member starts --------------------


@pytest.mark.parametrize(
    ("in_flight", "chosen", "dry_run", "waited", "expected"),
    [
        pytest.param(False, None, False, False, Resume.PLAN, id="nothing-in-flight"),
        pytest.param(True, None, False, False, Resume.PLAN, id="member-no-longer-in-cluster"),
        pytest.param(
            True, running("galera-1", primary=True), False, False, Resume.FINISH, id="formed"
        ),
        pytest.param(
            True, running("galera-1", primary=True), True, False, Resume.PLAN, id="dry-run"
        ),
        pytest.param(True, running("galera-1"), False, False, Resume.WAIT, id="still-starting"),
        pytest.param(
            True, running("galera-1"), False, True, Resume.PLAN, id="never-reached-primary"
        ),
        pytest.param(True, crashed("galera-1"), False, False, Resume.PLAN, id="it-crashed"),
        pytest.param(True, stopped("galera-1"), False, False, Resume.PLAN, id="it-stopped"),
        pytest.param(True, failed("galera-1"), False, False, Resume.PLAN, id="agent-unreachable"),
    ],
)
def test_resume_never_bootstraps_a_formed_cluster_again(
    in_flight: bool, chosen: MemberReport | None, dry_run: bool, waited: bool, expected: Resume
) -> None:
    step = resume(in_flight, chosen, dry_run, waited)
    assert step.action is expected
    assert step.reason
    if expected is Resume.FINISH:
        assert step.member == "galera-1"
        assert "finishing" in step.reason


@pytest.mark.parametrize(
    ("chosen", "initialize", "expected"),
    [
        pytest.param(stopped("galera-0"), False, Start.BOOTSTRAP, id="stopped"),
        pytest.param(crashed("galera-0"), False, Start.BOOTSTRAP, id="crashed"),
        pytest.param(running("galera-0"), False, Start.IN_PLACE, id="running-non-primary"),
        pytest.param(joiner("galera-0"), False, Start.BOOTSTRAP, id="joiner-received-nothing"),
        pytest.param(blank("galera-0"), True, Start.INITIALIZE, id="initialize"),
    ],
)
def test_start_path(chosen: MemberReport, initialize: bool, expected: Start) -> None:
    plan = plan_bootstrap(
        [chosen, stopped("galera-1", 5)] if not initialize else [chosen, blank("galera-1")],
        initialize=initialize,
    )
    assert plan.bootstrap, plan.reason
    assert start_path(plan, chosen) is expected
