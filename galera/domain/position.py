"""A member's position in the cluster history: cluster state UUID plus seqno."""

from __future__ import annotations

import re
from dataclasses import dataclass

from galera.errors import InvalidInput

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
UNKNOWN_SEQNO = -1
_SEQNO_RE = re.compile(r"^-?[0-9]+$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class IncomparablePositions(InvalidInput):
    """Two positions were compared that belong to different histories or are unknown."""


def parse_seqno(text: str) -> int | None:
    """The integer in ``text`` when written as Galera writes seqnos (ASCII digits), else None."""
    text = text.strip()
    return int(text) if _SEQNO_RE.match(text) else None


def is_uuid(text: str) -> bool:
    """True when ``text`` is a lower-case canonical UUID as Galera writes it."""
    return bool(_UUID_RE.match(text))


@dataclass(frozen=True)
class Position:
    """Cluster state UUID and seqno of the last committed write set.

    Positions are ordered only within one history: comparing positions with different
    UUIDs, or a position whose seqno is unknown (-1), raises :class:`IncomparablePositions`
    instead of silently picking one. Equality is ordinary value equality.
    """

    uuid: str
    seqno: int

    def __post_init__(self) -> None:
        if not is_uuid(self.uuid):
            raise InvalidInput(f"position uuid {self.uuid!r} is not a UUID")
        if self.seqno < UNKNOWN_SEQNO:
            raise InvalidInput(f"position seqno {self.seqno} is below -1")

    @classmethod
    def parse(cls, text: str) -> Position:
        """Parse ``uuid:seqno``, as printed by ``--wsrep-recover``."""
        uuid, sep, seqno = text.strip().rpartition(":")
        if not sep:
            raise InvalidInput(f"position {text!r} is not of the form uuid:seqno")
        number = parse_seqno(seqno)
        if number is None:
            raise InvalidInput(f"position {text!r} has a seqno that is not an integer")
        return cls(uuid.lower(), number)

    @property
    def known(self) -> bool:
        """True when the seqno is a real committed position (not -1)."""
        return self.seqno != UNKNOWN_SEQNO

    @property
    def empty(self) -> bool:
        """True for the zero UUID: a member that never belonged to any cluster history."""
        return self.uuid == ZERO_UUID

    def _check(self, other: object) -> Position:
        if not isinstance(other, Position):
            raise TypeError(f"cannot compare Position with {type(other).__name__}")
        if self.uuid != other.uuid:
            raise IncomparablePositions(
                f"positions {self} and {other} belong to different cluster histories"
            )
        if not (self.known and other.known):
            raise IncomparablePositions(f"cannot order {self} and {other}: a seqno is unknown")
        return other

    def __lt__(self, other: object) -> bool:
        return self.seqno < self._check(other).seqno

    def __le__(self, other: object) -> bool:
        return self.seqno <= self._check(other).seqno

    def __gt__(self, other: object) -> bool:
        return self.seqno > self._check(other).seqno

    def __ge__(self, other: object) -> bool:
        return self.seqno >= self._check(other).seqno

    def __str__(self) -> str:
        return f"{self.uuid}:{self.seqno}"
