"""Rolling restarts as steps: whether a run may start or resume, and the next step from the
record, including every resume case an interrupted galeractl can leave behind."""

from __future__ import annotations

from typing import Any

import pytest

from galera.domain.rolling import Action, Record, Seen, Step, next_step, start

ORDER = ("galera-1", "galera-2", "galera-0")
MEMBERS = {"galera-0", "galera-1", "galera-2"}


def record(**changes: Any) -> Record:
    values: dict[str, Any] = {"in_flight": True, "order": ORDER, "started_at": 1.0e9}
    values.update(changes)
    return Record(**values)


# --- start -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rec", "resume", "ok", "bad_input", "stale", "says"),
    [
        pytest.param(Record(), False, True, False, False, "no rollout", id="new"),
        pytest.param(record(), False, False, False, False, "--resume", id="new-beside-in-flight"),
        pytest.param(Record(), True, False, True, False, "no interrupted", id="resume-nothing"),
        pytest.param(
            record(in_flight=False, done=ORDER),
            True,
            False,
            True,
            False,
            "no interrupted",
            id="resume-finished",
        ),
        pytest.param(record(), True, True, False, False, "galera-1, galera-2", id="resume"),
        pytest.param(
            record(order=("galera-1", "galera-7")),
            True,
            False,
            True,
            True,
            "galera-7",
            id="resume-member-gone",
        ),
    ],
)
def test_start(
    rec: Record, resume: bool, ok: bool, bad_input: bool, stale: bool, says: str
) -> None:
    begun = start(rec, resume, MEMBERS)
    assert (begun.ok, begun.bad_input, begun.stale_record) == (ok, bad_input, stale)
    assert says in begun.reason


# --- next step -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rec", "seen", "expected"),
    [
        pytest.param(
            record(), None, Step(Action.RESTART, "galera-1", "galera-1 is next"), id="first"
        ),
        pytest.param(
            record(done=("galera-1",)),
            None,
            Step(Action.RESTART, "galera-2", "galera-2 is next"),
            id="second",
        ),
        pytest.param(record(done=ORDER), None, Action.DONE, id="all-done"),
        pytest.param(
            # galeractl died while gating or draining galera-2: nothing was stopped yet.
            record(done=("galera-1",), current="galera-2", current_step=None),
            None,
            Step(Action.RESTART, "galera-2", "galera-2 is next"),
            id="interrupted-before-stop",
        ),
        pytest.param(
            record(done=("galera-1",), current="galera-2", current_step="stopped"),
            Seen(running=False),
            Action.WAIT,
            id="interrupted-after-stop-vm",
        ),
        pytest.param(
            # A VM member started again (by a rejoin) after the stop: it was restarted; wait.
            record(current="galera-1", current_step="stopped"),
            Seen(running=True),
            Action.WAIT,
            id="stopped-then-rejoined-vm",
        ),
        pytest.param(
            record(current="galera-1", current_step="started"),
            Seen(running=True, incarnation="uid-1"),
            Action.WAIT,
            id="interrupted-after-start",
        ),
        pytest.param(
            # Pod deleted, a new pod (new UID) runs: the replacement happened; only wait.
            record(current="galera-1", current_step="stopped", incarnation="uid-1"),
            Seen(running=True, incarnation="uid-2"),
            Action.WAIT,
            id="pod-replaced",
        ),
        pytest.param(
            # Stopped in its pod, then started again in the same pod (a rejoin): the pod
            # still runs the old template and has to be replaced: start over.
            record(current="galera-1", current_step="stopped", incarnation="uid-1"),
            Seen(running=True, incarnation="uid-1"),
            Action.RESTART,
            id="same-pod-rejoined",
        ),
        pytest.param(
            record(current="galera-1", current_step="stopped", incarnation="uid-1"),
            Seen(running=False, incarnation="uid-1"),
            Action.WAIT,
            id="same-pod-still-stopped",
        ),
        pytest.param(
            record(current="galera-1", current_step="stopped", incarnation="uid-1"),
            None,
            Action.WAIT,
            id="nothing-seen",
        ),
    ],
)
def test_next_step(rec: Record, seen: Seen | None, expected: Step | Action) -> None:
    step = next_step(rec, seen)
    if isinstance(expected, Step):
        assert step == expected
    else:
        assert step.action is expected
        assert step.reason


def test_a_member_is_never_restarted_twice() -> None:
    """Walking a record to the end restarts each member once, in order."""
    rec = record()
    restarted = []
    while (step := next_step(rec)).action is not Action.DONE:
        assert step.member is not None
        restarted.append(step.member)
        rec = record(done=(*rec.done, step.member))
    assert restarted == list(ORDER)


def test_record_of_the_stored_dict() -> None:
    data = {
        "state": "in_progress",
        "order": ["galera-1", "galera-0"],
        "done": ["galera-1"],
        "current": "galera-0",
        "current_step": "stopped",
        "pod_uid": None,
        "options": {"max_connections": 200},
        "image": None,
        "started_at": 5,
    }
    rec = Record.of(data)
    assert rec == Record(
        in_flight=True,
        order=("galera-1", "galera-0"),
        done=("galera-1",),
        current="galera-0",
        current_step="stopped",
        incarnation=None,
        options={"max_connections": "200"},
        image=None,
        started_at=5.0,
    )
    assert Record.of({}) == Record()


def test_the_ist_forecast_plans_for_the_platforms_downtime_then_what_steps_took() -> None:
    """A pod replaced with an image pull takes minutes, a restart in place seconds; once a
    step was measured, the longest one counts (unless a person gave a figure)."""
    import time as clock
    from types import SimpleNamespace

    from galera.controller.rolling import WriteRate

    rates = WriteRate()
    kubernetes, vm = SimpleNamespace(step_downtime=120.0), SimpleNamespace(step_downtime=10.0)
    assert rates.downtime(kubernetes, None) == 120.0  # type: ignore[arg-type]
    assert rates.downtime(vm, None) == 10.0  # type: ignore[arg-type]
    rates.stopped_at = clock.monotonic() - 42.0
    rates.back()
    assert 42.0 <= rates.downtime(vm, None) < 50.0  # type: ignore[arg-type]
    assert rates.downtime(vm, 5.0) == 5.0  # type: ignore[arg-type]


def test_the_write_rate_counts_only_members_synced_in_both_reads() -> None:
    """A member applying its IST jumps thousands of seqnos at once: no write rate (a rollout
    stopped for a full SST it predicted from such a jump)."""
    import dataclasses

    from galera.controller.rolling import WriteRate
    from tests.unit.builders import NAMES3, primary, seen, snapshot

    def at(taken: float, committed: dict[str, int], joined: str = "") -> object:
        observations = []
        for name in NAMES3:
            rows = {"wsrep_last_committed": str(committed[name])}
            if name == joined:
                rows.update(wsrep_local_state="3", wsrep_local_state_comment="Joined")
            observations.append(seen(primary(name, NAMES3, **rows)))
        return dataclasses.replace(snapshot(*observations), taken_at=taken)

    rates = WriteRate()
    rates.seen(at(0.0, {"galera-0": 1000, "galera-1": 1000, "galera-2": 10}, joined="galera-2"))  # type: ignore[arg-type]
    now = at(1.0, {"galera-0": 1050, "galera-1": 1050, "galera-2": 1050})
    assert rates.measure(None, now) == 50.0  # type: ignore[arg-type]
