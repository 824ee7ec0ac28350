"""Whether this member is the cluster's designated writer (``galeractl switchover``).

The record of which member takes writes is the platform's (see
:mod:`galera.controller.records`); each agent keeps its own member's flag, so that a proxy's
health check (``/health/writer``) needs nothing but the agent. galeractl clears the old
writer's flag before it sets the new one's: two members never both answer as the writer.
The flag is written to the run directory and survives an agent restart.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger("galera.agent")

ROLE_FILE = "galeractl-role.json"


class Role:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._writer = json.loads(path.read_text()).get("writer") is True
        except FileNotFoundError:
            self._writer = False
        except (OSError, ValueError, AttributeError) as e:
            log.warning("%s unreadable (%s): not the writer", path, e)
            self._writer = False

    @property
    def writer(self) -> bool:
        return self._writer

    def set(self, writer: bool) -> None:
        with self._lock:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"writer": writer}))
            os.replace(tmp, self.path)
            if writer != self._writer:
                log.warning("this member is %s the writer", "now" if writer else "no longer")
            self._writer = writer
