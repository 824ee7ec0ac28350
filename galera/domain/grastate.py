"""Parsing of ``grastate.dat``, the file in which Galera saves a member's position."""

from __future__ import annotations

from dataclasses import dataclass

from galera.domain.position import ZERO_UUID, Position, is_uuid, parse_seqno
from galera.errors import InvalidInput

_KNOWN_KEYS = ("version", "uuid", "seqno", "safe_to_bootstrap")

# Galera's saved Primary view, from which ``pc.recovery`` re-forms a Primary component when
# every member it names is back.
SAVED_VIEW = "gvwstate.dat"
# Written beside it by the agent when mariadbd starts to join, removed once the member is
# Synced: while it is there, the member never held the state of the component whose view
# it may have saved (see galera.agent.datadir.DataDir.forget_unheld_view).
JOIN_UNFINISHED = "galeractl-join-unfinished"


class CorruptGrastate(InvalidInput):
    """``grastate.dat`` could not be parsed; the message names the file and the line."""


@dataclass(frozen=True)
class Grastate:
    """The saved state of one member.

    ``seqno`` is -1 while the server runs or after a crash; then the real position must be
    recovered with ``mariadbd --wsrep-recover``. ``safe_to_bootstrap`` is set by Galera on the
    last member to leave a cluster cleanly.
    """

    version: str
    uuid: str
    seqno: int
    safe_to_bootstrap: bool

    @property
    def position(self) -> Position:
        return Position(self.uuid, self.seqno)

    @property
    def empty(self) -> bool:
        """True when the member never joined any history (zero UUID)."""
        return self.uuid == ZERO_UUID

    @property
    def needs_recovery(self) -> bool:
        """True when the seqno is unknown and must come from ``--wsrep-recover``."""
        return self.seqno == -1 and not self.empty

    def render(self) -> str:
        """The file text, as Galera writes it."""
        return (
            "# GALERA saved state\n"
            f"version: {self.version}\n"
            f"uuid:    {self.uuid}\n"
            f"seqno:   {self.seqno}\n"
            f"safe_to_bootstrap: {int(self.safe_to_bootstrap)}\n"
        )


def parse(text: str, source: str = "grastate.dat") -> Grastate:
    """Parse the text of a ``grastate.dat`` file.

    Raises :class:`CorruptGrastate` naming ``source`` and the offending line when a line is
    not ``key: value``, a value is invalid, a key repeats, or ``uuid``/``seqno`` are missing
    (a truncated file). Unknown keys written by newer Galera versions are ignored.
    """
    if "\x00" in text:
        raise CorruptGrastate(f"{source}: contains NUL bytes (file corrupt)")
    values: dict[str, tuple[int, str]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise CorruptGrastate(f"{source} line {number}: expected 'key: value', got {raw!r}")
        if key not in _KNOWN_KEYS:
            continue
        if key in values:
            raise CorruptGrastate(f"{source} line {number}: {key!r} appears twice")
        values[key] = (number, value)

    for required in ("uuid", "seqno"):
        if required not in values:
            raise CorruptGrastate(f"{source}: no {required!r} line (truncated file?)")

    line_no, uuid = values["uuid"]
    uuid = uuid.lower()
    if not is_uuid(uuid):
        raise CorruptGrastate(f"{source} line {line_no}: uuid {uuid!r} is not a UUID")

    line_no, seqno_text = values["seqno"]
    seqno_or_none = parse_seqno(seqno_text)
    if seqno_or_none is None:
        raise CorruptGrastate(f"{source} line {line_no}: seqno {seqno_text!r} is not an integer")
    seqno = seqno_or_none
    if seqno < -1:
        raise CorruptGrastate(f"{source} line {line_no}: seqno {seqno} is below -1")

    safe = False
    if "safe_to_bootstrap" in values:
        line_no, flag = values["safe_to_bootstrap"]
        if flag not in ("0", "1"):
            raise CorruptGrastate(
                f"{source} line {line_no}: safe_to_bootstrap {flag!r} is not 0 or 1"
            )
        safe = flag == "1"

    version = values.get("version", (0, "2.1"))[1] or "2.1"
    return Grastate(version=version, uuid=uuid, seqno=seqno, safe_to_bootstrap=safe)
