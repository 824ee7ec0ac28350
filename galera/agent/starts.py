"""What a start that forms a new Primary component must prove first.

Each check refuses (:class:`UnsafeOperation`) changing nothing: the bootstrap mark is consumed,
and ``safe_to_bootstrap`` set, only once every check has passed. Such a start never recovers
a position itself: a member's position is confirmed before (``grastate.dat``, or a
``--wsrep-recover`` of the history it names), or the start is refused. A new cluster without
its start position would begin a new history, which every other member could join only by
a full state transfer.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from galera.agent.datadir import DataDir
from galera.config.agent import AgentConfig
from galera.domain import newcluster
from galera.domain.position import Position
from galera.errors import InvalidInput, UnsafeOperation

log = logging.getLogger("galera.agent")


def prepare(
    mode: str, config: AgentConfig, data: DataDir, recovered: Position | None
) -> list[str] | None:
    """Check a start in ``mode``; the extra mariadbd arguments of a start that forms a
    cluster, None for a join (which recovers its position first when it needs to)."""
    if mode == "bootstrap":
        return bootstrap(data, recovered)
    if mode == "initialize":
        initialize(config, data)
        return []
    if mode == "new-cluster":
        new_cluster(config, data)
        return []
    return None


def bootstrap(data: DataDir, recovered: Position | None) -> list[str]:
    """Consume the mark for this member's confirmed position; with ``seqno: -1`` in
    ``grastate.dat`` that position (the recovered one) is passed as the start position."""
    state = data.grastate()
    history = state.uuid if state is not None and state.needs_recovery else None
    if history is not None and recovered is not None and recovered.uuid != history:
        raise UnsafeOperation(
            f"grastate.dat names history {history} but --wsrep-recover found {recovered}: "
            "they disagree, so this member's position is not confirmed; a person must look "
            "(to which history does its data belong?)",
            member=data.member,
        )
    marked = data.consume_mark(data.position(recovered))
    data.set_safe_to_bootstrap()
    log.warning("bootstrap mark consumed: forming a new cluster from this member at %s", marked)
    return [f"--wsrep-start-position={marked}"] if history is not None else []


def initialize(config: AgentConfig, data: DataDir) -> None:
    """A brand-new cluster, only from an empty data directory and with its users' file."""
    if not data.pristine():
        raise UnsafeOperation(
            "the data directory is not empty: a member with data is only "
            "bootstrapped through a mark (galeractl bootstrap)",
            member=config.name,
        )
    init_file = config.init_file
    if init_file is not None and not init_file.is_file():
        raise InvalidInput(
            f"init_file {init_file} does not exist: the new cluster would have none of its users",
            member=config.name,
        )
    log.warning("initialising a brand-new cluster from this empty member")
    data.discard_empty_grastate()


def new_cluster(config: AgentConfig, data: DataDir) -> None:
    """``--start new-cluster`` (no mark): only where it cannot split a history (see
    :func:`galera.domain.newcluster.verdict`); the peers are probed only when this member's
    own data allows it."""
    state, pristine, cut = data.grastate(), data.pristine(), data.sst_interrupted
    found = newcluster.verdict(state, pristine, cut, ())
    if found.allowed:
        server = config.server
        peers = newcluster.others(server.peers, server.node_address, server.galera_port)
        found = newcluster.verdict(state, pristine, cut, answering(peers))
    if not found.allowed:
        raise UnsafeOperation(f"new-cluster refused: {found.reason}", member=config.name)
    log.warning("new-cluster: %s", found.reason)


def answering(addresses: Sequence[tuple[str, int]], timeout: float = 1.0) -> list[str]:
    """The addresses among ``addresses`` where something accepts a TCP connection (a running
    member or garbd listens on its Galera port), as ``host:port``."""

    def answers(address: tuple[str, int]) -> bool:
        try:
            with socket.create_connection(address, timeout=timeout):
                return True
        except OSError:  # refused, unreachable, a name that does not resolve
            return False

    if not addresses:
        return []
    with ThreadPoolExecutor(max_workers=min(len(addresses), 16)) as pool:
        found = list(pool.map(answers, addresses))
    return [
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        for (host, port), ok in zip(addresses, found, strict=True)
        if ok
    ]


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def donors(names: object) -> tuple[str, ...]:
    """The preferred donors a join was asked for, checked (member names, at most 16)."""
    if not isinstance(names, (list, tuple)) or len(names) > 16:
        raise InvalidInput("donors: must be a list of at most 16 member names")
    for name in names:
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidInput(f"donors: {str(name)[:70]!r} is not a member name")
    return tuple(names)


def donor_option(names: tuple[str, ...]) -> list[str]:
    """``wsrep_sst_donor`` for a join: those members first, then (the trailing comma) any
    other that can serve, so that a preference never keeps a member from joining."""
    return [f"--wsrep-sst-donor={','.join(names)},"] if names else []
