"""Whether a member may form a new Primary component without a bootstrap mark.

``galeractl agent --start new-cluster`` starts ``mariadbd --wsrep-new-cluster`` for a brand-new
cluster (the sandbox's first member). With data, or beside members that run, that start
splits a history: a second Primary component of the same cluster, or a new cluster state UUID
every other member could join only by a full state transfer. Pure: the agent reads the data
directory and probes the peers' Galera ports, this decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from galera.domain.grastate import Grastate

GALERA_PORT = 4567  # Galera's own default, for a peer listed without a port
_BOOTSTRAP = "use 'galeractl bootstrap', which reads every member first"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


def verdict(
    grastate: Grastate | None,
    pristine: bool,
    sst_interrupted: bool,
    answering: Sequence[str],
) -> Verdict:
    """May this member start with ``--wsrep-new-cluster``, and why.

    Allowed only where nothing can split: an empty data directory (a brand-new cluster), or
    the member Galera marked ``safe_to_bootstrap`` when it left the cluster last and cleanly
    (its position known); and in both cases no other member answers on its Galera port
    (``answering``: the peers that do), since a running member means a running cluster this
    one must join. A peer that cannot be reached is taken for down: this is the guard of a
    first start, not a substitute for ``galeractl bootstrap``.
    """
    refusal = _own_refusal(grastate, pristine, sst_interrupted)
    if refusal is not None:
        return Verdict(False, refusal)
    if answering:
        verb = (
            "answers on its Galera port" if len(answering) == 1 else "answer on their Galera port"
        )
        return Verdict(
            False,
            f"{', '.join(answering)} {verb}: a cluster may be running, and a new one beside it "
            "would split it; start this member in join mode (or " + _BOOTSTRAP + ")",
        )
    if pristine:
        return Verdict(True, "an empty data directory and no other member answers: a new cluster")
    assert grastate is not None  # _own_refusal refuses a directory with data and no file
    return Verdict(
        True,
        f"the last member to leave the cluster, cleanly, at {grastate.position} "
        "(safe_to_bootstrap: 1), and no other member answers",
    )


def _own_refusal(grastate: Grastate | None, pristine: bool, sst_interrupted: bool) -> str | None:
    """Why this member's own data forbids it, or None."""
    if sst_interrupted:
        return (
            "a state transfer into this member was interrupted: its data is incomplete and "
            "must not form a cluster (in join mode it receives a full SST)"
        )
    if pristine:
        return None
    if grastate is None:
        return (
            "data but no grastate.dat: its history is unknown, and --wsrep-new-cluster would "
            "start a new one every other member could join only by a full SST; " + _BOOTSTRAP
        )
    if grastate.empty:
        return (
            "grastate.dat holds no history (the zero UUID: a discarded member, or one that "
            "never joined) beside data: --wsrep-new-cluster would start a new history; "
            + _BOOTSTRAP
        )
    if grastate.needs_recovery:
        return (
            "its position is unknown (grastate.dat seqno -1: it did not stop cleanly) and "
            "another member may be more advanced; " + _BOOTSTRAP + " (it recovers every "
            "member's position and picks the most advanced)"
        )
    if not grastate.safe_to_bootstrap:
        return (
            f"Galera did not mark it safe_to_bootstrap: it was not the last member to leave "
            f"the cluster (at {grastate.position}), so another may be more advanced; " + _BOOTSTRAP
        )
    return None


def address(peer: str) -> tuple[str, int]:
    """``host[:port]`` or ``[v6]:port`` of ``wsrep_cluster_address``, port 4567 by default."""
    port = ""
    if peer.startswith("["):
        host, _, rest = peer[1:].partition("]")
        port = rest.removeprefix(":")
    elif peer.count(":") == 1:
        host, _, port = peer.partition(":")
    else:
        host = peer
    return host, int(port) if port.isdigit() else GALERA_PORT


def others(peers: Sequence[str], own_host: str, own_port: int) -> list[tuple[str, int]]:
    """The peers' Galera addresses but this member's own."""
    return [a for a in map(address, peers) if a != (own_host, own_port)]
