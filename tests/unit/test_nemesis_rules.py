"""The nemesis's own rules: which reads count as a split brain, and which faults it draws."""

from __future__ import annotations

import pytest

from galera.domain.snapshot import Snapshot
from galera.testing import nemesis
from galera.testing.faults import CLASSES
from galera.testing.watch import two_histories
from tests.unit.builders import NAMES3, UUID_B, healthy, non_primary, primary, seen, snapshot


def test_a_read_of_two_histories_each_primary_is_a_split_brain() -> None:
    read = snapshot(
        seen(primary("galera-0", ("galera-0",), uuid=UUID_B, conf_id=1)),
        seen(primary("galera-1", ("galera-1", "galera-2"))),
        seen(primary("galera-2", ("galera-1", "galera-2"))),
    )
    reason = two_histories(read)
    assert reason is not None
    assert "2 histories" in reason and "galera-0" in reason and "galera-1, galera-2" in reason


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(healthy(), id="one-component"),
        pytest.param(
            snapshot(
                seen(non_primary("galera-0", uuid=UUID_B)),
                seen(primary("galera-1", ("galera-1", "galera-2"))),
                seen(primary("galera-2", ("galera-1", "galera-2"))),
            ),
            id="other-history-not-primary",
        ),
        pytest.param(snapshot(*(seen(primary(n, NAMES3)) for n in NAMES3)), id="three-in-one-view"),
    ],
)
def test_one_history_among_primary_members_is_no_split_brain(read: Snapshot) -> None:
    assert two_histories(read) is None


def test_a_long_run_draws_every_class_before_repeating_one() -> None:
    order = nemesis.schedule(len(CLASSES) + 3, seed=7, netns=True)
    assert set(order[: len(CLASSES)]) == set(CLASSES)
    assert len(order) == len(CLASSES) + 3


def test_the_seed_alone_decides_the_order() -> None:
    assert nemesis.schedule(20, seed=3, netns=True) == nemesis.schedule(20, seed=3, netns=True)
    assert nemesis.schedule(20, seed=3, netns=True) != nemesis.schedule(20, seed=4, netns=True)


def test_without_namespaces_no_partition_is_drawn() -> None:
    order = nemesis.schedule(40, seed=1, netns=False)
    assert order and not any(CLASSES[name].netns for name in order)
    assert not any(CLASSES[name].netns for name in nemesis.quick(netns=False))


def test_the_short_form_has_six_classes_and_the_long_only_ones_are_left_out() -> None:
    for netns in (True, False):
        quick = nemesis.quick(netns)
        assert len(set(quick)) == len(quick) == 6
        assert not set(quick) & set(nemesis.LONG_ONLY)
