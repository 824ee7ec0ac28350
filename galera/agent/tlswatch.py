"""Certificates renewed under a running member are taken into use without a restart.

When the member's certificate, key or CA bundle changes on disk (``galeractl certs
rotate``, a renewed Kubernetes Secret, cert-manager), the agent checks the new files and,
only if they are consistent (a key written before its certificate is not), has mariadbd
reload them: ``FLUSH SSL`` for client connections and Galera's ``socket.ssl_reload`` for
replication and IST. The SST script reads the files at each transfer; the agent's own
HTTPS server at each connection. A set that fails the check is retried at every change and
reported, never half-applied.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from galera import sql, tls
from galera.domain.credentials import Credentials
from galera.errors import GaleraError

log = logging.getLogger("galera.agent")

RELOAD = ["FLUSH SSL", "SET GLOBAL wsrep_provider_options = 'socket.ssl_reload=1'"]


class TlsWatch:
    """Polls the TLS files every ``interval`` seconds; reloads mariadbd when they changed."""

    def __init__(
        self,
        files: tls.Files,
        names: list[str],
        endpoint: sql.Endpoint,
        credentials: Callable[[], Credentials],
        running: Callable[[], bool],
        interval: float = 2.0,
    ) -> None:
        self.files = files
        self.names = names
        self.endpoint = endpoint
        self.credentials = credentials
        self.running = running
        self.interval = interval
        self._stamp = tls.stamp(files)
        self._pending = False  # changed, not yet applied to a running server
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"fingerprint": self._fingerprint(), "reloaded_at": None}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tls-watch", daemon=True)

    def _fingerprint(self) -> str | None:
        try:
            assert self.files.cert is not None
            return tls.fingerprint(self.files.cert)
        except GaleraError:
            return None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def state(self) -> dict[str, Any]:
        """What ``/v1/status`` shows: the certificate in use, its expiry, the last reload."""
        with self._lock:
            return dict(self._state)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.turn()

    def turn(self) -> None:
        """One look at the files (public for tests)."""
        now = tls.stamp(self.files)
        if now != self._stamp:
            self._stamp, self._pending = now, True
        if not self._pending or not self.running():
            return  # a server started later reads the files as they are
        try:
            tls.check_apart(self.files, self.names)
            sql.execute(self.endpoint, self.credentials(), RELOAD)
        except GaleraError as e:
            with self._lock:
                if self._state.get("error") != str(e):
                    log.warning("new TLS files not taken into use: %s", e)
                self._state["error"] = str(e)
            return
        self._pending = False
        fingerprint = self._fingerprint()
        log.info("TLS files reloaded by mariadbd (certificate %s)", (fingerprint or "?")[:16])
        with self._lock:
            self._state = {"fingerprint": fingerprint, "reloaded_at": time.time(), "error": None}
