"""Galera's quorum rule and the margins derived from it, checked by hand and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from galera.domain.quorum import keeps_quorum, member_margin, weight_margin


@pytest.mark.parametrize(
    ("remaining", "previous", "kept"),
    [
        (2, 3, True),
        (1, 3, False),
        (1, 2, False),
        (2, 4, False),
        (3, 4, True),
        (3, 5, True),
        (1, 1, True),
        (0, 1, False),
        (0, 0, False),
    ],
    ids=[
        "2-of-3",
        "1-of-3",
        "half-of-2",
        "exactly-half-of-4",
        "3-of-4",
        "3-of-5",
        "1-of-1",
        "nobody-left",
        "nothing-before",
    ],
)
def test_quorum_needs_strictly_more_than_half(remaining: int, previous: int, kept: bool) -> None:
    assert keeps_quorum(remaining, previous) is kept


@pytest.mark.parametrize(
    ("total", "margin"),
    [(0, 0), (1, 0), (2, 0), (3, 1), (4, 1), (5, 2), (6, 2), (7, 3), (255, 127)],
    ids=["0", "1", "2", "3", "4", "5", "6", "7", "255"],
)
def test_weight_margin_is_the_largest_weight_that_can_vanish(total: int, margin: int) -> None:
    assert weight_margin(total) == margin


# Each row checked by hand against "remaining weight strictly more than half the previous
# total", losing the heaviest members first (the worst case for a crash or partition).
@pytest.mark.parametrize(
    ("weights", "margin"),
    [
        ([1, 1, 1], 1),  # lose 1: 2 of 3 > 1.5; lose 2: 1 of 3, no
        ([1, 1], 0),  # lose 1: 1 of 2 is exactly half, no
        ([1], 0),  # lose 1: 0 of 1, no
        ([], 0),
        ([2, 1, 1], 0),  # lose the weight-2 member: 2 of 4 is exactly half, no
        ([1, 1, 1, 1, 1], 2),  # lose 2: 3 of 5 > 2.5; lose 3: 2 of 5, no
        ([3, 1, 1], 0),  # lose the weight-3 member: 2 of 5, no
        ([1, 1, 1, 1], 1),  # lose 1: 3 of 4; lose 2: 2 of 4, no
        ([2, 2, 1], 1),  # lose 2: 3 of 5; lose 2 more: 1 of 5, no
        ([2, 1, 1, 1], 1),  # lose 2: 3 of 5; lose 1 more: 2 of 5, no
        ([1, 1, 0], 0),  # the weight-0 member is not the worst case
        ([1, 1, 1, 1, 1, 1, 1], 3),  # lose 3: 4 of 7 > 3.5
        ((2, 1, 1, 1, 1), 1),  # a tuple works too: lose 2: 4 of 6; lose 1 more: 3 of 6, no
    ],
    ids=[
        "three-equal",
        "two-equal",
        "single",
        "empty",
        "2-1-1",
        "five-equal",
        "3-1-1",
        "four-equal",
        "2-2-1",
        "2-1-1-1",
        "1-1-0",
        "seven-equal",
        "tuple-2-1-1-1-1",
    ],
)
def test_member_margin_loses_heaviest_first(weights: list[int], margin: int) -> None:
    assert member_margin(weights) == margin


@given(st.integers(min_value=1, max_value=10_000))
def test_weight_margin_is_exactly_the_quorum_boundary(total: int) -> None:
    margin = weight_margin(total)
    assert keeps_quorum(total - margin, total)
    assert not keeps_quorum(total - margin - 1, total)


@given(st.lists(st.integers(min_value=0, max_value=255), max_size=12))
def test_member_margin_is_exactly_the_quorum_boundary(weights: list[int]) -> None:
    total = sum(weights)
    heaviest = sorted(weights, reverse=True)
    margin = member_margin(weights)
    assert 0 <= margin <= len(weights)
    assert margin == 0 or keeps_quorum(total - sum(heaviest[:margin]), total)
    if margin < len(weights):
        assert not keeps_quorum(total - sum(heaviest[: margin + 1]), total)
