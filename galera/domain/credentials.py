"""The SQL credentials type, shared by the configuration (which reads them) and the SQL port."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credentials:
    """A SQL user and password. The password never appears in ``repr`` or logs."""

    user: str
    password: str = field(repr=False)
