"""Whether starting a stopped member in join mode would overwrite data only it holds.

A joiner takes the Primary component's state: by IST when it is behind in the same history,
by a full SST otherwise. That SST is a silent loss when the member is *ahead* of the Primary
(it committed transactions the others never got: after a ``--force-member`` or
``--allow-missing`` bootstrap, or a manual new cluster) or holds *another history*. Only a
person may accept that (``rejoin --discard MEMBER``); the controller never does.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from galera.domain.bootstrap import MemberReport
from galera.domain.position import Position


@dataclass(frozen=True)
class Loss:
    """What joining ``member`` would throw away."""

    member: str
    reason: str
    transactions: int | None = None  # None: another history (all of it)

    @property
    def cause(self) -> str:
        """``ahead_of_primary`` or ``other_history``: the reason a metric label names."""
        return "other_history" if self.transactions is None else "ahead_of_primary"


def of(member: MemberReport, primary: Position) -> Loss | None:
    """The loss of joining ``member`` to a Primary component at ``primary``, or None."""
    position = member.position
    if position is None or member.empty:
        return None  # nothing it holds is known to be anything the others lack
    if position.uuid != primary.uuid:
        return Loss(
            member.name,
            f"{member.name} holds another history ({position}); the Primary component is at "
            f"{primary}: joining would replace all of its data by a full SST",
        )
    ahead = position.seqno - primary.seqno
    if ahead > 0:
        return Loss(
            member.name,
            f"{member.name} is ahead of the Primary component by {ahead} transaction(s) "
            f"({position.seqno} > {primary.seqno}): joining would lose them by a full SST",
            ahead,
        )
    return None


def losses(
    reports: Sequence[MemberReport], primary: Position, discard: Collection[str] = ()
) -> list[Loss]:
    """The losses joining ``reports`` would cause that no person accepted (``discard``)."""
    found = (of(r, primary) for r in reports if r.name not in discard)
    return [loss for loss in found if loss is not None]
