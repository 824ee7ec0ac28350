"""A frozen snapshot of a whole cluster, including the members that did not answer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from galera.domain.status import MemberStatus
from galera.errors import InvalidInput


@dataclass(frozen=True)
class ExpectedMember:
    """A member the cluster is supposed to have, as the cluster file declares it.

    Arbitrators (``garbd``) vote in quorum but hold no data and have no SQL endpoint.
    """

    name: str
    weight: int = 1
    arbitrator: bool = False


@dataclass(frozen=True)
class Observation:
    """What one read of one member gave.

    ``status`` is None when the member could not be read; ``error`` then says why
    (unreachable, refused credentials, timed out). Arbitrators are never read directly:
    their presence is known from the membership that Primary members report.
    """

    member: ExpectedMember
    status: MemberStatus | None = None
    error: str | None = None
    error_kind: str | None = None
    host: str = ""
    port: int = 0
    agent: dict[str, object] | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.member.name

    @property
    def reachable(self) -> bool:
        return self.status is not None

    @property
    def weight(self) -> int:
        """The member's ``pc.weight``: as it reports it, else as the cluster file declares."""
        return self.status.weight if self.status is not None else self.member.weight


@dataclass(frozen=True)
class Snapshot:
    """Every expected member's observation, in cluster-file order, taken at one moment."""

    observations: tuple[Observation, ...]
    taken_at: float = 0.0
    cluster_name: str = ""

    def __iter__(self) -> Iterator[Observation]:
        return iter(self.observations)

    @property
    def expected(self) -> tuple[ExpectedMember, ...]:
        return tuple(o.member for o in self.observations)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.observations)

    @property
    def expected_weight(self) -> int:
        return sum(o.weight for o in self.observations)

    @property
    def data_members(self) -> tuple[Observation, ...]:
        """Members that hold data (everything but arbitrators)."""
        return tuple(o for o in self.observations if not o.member.arbitrator)

    @property
    def reachable(self) -> tuple[Observation, ...]:
        return tuple(o for o in self.observations if o.reachable)

    def get(self, name: str) -> Observation:
        """The observation of ``name``; an unknown name is an :class:`InvalidInput`."""
        for observation in self.observations:
            if observation.name == name:
                return observation
        raise InvalidInput(
            f"unknown member {name!r}; the cluster has {', '.join(self.names) or 'no members'}"
        )
