"""Positions are ordered only within one history, and only when the seqno is known."""

from __future__ import annotations

import operator
from collections.abc import Callable

import pytest

from galera.domain.position import IncomparablePositions, Position, is_uuid
from galera.errors import InvalidInput
from tests.unit.builders import UUID_A, UUID_B, ZERO_UUID

Compare = Callable[[Position, Position], bool]
ORDERINGS = [operator.lt, operator.le, operator.gt, operator.ge]
ORDERING_IDS = ["lt", "le", "gt", "ge"]


@pytest.mark.parametrize(
    ("left", "op", "right", "expected"),
    [
        (5, operator.lt, 6, True),
        (6, operator.lt, 5, False),
        (5, operator.lt, 5, False),
        (5, operator.le, 5, True),
        (5, operator.le, 4, False),
        (7, operator.gt, 6, True),
        (6, operator.gt, 6, False),
        (6, operator.ge, 6, True),
        (0, operator.ge, 1, False),
    ],
    ids=["5<6", "not-6<5", "not-5<5", "5<=5", "not-5<=4", "7>6", "not-6>6", "6>=6", "not-0>=1"],
)
def test_positions_of_one_history_order_by_seqno(
    left: int, op: Compare, right: int, expected: bool
) -> None:
    assert op(Position(UUID_A, left), Position(UUID_A, right)) is expected


def test_positions_of_one_history_sort_and_pick_the_most_advanced() -> None:
    positions = [Position(UUID_A, n) for n in (12, 3, 40, 0)]
    assert [p.seqno for p in sorted(positions)] == [0, 3, 12, 40]
    assert max(positions) == Position(UUID_A, 40)


@pytest.mark.parametrize("op", ORDERINGS, ids=ORDERING_IDS)
def test_positions_of_different_histories_are_incomparable(op: Compare) -> None:
    with pytest.raises(IncomparablePositions, match="different cluster histories"):
        op(Position(UUID_A, 5), Position(UUID_B, 9))


@pytest.mark.parametrize("op", ORDERINGS, ids=ORDERING_IDS)
@pytest.mark.parametrize(
    ("left", "right"), [(-1, 5), (5, -1), (-1, -1)], ids=["left-unknown", "right-unknown", "both"]
)
def test_unknown_seqno_cannot_be_ordered(op: Compare, left: int, right: int) -> None:
    with pytest.raises(IncomparablePositions, match="a seqno is unknown"):
        op(Position(UUID_A, left), Position(UUID_A, right))


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (Position(UUID_A, 5), Position(UUID_A, 5), True),
        (Position(UUID_A, 5), Position(UUID_A, 6), False),
        (Position(UUID_A, 5), Position(UUID_B, 5), False),
        (Position(UUID_A, -1), Position(UUID_A, -1), True),
        (Position(UUID_A, -1), Position(UUID_B, -1), False),
    ],
    ids=["same", "other-seqno", "other-history", "both-unknown", "unknown-other-history"],
)
def test_equality_never_raises_even_across_histories(
    left: Position, right: Position, equal: bool
) -> None:
    assert (left == right) is equal
    assert (left != right) is not equal


def test_comparing_with_something_else_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="cannot compare Position with int"):
        _ = Position(UUID_A, 1) < 2  # type: ignore[operator]


@pytest.mark.parametrize(
    ("position", "known", "empty"),
    [
        (Position(UUID_A, 10), True, False),
        (Position(UUID_A, -1), False, False),
        (Position(ZERO_UUID, -1), False, True),
    ],
    ids=["known", "unknown", "zero-uuid"],
)
def test_known_and_empty_flags(position: Position, known: bool, empty: bool) -> None:
    assert position.known is known
    assert position.empty is empty


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{UUID_A}:42", Position(UUID_A, 42)),
        (f"{UUID_A}:-1", Position(UUID_A, -1)),
        (f"  {UUID_A}:0\n", Position(UUID_A, 0)),
        (f"{UUID_A.upper()}:7", Position(UUID_A, 7)),
    ],
    ids=["recovered", "unknown", "surrounding-space", "upper-case"],
)
def test_parse_reads_uuid_colon_seqno(text: str, expected: Position) -> None:
    position = Position.parse(text)
    assert position == expected
    assert str(position) == f"{expected.uuid}:{expected.seqno}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (UUID_A, "is not of the form uuid:seqno"),
        ("", "is not of the form uuid:seqno"),
        (f"{UUID_A}:abc", "has a seqno that is not an integer"),
        (f"{UUID_A}:", "has a seqno that is not an integer"),
        ("not-a-uuid:5", "position uuid 'not-a-uuid' is not a UUID"),
        (":5", "position uuid '' is not a UUID"),
        (f"{UUID_A}:-2", "position seqno -2 is below -1"),
    ],
    ids=[
        "no-colon",
        "empty",
        "word-seqno",
        "missing-seqno",
        "bad-uuid",
        "no-uuid",
        "below-minus-1",
    ],
)
def test_parse_rejects_malformed_positions(text: str, expected: str) -> None:
    with pytest.raises(InvalidInput, match=expected):
        Position.parse(text)


@pytest.mark.parametrize(
    ("uuid", "seqno", "expected"),
    [
        ("nope", 1, "position uuid 'nope' is not a UUID"),
        (UUID_A.upper(), 1, "is not a UUID"),
        (UUID_A, -5, "position seqno -5 is below -1"),
    ],
    ids=["garbage-uuid", "upper-case-uuid", "seqno-below-minus-1"],
)
def test_constructor_validates(uuid: str, seqno: int, expected: str) -> None:
    with pytest.raises(InvalidInput, match=expected):
        Position(uuid, seqno)


@pytest.mark.parametrize(
    ("text", "valid"),
    [(UUID_A, True), (ZERO_UUID, True), (UUID_A.upper(), False), (UUID_A + "0", False)],
    ids=["lower-case", "zero", "upper-case", "too-long"],
)
def test_is_uuid_accepts_only_canonical_lower_case(text: str, valid: bool) -> None:
    assert is_uuid(text) is valid


def test_parse_rejects_seqno_with_underscore() -> None:
    with pytest.raises(InvalidInput, match="not an integer"):
        Position.parse(f"{UUID_A}:1_0")
