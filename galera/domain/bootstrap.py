"""The bootstrap decision after a full outage: which member, if any, may form a new cluster.

Pure: it takes what every expected member reported (process, ``grastate.dat``, recovered
position, whether it is Primary) and returns a :class:`BootstrapPlan` whose ``reason`` is the
sentence the CLI prints and the log records. The safety invariants it enforces:

1. never while any member is Primary (the stopped ones must *rejoin* instead);
2. only the most advanced member of one history: highest seqno among members sharing one
   cluster state UUID; seqno from ``grastate.dat`` when valid, else from ``--wsrep-recover``;
3. missing positions or different histories stop the decision unless a person explicitly
   allows it (``allow_missing``, ``force_member``), and the plan says so.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from galera.domain.grastate import Grastate
from galera.domain.position import Position


@dataclass(frozen=True)
class MemberReport:
    """What one expected member reported for a bootstrap decision.

    ``error`` is set when the member could not report at all (agent unreachable, corrupt
    ``grastate.dat``, recovery failed); such a member has no position. ``joining_from`` is
    set for a server running in join mode that has applied nothing since it started (it
    waits for a state transfer): its data is still at that position. ``stalled`` marks a
    server running in join mode that began receiving a state transfer and has no position
    while it runs (its donor left with the Primary component): stopped, it has one again.
    """

    name: str
    running: bool = False
    primary: bool = False
    grastate: Grastate | None = None
    recovered: Position | None = None
    live_position: Position | None = None
    error: str | None = None
    joining_from: Position | None = None
    stalled: bool = False

    @property
    def empty(self) -> bool:
        """Never held data of any history: no ``grastate.dat`` or the zero UUID."""
        if self.error is not None:
            return False
        if self.joining_from is not None:
            return self.joining_from.empty
        if self.live_position is not None:
            return self.live_position.empty
        return self.grastate is None or self.grastate.empty

    @property
    def position(self) -> Position | None:
        """The committed position: live (running member), grastate if valid, else recovered."""
        if self.error is not None or self.empty:
            return None
        if self.live_position is not None and self.live_position.known:
            return self.live_position
        if self.running and self.joining_from is not None:
            return self.joining_from
        if self.grastate is not None and not self.grastate.needs_recovery:
            return self.grastate.position
        if self.recovered is not None and self.recovered.known:
            return self.recovered
        return None

    @property
    def safe_to_bootstrap(self) -> bool:
        return self.grastate is not None and self.grastate.safe_to_bootstrap

    def describe(self) -> str:
        position = self.position
        return f"{self.name} ({position})" if position else self.name


class Action(str, enum.Enum):
    BOOTSTRAP = "bootstrap"
    INITIALIZE = "initialize"
    REFUSE = "refuse"


@dataclass(frozen=True)
class BootstrapPlan:
    """The decision and why. ``member`` is set only when ``action`` is ``bootstrap``."""

    action: Action
    reason: str
    member: str | None = None
    position: Position | None = None
    primary: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    empty: tuple[str, ...] = ()
    histories: tuple[tuple[str, tuple[str, ...]], ...] = ()
    forced: bool = False

    @property
    def bootstrap(self) -> bool:
        """True for any plan that forms a new Primary component (bootstrap or initialize)."""
        return self.action in (Action.BOOTSTRAP, Action.INITIALIZE)

    @property
    def initialize(self) -> bool:
        return self.action is Action.INITIALIZE

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.action.value,
            "member": self.member,
            "position": str(self.position) if self.position else None,
            "reason": self.reason,
            "primary": list(self.primary),
            "missing": list(self.missing),
            "empty": list(self.empty),
            "histories": {uuid: list(names) for uuid, names in self.histories},
            "forced": self.forced,
        }


def _refuse(reason: str, **fields: object) -> BootstrapPlan:
    return BootstrapPlan(Action.REFUSE, reason, **fields)  # type: ignore[arg-type]


def rank(reports: Sequence[MemberReport]) -> list[MemberReport]:
    """Candidates, best first: highest seqno, then ``safe_to_bootstrap``, then stopped
    before running, then file order.

    The tie-break is deterministic: among members at the same seqno the one Galera marked
    ``safe_to_bootstrap`` (it left the cluster last) wins, then one that is stopped (it
    starts cleanly in bootstrap mode, where a running one may ignore ``pc.bootstrap``),
    then the one listed first.
    """
    order = {r.name: i for i, r in enumerate(reports)}
    candidates = [r for r in reports if r.position is not None]
    return sorted(
        candidates,
        key=lambda r: (
            -r.position.seqno,  # type: ignore[union-attr]
            not r.safe_to_bootstrap,
            r.running,
            order[r.name],
        ),
    )


def _missing_refusal(
    missing: Sequence[MemberReport], allowed: Collection[str], names: Sequence[str]
) -> str | None:
    """Why the members without a position stop the decision, or None when a person named
    every one of them (``--allow-missing NAME``). A member whose server runs is never
    skipped: its SQL read may have failed for a passing reason (too many connections, a slow
    socket) and it may be the Primary."""
    unknown = sorted(set(allowed) - set(names))
    if unknown:
        return f"--allow-missing {unknown[0]!r} is not a member ({', '.join(names)})"
    for r in missing:
        if r.name in allowed and r.running:
            return (
                f"--allow-missing {r.name}: its server is running (its agent says so), so it "
                "may be the Primary; a running member is never skipped. Let it report its "
                "position, or stop it first"
            )
    left = [r for r in missing if r.name not in allowed]
    if not left:
        return None
    details = "; ".join(f"{r.name}: {r.error or 'no position'}" for r in left)
    reason = (
        f"{len(left)} member(s) reported no position ({details}); a more advanced member "
        "may be among them. Bring them back"
    )
    skippable = [r.name for r in left if not r.running]
    if skippable:
        flags = " ".join(f"--allow-missing {n}" for n in skippable)
        reason += f", or accept the risk with {flags}"
    running = [r.name for r in left if r.running]
    if running:
        reason += f" ({', '.join(running)} runs: a running member is never skipped)"
    return reason


def plan_bootstrap(
    reports: Sequence[MemberReport],
    allow_missing: Collection[str] = (),
    force_member: str | None = None,
    initialize: bool = False,
) -> BootstrapPlan:
    """Decide whether and whom to bootstrap from every expected member's report.

    When every member reported an empty data directory the cluster is brand new: with
    ``initialize`` the first member forms it (nothing can be lost), otherwise the plan
    refuses: empty data directories where data was expected need a person's eyes.
    """
    names = [r.name for r in reports]
    if force_member is not None and force_member not in names:
        return _refuse(f"--force-member {force_member!r} is not a member ({', '.join(names)})")

    primary = tuple(r.name for r in reports if r.primary)
    if primary:
        return _refuse(
            f"{', '.join(primary)} {'is' if len(primary) == 1 else 'are'} Primary: the cluster "
            "is running, so nothing may be bootstrapped; start the stopped members with "
            "'galeractl rejoin' instead",
            primary=primary,
        )

    empty = tuple(r.name for r in reports if r.empty)
    missing_reports = [r for r in reports if not r.empty and r.position is None]
    missing = tuple(r.name for r in missing_reports)

    groups: dict[str, list[str]] = {}
    for r in reports:
        if r.position is not None:
            groups.setdefault(r.position.uuid, []).append(r.name)
    histories = tuple((uuid, tuple(members)) for uuid, members in groups.items())
    common = {"missing": missing, "empty": empty, "histories": histories}

    if force_member is not None:
        forced = next(r for r in reports if r.name == force_member)
        if forced.position is None:
            return _refuse(
                f"--force-member {force_member}: it has no position "
                f"({forced.error or ('empty data directory' if forced.empty else 'unknown')})",
                **common,
            )
        note = ""
        for other in rank(reports):
            if other.position is None or other.name == forced.name:
                continue
            if other.position.uuid != forced.position.uuid:
                note += f"; {other.name} holds another history and will be overwritten"
            elif other.position.seqno > forced.position.seqno:
                note += f"; {other.describe()} is more advanced: its extra writes will be lost"
        return BootstrapPlan(
            Action.BOOTSTRAP,
            f"forced by the operator: bootstrapping {forced.describe()}{note}",
            member=forced.name,
            position=forced.position,
            forced=True,
            **common,  # type: ignore[arg-type]
        )

    refusal = _missing_refusal(missing_reports, allow_missing, names)
    if refusal is not None:
        return _refuse(refusal, **common)
    if len(groups) > 1:
        listed = "; ".join(f"{uuid}: {', '.join(m)}" for uuid, m in groups.items())
        return _refuse(
            f"members belong to {len(groups)} different cluster histories ({listed}); "
            "pick one with --force-member after checking which holds the data you want",
            **common,
        )
    ranked = rank(reports)
    all_empty = bool(reports) and len(empty) == len(reports)
    if all_empty and initialize:
        first = reports[0].name
        return BootstrapPlan(
            Action.INITIALIZE,
            f"every member has an empty data directory: a brand-new cluster; "
            f"initialising it on {first}, the others join by SST",
            member=first,
            **common,  # type: ignore[arg-type]
        )
    if not ranked:
        why = (
            "every member has an empty data directory (a brand-new cluster: "
            "pass --initialize to create it)"
            if all_empty
            else "no member has a position"
        )
        return _refuse(f"no candidate to bootstrap: {why}", **common)
    best = ranked[0]
    reason = f"{best.name} has the highest seqno {best.position.seqno} of uuid {best.position.uuid}"  # type: ignore[union-attr]
    ties = [r.name for r in ranked[1:] if r.position == best.position]
    if ties:
        tied_safe = [r for r in ranked if r.position == best.position and r.safe_to_bootstrap]
        only_safe = best.safe_to_bootstrap and len(tied_safe) == 1
        tied = [r for r in ranked if r.position == best.position]
        if only_safe:
            why = "it is marked safe_to_bootstrap"
        elif not best.running and any(r.running for r in tied):
            why = "it is stopped and starts cleanly in bootstrap mode"
        else:
            why = "it is listed first"
        reason += f" (tied with {', '.join(ties)}; {why})"
    if missing:
        reason += f"; going ahead without {', '.join(missing)} as allowed (--allow-missing)"
    if empty:
        reason += f"; {', '.join(empty)} hold no data and will receive a full SST"
    waiting = [r.name for r in reports if r.running and r.joining_from is not None]
    if waiting:
        reason += (
            f"; {', '.join(waiting)} {'waits' if len(waiting) == 1 else 'wait'} for a donor "
            "that has gone (nothing received): stopped first, it would clash with the new "
            "Primary component"
        )
    return BootstrapPlan(
        Action.BOOTSTRAP,
        reason + f"; bootstrapping {best.name}",
        member=best.name,
        position=best.position,
        **common,  # type: ignore[arg-type]
    )


class Resume(str, enum.Enum):
    PLAN = "plan"  # plan afresh from every member's position
    WAIT = "wait"  # the interrupted run started its member: give the start time to finish
    FINISH = "finish"  # the interrupted run formed the cluster: start the others, wait


@dataclass(frozen=True)
class ResumeStep:
    action: Resume
    member: str | None
    reason: str


def resume(
    in_flight: bool, chosen: MemberReport | None, dry_run: bool = False, waited: bool = False
) -> ResumeStep:
    """What to do with a bootstrap record left in flight by a galeractl that died.

    ``chosen`` is what the record's member reports now (None: no record in flight, or its
    member is no longer in the cluster). A member it formed the cluster on is never
    bootstrapped again: the run finishes (joiners, Synced, marks removed). One it started
    that is not Primary yet gets the time to finish starting (once, ``waited``). A dry run
    only plans; so does everything else, from positions as they are now.
    """
    if not in_flight or chosen is None:
        return ResumeStep(Resume.PLAN, None, "no bootstrap in flight")
    name = chosen.name
    if dry_run:
        return ResumeStep(Resume.PLAN, name, "a dry run only plans")
    if chosen.primary:
        return ResumeStep(
            Resume.FINISH,
            name,
            f"an earlier bootstrap formed the cluster on {name}; finishing it",
        )
    if chosen.running and not waited:
        return ResumeStep(Resume.WAIT, name, "an earlier bootstrap started it; waiting for Primary")
    return ResumeStep(
        Resume.PLAN,
        name,
        f"an earlier bootstrap of {name} did not reach Primary; planning from the positions",
    )


class Start(str, enum.Enum):
    INITIALIZE = "initialize"  # a brand-new cluster on an empty data directory
    IN_PLACE = "in_place"  # running, not joining: pc.bootstrap=YES, no restart
    BOOTSTRAP = "bootstrap"  # marked (one-shot), then started with --wsrep-new-cluster


def start_path(plan: BootstrapPlan, chosen: MemberReport) -> Start:
    """How the chosen member becomes the Primary component. A running member that is not
    waiting for a state transfer keeps its server and is made Primary in place; a stopped
    one (or a joiner that received nothing) starts in bootstrap mode from its position."""
    if plan.initialize:
        return Start.INITIALIZE
    if chosen.running and chosen.joining_from is None:
        return Start.IN_PLACE
    return Start.BOOTSTRAP
