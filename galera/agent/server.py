"""The agent's JSON HTTP API.

Probes and the status read are open (probes and load balancers call them); what derives
from the error log or the configuration, and every mutating endpoint, requires
``Authorization: Bearer <token>``. Every request is bounded (see :mod:`galera.agent.guard`).
The API is what galeractl, the controller and Kubernetes probes use; nothing in it assumes
the caller runs on the same host.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import IO, Any

from galera import sql
from galera.agent import mariadbd, starts
from galera.agent.backup import Backups
from galera.agent.datadir import RESTORE_MARKER, own_paths
from galera.agent.lease import LEASE_FILE, Leases
from galera.agent.restore import Restores
from galera.agent.role import ROLE_FILE, Role
from galera.agent.supervisor import DRAIN_SECONDS, Supervisor
from galera.agent.tlswatch import TlsWatch
from galera.config.agent import AgentConfig
from galera.config.optionfile import read_option_file
from galera.domain import health
from galera.domain.credentials import Credentials
from galera.domain.position import Position
from galera.errors import GaleraError, InvalidInput, UnsafeOperation

log = logging.getLogger("galera.agent")
API_VERSION = "v1"


class Agent:
    """The agent's behaviour, independent of HTTP: each method returns (status, body)."""

    def __init__(self, config: AgentConfig, supervisor: Supervisor) -> None:
        self.config = config
        self.supervisor = supervisor
        self.started = time.monotonic()
        self.leases = Leases(supervisor.data.rundir / LEASE_FILE)
        self.role = Role(supervisor.data.rundir / ROLE_FILE)
        self.backups = Backups(
            supervisor.data.rundir,
            config.config_file,
            config.server.socket,
            config.server.secrets_file,
            self.admin_credentials,
            lambda: supervisor.running,
        )
        self.restores = Restores(supervisor.data, supervisor.while_stopped, own_paths(config))

    # -- reads ------------------------------------------------------------------------

    tls_watch: TlsWatch | None = None  # set by serve() when the member has TLS files

    def credentials(self) -> Credentials:
        if self.config.credentials_file is not None:
            return read_option_file(self.config.credentials_file)
        return Credentials("root", "")

    def admin_credentials(self) -> Credentials:
        """The account that reloads the TLS files; the monitoring one without it."""
        admin = self.config.admin_credentials_file
        if admin is not None and admin.exists():
            return read_option_file(admin)
        return self.credentials()

    def endpoint(self) -> sql.Endpoint:
        return sql.Endpoint(
            unix_socket=self.config.server.socket, connect_timeout=1.0, read_timeout=2.0
        )

    def grastate(self) -> dict[str, Any]:
        """The member's ``grastate.dat``, whether its data directory counts as empty for a
        restore (``restorable``: what a restore may replace), and the restore it holds."""
        data = self.supervisor.data
        refusal = self.restores.refusal(backup="")
        common = {"restorable": refusal is None, "restored": self.restores.stamp()}
        try:
            state = data.grastate()
        except GaleraError as e:
            interrupted = (data.datadir / RESTORE_MARKER).exists()
            return {"present": True, "error": e.message, "restore_interrupted": interrupted}
        if state is None:
            return {"present": False, "error": None, "pristine": data.pristine(), **common}
        return {
            "present": True,
            "error": None,
            "uuid": state.uuid,
            "seqno": state.seqno,
            "safe_to_bootstrap": state.safe_to_bootstrap,
            "version": state.version,
            "pristine": data.pristine(),
            **common,
        }

    def wsrep(self) -> tuple[dict[str, Any] | None, str | None]:
        if not self.supervisor.running:
            return None, "mariadbd is not running"
        try:
            status = sql.fetch_status(self.endpoint(), self.credentials(), self.config.name)
        except GaleraError as e:
            return None, e.message
        return status.summary(), None

    def status(self, authorized: bool = False) -> tuple[int, dict[str, Any]]:
        """The member's process, grastate and wsrep state. What derives from the error log
        (it may hold SQL text) or from the configuration (option overrides) is included
        only for a caller with the token."""
        wsrep, error = self.wsrep()
        process = self.supervisor.state()
        if authorized:  # read outside the supervisor's lock
            process["error_log_tail"] = mariadbd.error_log_tail(self.config)
            process["overrides"] = self.supervisor.data.overrides()
        return 200, {
            "api": API_VERSION,
            "name": self.config.name,
            "process": process,
            "grastate": self.grastate(),
            "wsrep": wsrep,
            "wsrep_error": error,
            "tls": self.tls_watch.state() if self.tls_watch is not None else None,
            "lease": self.leases.state(),
            "writer": self.role.writer,
        }

    def ready(self, policy: health.HealthPolicy | None = None) -> tuple[int, dict[str, Any]]:
        """Readiness, with clustercheck semantics.

        200 when mariadbd runs and the member is in a Primary component, ``wsrep_ready=ON``,
        and Synced (or Donor/Desynced when ``health.donor_ok``), and writable when
        ``health.require_writable``. 503 otherwise, with the reason. A load balancer or a
        Kubernetes Service sends clients only to members for which this returns 200.
        """
        if not self.supervisor.running:
            return 503, {"ready": False, "reason": "mariadbd is not running"}
        if self.supervisor.draining:
            return 503, {"ready": False, "reason": "draining before a restart"}
        try:
            status = sql.fetch_status(self.endpoint(), self.credentials(), self.config.name)
        except GaleraError as e:
            return 503, {"ready": False, "reason": e.message}
        ok, reason = health.check_status(status, policy or self.config.health)
        return (200 if ok else 503), {"ready": ok, "reason": reason}

    def writer(self) -> tuple[int, dict[str, Any]]:
        """For a proxy's write pool: ready (as ``/health/ready``, a Donor too: serving an
        IST or SST leaves its data current, and a writer taken out of the pool for that
        would stall every client when a restarted member rejoins) and the designated
        writer."""
        code, body = self.ready(dataclasses.replace(self.config.health, donor_ok=True))
        if code == 200 and not self.role.writer:
            return 503, {"ready": True, "writer": False, "reason": "not the writer"}
        return code, {**body, "writer": self.role.writer}

    def reader(self) -> tuple[int, dict[str, Any]]:
        """For a proxy's read pool: ready (the writer too; list it as a backup there)."""
        code, body = self.ready()
        return code, {**body, "writer": self.role.writer}

    def set_role(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        writer = body.get("writer")
        if not isinstance(writer, bool):
            raise InvalidInput("writer: must be true or false")
        self.role.set(writer)
        return 200, {"writer": writer}

    def live(self) -> tuple[int, dict[str, Any]]:
        """Liveness of the agent, deliberately independent of mariadbd's cluster state.

        200 while the supervisor thread is alive (its heartbeat is under 10 s old). It does
        not fail when mariadbd is down, joining, donating or non-Primary: restarting the
        container then would abort a state transfer or make recovery harder, and the agent
        already restarts a crashed mariadbd itself. 503 means the agent itself is wedged.
        """
        # For the controller: a writer flag left behind, and since when mariadbd is down
        # (a duration on this agent's clock: no two clocks are compared).
        seen = {"writer": self.role.writer, "stopped_for": self.supervisor.stopped_for()}
        if self.supervisor.recovering:
            return 200, {"live": True, "process": "recovering", **seen}
        age = time.monotonic() - self.supervisor.heartbeat
        if age > 10:
            return 503, {"live": False, "reason": f"supervisor heartbeat {age:.0f}s old"}
        return 200, {"live": True, **seen}

    # -- mutations --------------------------------------------------------------------

    def start(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """``join``; ``bootstrap`` (needs the one-shot mark); ``initialize`` (form a brand-new
        cluster from an empty data directory: refused when it holds any Galera state).
        ``new-cluster`` is not offered over the API: a cluster with data is only ever re-formed
        through a mark."""
        mode = str(body.get("mode", "join"))
        if mode not in ("join", "bootstrap", "initialize"):
            raise InvalidInput(f"mode {mode!r} is not one of join, bootstrap, initialize")
        donors = starts.donors(body.get("donors", []))
        log.warning("start requested in %s mode", mode)
        return 200, {"process": self.supervisor.start(mode, donors)}

    def recover(self, _body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        started = time.monotonic()
        position = self.supervisor.recover()
        return 200, {"position": str(position), "seconds": round(time.monotonic() - started, 2)}

    def mark(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Set the one-shot bootstrap mark for the position the controller chose."""
        position = Position.parse(str(body.get("position", "")))
        if self.supervisor.running:
            raise UnsafeOperation(
                "mariadbd is running; a running member is never marked", member=self.config.name
            )
        mark = self.supervisor.data.set_mark(position, by=str(body.get("by", "")))
        log.warning("bootstrap mark set for position %s", position)
        return 200, {"bootstrap_mark": mark}

    def drain(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        seconds = body.get("seconds", DRAIN_SECONDS)
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            raise InvalidInput("seconds must be a number")
        if not 1 <= seconds <= 3600:
            raise InvalidInput(f"seconds must be from 1 to 3600, got {seconds}")
        self.supervisor.drain(float(seconds))
        log.info("draining: readiness is false for %ss, or until the next start", seconds)
        return 200, {"draining": True, "seconds": seconds}

    def discard(self, _body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        position = self.supervisor.discard()
        return 200, {"discarded": str(position) if position else None}

    def reinit(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Empty the stopped member's data (``galeractl reinit``)."""
        self._named(body.get("member"), "nothing was emptied")
        if self.backups.busy or self.restores.busy:
            raise UnsafeOperation("a backup of or a restore into this member is running")
        why = "only a stopped member's data can be emptied"
        data = self.supervisor.data
        emptied = self.supervisor.while_stopped(why, lambda: data.reinit(own_paths(self.config)))
        return 200, {"emptied": emptied}

    def restore(
        self, named: str | None, headers: dict[str, str], stream: IO[bytes]
    ) -> tuple[int, Any]:
        """Receive a backup into the stopped member's empty data directory (``galeractl
        restore``); with ``check``, only whether it would be accepted."""
        self._named(named, "nothing was restored")
        position = Position.parse(headers.get("position", ""))
        check = headers.get("check") == "yes"
        answer = self.restores.receive(position, headers.get("backup", ""), stream, check)
        return 200, {"restored": answer}

    def _named(self, named: object, nothing: str) -> None:
        """A request that changes the data names its member: an address that reaches
        another member's agent changes nothing."""
        if named != self.config.name:
            raise InvalidInput(f"this agent serves {self.config.name}, not {named!r}: {nothing}")

    def undrain(self, _body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.supervisor.undrain()
        log.info("drain released: readiness follows the server again")
        return 200, {"draining": False}

    def configure(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Validate mysqld option overrides with mariadbd; with ``apply``, persist them."""
        extra = body.get("options")
        if not isinstance(extra, dict) or not extra:
            raise InvalidInput("options: must be a non-empty mapping of mysqld options")
        options = {str(k): str(v) for k, v in extra.items()}
        if body.get("apply"):
            return 200, {"overrides": self.supervisor.set_overrides(options)}
        self.supervisor.validate(options)
        return 200, {"valid": True}

    def log(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The tail of the server's error log (it may hold SQL text, hence the token)."""
        limit = body.get("max_bytes", 4 * 1024 * 1024)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= 8 * 2**20:
            raise InvalidInput("max_bytes: must be an integer from 1 to 8388608")
        path = Path(self.config.server.log_error)
        try:
            with open(path, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(size - limit, 0))
                data = f.read()
        except FileNotFoundError:
            return 200, {"lines": [], "truncated": False}
        except OSError as e:
            raise InvalidInput(f"{path}: {e.strerror}") from None
        lines = data.decode("utf-8", errors="replace").splitlines()
        if size > limit and lines:
            lines = lines[1:]  # the first line is probably cut
        return 200, {"lines": lines, "truncated": size > limit}

    def unmark(self, _body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        removed = self.supervisor.data.clear_mark()
        if removed:
            log.info("bootstrap mark removed")
        return 200, {"removed": removed}

    def stop(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        timeout = body.get("timeout")
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            raise InvalidInput(f"timeout: must be seconds above 0, got {timeout!r}")
        return 200, {"process": self.supervisor.stop(timeout)}

    def kill(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"process": self.supervisor.kill(str(body.get("signal", "KILL")))}

    def lease(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """This member's share of the cluster's lease (see :mod:`galera.agent.lease`)."""
        granted, answer = self.leases.acquire(body)
        return (200 if granted else 409), answer

    def release_lease(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, self.leases.release(body)

    def change(self, func: Any, holder: str | None, body: dict[str, Any]) -> Any:
        """Carry out a change, only for the lease's holder when the request names one."""
        self.leases.admit(holder)
        return func(body)
