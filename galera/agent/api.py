"""The agent's HTTP API: routing, the bearer token, request framing, and the two streaming
endpoints (``POST /v1/backup`` answers with a chunked stream; ``POST /v1/restore`` reads
one). What each endpoint does is :class:`galera.agent.server.Agent`'s.

Probes and the status read are open (probes and load balancers call them); what derives
from the error log or the configuration, and every mutating endpoint, requires
``Authorization: Bearer <token>``. Every request is bounded (see :mod:`galera.agent.guard`).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from http.server import BaseHTTPRequestHandler
from typing import Any

from galera import tls
from galera.agent import guard
from galera.agent.backup import respond
from galera.agent.server import API_VERSION, Agent
from galera.agent_client import (
    BACKUP_HEADER,
    CHECK_HEADER,
    LEASE_HEADER,
    MEMBER_HEADER,
    POSITION_HEADER,
)
from galera.errors import AccessDenied, GaleraError, InvalidInput, UnsafeOperation

log = logging.getLogger("galera.agent")
RESTORE_IDLE = 300.0  # seconds a restore's sender may pause
RESTORE_HEADERS = {"position": POSITION_HEADER, "backup": BACKUP_HEADER, "check": CHECK_HEADER}

_ERROR_STATUS = {InvalidInput: 400, AccessDenied: 401, UnsafeOperation: 409}


def _status_of(error: GaleraError) -> int:
    """The HTTP status a refusal or failure is answered with."""
    return next((c for t, c in _ERROR_STATUS.items() if isinstance(error, t)), 500)


def _writes(agent: Agent) -> dict[str, Any]:
    return {
        f"/{API_VERSION}/recover": agent.recover,
        f"/{API_VERSION}/mark": agent.mark,
        f"/{API_VERSION}/unmark": agent.unmark,
        f"/{API_VERSION}/drain": agent.drain,
        f"/{API_VERSION}/undrain": agent.undrain,
        f"/{API_VERSION}/discard": agent.discard,
        f"/{API_VERSION}/reinit": agent.reinit,
        f"/{API_VERSION}/log": agent.log,
        f"/{API_VERSION}/config": agent.configure,
        f"/{API_VERSION}/start": agent.start,
        f"/{API_VERSION}/stop": agent.stop,
        f"/{API_VERSION}/kill": agent.kill,
        f"/{API_VERSION}/role": agent.set_role,
        f"/{API_VERSION}/lease": agent.lease,
        f"/{API_VERSION}/lease/release": agent.release_lease,
    }


# Changes an actor makes under the lease; the agent refuses them for a holder not its own
# (the writer flag too: a stale actor must not move the writes).
# (``kill`` is fault injection and ``log`` a read: neither is fenced.)
FENCED = frozenset(
    f"/{API_VERSION}/{name}"
    for name in (
        "recover",
        "mark",
        "unmark",
        "drain",
        "undrain",
        "discard",
        "reinit",
        "config",
        "start",
        "stop",
        "role",
    )
)


def make_handler(
    agent: Agent, tokens: guard.Tokens, backup_tokens: guard.Tokens | None = None
) -> type[BaseHTTPRequestHandler]:
    """The request handler. ``backup_tokens``: tokens accepted for ``POST /v1/backup`` only
    (a scheduled backup's), beside the agent's own that allow everything."""
    reads = {
        "/health/live": agent.live,
        "/health/ready": agent.ready,
        "/health/writer": agent.writer,
        "/health/reader": agent.reader,
    }
    writes = _writes(agent)

    class Handler(BaseHTTPRequestHandler):
        server_version = "galeractl-agent"
        protocol_version = "HTTP/1.1"
        timeout = guard.REQUEST_TIMEOUT  # a slow or silent client holds a worker this long

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _send(self, code: int, body: dict[str, Any], close: bool = True) -> None:
            # One request per connection (``close`` is always true): the request deadline
            # then covers everything a client sends, and a body left unread is never
            # taken for the next request.
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.close_connection = close
            self.end_headers()
            self.wfile.write(data)

        def _refuse(self, code: int, body: dict[str, Any], unread: int) -> None:
            """Answer a request whose body is not wanted, then read that body (at most
            MAX_BODY bytes, within the request's deadline) and drop it: closing a socket
            with unread bytes resets the connection, and the client may lose the answer
            (over TLS it does, the body arriving in the same record)."""
            self._send(code, body)
            if unread:
                with contextlib.suppress(OSError, ValueError):
                    self.rfile.read(unread)

        def setup(self) -> None:
            self.deadline = guard.Deadline(self.request)
            if agent.config.tls is not None:
                # The handshake runs in this worker, under the request's deadline; the
                # context follows the files (a rotated certificate from the next request).
                self.request.settimeout(guard.REQUEST_TIMEOUT)
                try:
                    context = tls.server_context(agent.config.tls)
                    self.request = context.wrap_socket(self.request, server_side=True)
                except (OSError, GaleraError):
                    self.deadline.met()
                    raise
            super().setup()

        def finish(self) -> None:
            self.deadline.met()
            super().finish()

        def _run(self, func: Any, *args: Any) -> None:
            self.deadline.met()  # the request is read: processing is not limited
            try:
                code, body = func(*args)
            except GaleraError as e:
                code = _status_of(e)
                body = {"error": str(e)}
            except Exception as e:  # never a connection dropped without an answer
                log.exception("request failed")
                code, body = 500, {"error": f"internal error: {e.__class__.__name__}"}
            self._send(code, body)

        def _backup(self) -> None:
            self.deadline.met()  # the request is read: a backup takes as long as it takes

            def begin() -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                self.end_headers()

            def refuse(e: GaleraError) -> None:
                code = _status_of(e)
                self._send(code, {"error": str(e)})

            self.close_connection = True
            respond(agent.backups, begin, self.wfile.write, refuse)

        def _refuse_body(self) -> str | None:
            """Why the request's body framing is refused (chunked, or conflicting lengths)."""
            if self.headers.get("Transfer-Encoding"):
                return "chunked bodies are not accepted: send a Content-Length"
            lengths = set(self.headers.get_all("Content-Length") or [])
            if len(lengths) > 1:
                return "conflicting Content-Length headers"
            return None

        def _authorized(self) -> bool:
            return tokens.accepts(self.headers.get("Authorization", ""))

        def do_GET(self) -> None:
            if self._refuse_body() or self.headers.get("Content-Length", "0") not in ("", "0"):
                self._send(400, {"error": "a GET carries no body"}, close=True)
                return
            path = self.path.split("?")[0]
            if path == f"/{API_VERSION}/status":
                self._run(agent.status, self._authorized())
                return
            func = reads.get(path)
            if func is None:
                self._send(404, {"error": f"no such endpoint {self.path}"})
                return
            self._run(func)

        def _restore(self) -> None:
            """``POST /v1/restore``: a chunked tar stream into the data directory."""
            self.close_connection = True  # whatever happens, the body is not read twice
            if not self._authorized():
                self._send(401, {"error": "a valid bearer token is required"})
                return
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                self._send(411, {"error": "a restore is sent as a chunked body"})
                return
            self.deadline.met()  # a restore takes as long as it takes; a sender that
            self.connection.settimeout(RESTORE_IDLE)  # pauses this long has gone away
            stream = io.BufferedReader(guard.Chunked(self.rfile), guard.CHUNKED_BUFFER)
            named = self.headers.get(MEMBER_HEADER)
            headers = {key: self.headers.get(name, "") for key, name in RESTORE_HEADERS.items()}
            self._run(
                agent.change,
                lambda _body: agent.restore(named, headers, stream),
                self.headers.get(LEASE_HEADER),
                {},
            )
            with contextlib.suppress(OSError, GaleraError):  # a refused body's rest, so that
                for _ in range(16):  # the sender reads the answer (at most 16 MiB; else cut)
                    if not stream.read(guard.CHUNKED_BUFFER):
                        break

        def do_POST(self) -> None:
            if self.path == f"/{API_VERSION}/restore":
                self._restore()
                return
            framing = self._refuse_body()
            if framing:
                self._send(411 if "chunked" in framing else 400, {"error": framing}, close=True)
                return
            length = guard.content_length(self.headers.get("Content-Length"))
            if isinstance(length, str):
                code = 413 if "at most" in length else 400
                self._send(code, {"error": length}, close=True)
                return
            func = writes.get(self.path)
            may_back_up = self._authorized() or (
                backup_tokens is not None
                and backup_tokens.accepts(self.headers.get("Authorization", ""))
            )
            if self.path == f"/{API_VERSION}/backup" and may_back_up:
                self.rfile.read(length)  # no options yet: the body is read and dropped
                self._backup()
                return
            if func is None:
                self._refuse(404, {"error": f"no such endpoint {self.path}"}, length)
                return
            if not self._authorized():  # before reading a byte of the body
                self._refuse(401, {"error": "a valid bearer token is required"}, length)
                return
            try:
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                if not isinstance(body, dict):
                    raise ValueError
            except (ValueError, RecursionError):
                self._send(400, {"error": "request body must be a JSON object"})
                return
            if self.path in FENCED:
                self._run(agent.change, func, self.headers.get(LEASE_HEADER), body)
                return
            self._run(func, body)

    return Handler
