"""HTTP client of the node agent API (used by the CLI, the sandbox and the controller)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from galera import fence
from galera.errors import (
    AccessDenied,
    InvalidInput,
    MemberUnreachable,
    OperationFailed,
    UnsafeOperation,
)

LEASE_HEADER = "X-Galera-Lease"  # the holder a change is made for
POSITION_HEADER = "X-Galera-Position"  # a restore's position
MEMBER_HEADER = "X-Galera-Member"  # the member a restore is meant for
BACKUP_HEADER = "X-Galera-Backup"  # which backup a restore is (its manifest's digest)
CHECK_HEADER = "X-Galera-Check"  # "yes": a restore only checked, nothing written
STREAM_CHUNK = 256 * 1024


class AgentClient:
    """Talks to one agent. Every failure becomes a one-line :class:`GaleraError`."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        member: str | None = None,
        timeout: float = 5.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.member = member
        self.timeout = timeout
        self.tls = tls  # verifies an https:// agent against the cluster's CA

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        timeout: float | None = None,
        accept: tuple[int, ...] = (200,),
        change: bool = False,
        sink: Callable[[bytes], object] | None = None,
        upload: Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One request. A ``change`` is made only while this process still holds the
        lease it acts under, and names that holder (the agent refuses any other)."""
        import http.client  # imported here: most galeractl commands never call an agent
        import urllib.error
        import urllib.request

        data: Any = json.dumps(body).encode() if body is not None else upload
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if upload is not None:  # a body of unknown length: chunked
            request.add_header("Transfer-Encoding", "chunked")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if change:
            holder = fence.before_change(self.member)
            if holder is not None:
                request.add_header(LEASE_HEADER, holder)
        try:
            with urllib.request.urlopen(
                request, timeout=timeout or self.timeout, context=self.tls
            ) as response:
                if sink is None:
                    return response.status, json.loads(response.read() or b"{}")
                while chunk := response.read(STREAM_CHUNK):  # chunked: ends only when whole
                    sink(chunk)
                return response.status, {}
        except http.client.HTTPException as e:  # a chunked answer that broke off
            raise OperationFailed(
                f"agent {self.url}: the answer broke off ({e.__class__.__name__})",
                member=self.member,
            ) from None
        except urllib.error.HTTPError as e:
            try:
                payload = json.loads(e.read() or b"{}")
            except ValueError:
                payload = {}
            if e.code in accept:
                return e.code, payload
            message = payload.get("error") or f"HTTP {e.code}"
            kind = {401: AccessDenied, 400: InvalidInput, 409: UnsafeOperation}.get(
                e.code, OperationFailed
            )
            raise kind(f"agent {self.url}: {message}", member=self.member) from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, ssl.SSLError):
                detail = getattr(reason, "verify_message", None) or reason.reason or reason
                raise MemberUnreachable(
                    f"TLS with agent at {self.url} failed: {detail}",
                    member=self.member,
                    hint="the agent must present a certificate of the cluster's CA",
                ) from None
            raise MemberUnreachable(
                f"cannot reach agent at {self.url} ({reason})", member=self.member
            ) from None

    def backup(self, sink: Callable[[bytes], object], timeout: float = 600.0) -> None:
        """This member's physical backup (an xbstream), handed to ``sink`` chunk by chunk;
        raises when the agent refuses it or the stream breaks off (then discard it)."""
        self._request("POST", "/v1/backup", {}, timeout=timeout, sink=sink)

    def restore(
        self,
        position: str,
        backup: str,
        chunks: Iterable[bytes] = (),
        check: bool = False,
        timeout: float = 3600.0,
    ) -> dict[str, Any]:
        """Send a backup (a tar stream, ``chunks``; ``backup`` names it) into this stopped
        member's empty data directory at ``position``; what the agent wrote. ``check``:
        only whether the agent would take it (an empty body; nothing is written)."""
        headers = {
            POSITION_HEADER: position,
            MEMBER_HEADER: self.member or "",
            BACKUP_HEADER: backup,
            CHECK_HEADER: "yes" if check else "no",
        }
        upload = iter(()) if check else iter(chunks)
        return self._request(
            "POST", "/v1/restore", None, timeout, change=True, upload=upload, headers=headers
        )[1]

    def status(self) -> dict[str, Any]:
        return self._request("GET", "/v1/status")[1]

    def ready(self) -> tuple[bool, str]:
        code, body = self._request("GET", "/health/ready", accept=(200, 503))
        return code == 200, str(body.get("reason", ""))

    def live(self) -> bool:
        return self.liveness()[0]

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        """(the agent is live, its answer: ``writer`` flag, ``stopped_for`` seconds)."""
        code, body = self._request("GET", "/health/live", accept=(200, 503))
        return code == 200, body

    def start(self, mode: str = "join", donors: tuple[str, ...] = ()) -> dict[str, Any]:
        """Start mariadbd; a join takes its state transfer from ``donors`` first."""
        body: dict[str, Any] = {"mode": mode, **({"donors": list(donors)} if donors else {})}
        return self._request("POST", "/v1/start", body, timeout=60, change=True)[1]

    def stop(self, timeout: float | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        # Without a timeout the agent's own stop_timeout applies (300 s on Kubernetes, a large
        # buffer pool takes long to flush): wait for the answer as long as it may take.
        wait = (timeout if timeout is not None else 3600) + 10
        return self._request("POST", "/v1/stop", body, timeout=wait, change=True)[1]

    def recover(self, timeout: float = 900) -> dict[str, Any]:
        """Run ``--wsrep-recover`` on the member; returns ``{"position": ..., "seconds": ...}``."""
        return self._request("POST", "/v1/recover", {}, timeout=timeout, change=True)[1]

    def mark(self, position: str, by: str = "galeractl") -> dict[str, Any]:
        body = {"position": position, "by": by}
        return self._request("POST", "/v1/mark", body, change=True)[1]

    def unmark(self) -> dict[str, Any]:
        return self._request("POST", "/v1/unmark", {}, change=True)[1]

    def drain(self, seconds: float | None = None) -> dict[str, Any]:
        """Readiness false until the next start, an undrain, or ``seconds`` (agent default)."""
        body = {} if seconds is None else {"seconds": seconds}
        return self._request("POST", "/v1/drain", body, change=True)[1]

    def discard(self) -> dict[str, Any]:
        """The stopped member's position discarded: its next join is a full SST."""
        return self._request("POST", "/v1/discard", {}, change=True)[1]

    def reinit(self) -> dict[str, Any]:
        """The stopped member's data emptied: its next join is a full SST."""
        return self._request("POST", "/v1/reinit", {"member": self.member}, change=True)[1]

    def undrain(self) -> dict[str, Any]:
        return self._request("POST", "/v1/undrain", {}, change=True)[1]

    def configure(self, options: dict[str, str], apply: bool) -> dict[str, Any]:
        """Validate (and with ``apply`` persist) mysqld option overrides on the member."""
        body = {"options": options, "apply": apply}
        return self._request("POST", "/v1/config", body, timeout=90, change=apply)[1]

    def log(self, max_bytes: int = 4 * 1024 * 1024) -> list[str]:
        """The tail of the member's error log."""
        return list(
            self._request("POST", "/v1/log", {"max_bytes": max_bytes}, timeout=30)[1].get(
                "lines", []
            )
        )

    def kill(self, signal: str = "KILL") -> dict[str, Any]:
        return self._request("POST", "/v1/kill", {"signal": signal}, timeout=130)[1]

    def set_role(self, writer: bool) -> dict[str, Any]:
        """Whether this member answers ``/health/writer`` as the designated writer."""
        return self._request("POST", "/v1/role", {"writer": writer}, change=True)[1]

    def health(self, pool: str) -> tuple[bool, str]:
        """A proxy's health check: ``writer`` or ``reader``."""
        code, body = self._request("GET", f"/health/{pool}", accept=(200, 503))
        return code == 200, str(body.get("reason", ""))

    def lease(self, holder: str, seconds: float, force: bool = False) -> tuple[bool, str]:
        """Ask this agent for its share of the cluster's lease: (granted, current holder).
        ``force`` takes it from another holder (a person's explicit word)."""
        body = {"holder": holder, "seconds": seconds, "force": force}
        code, answer = self._request("POST", "/v1/lease", body, timeout=3, accept=(200, 409))
        return code == 200, str(answer.get("holder") or "")

    def release_lease(self, holder: str) -> bool:
        """Give this agent's share up (only ``holder``'s own); whether it was ours."""
        answer = self._request("POST", "/v1/lease/release", {"holder": holder}, timeout=3)[1]
        return bool(answer.get("released"))
