"""What keeps the agent answering whoever calls it, and telling only the token holder.

The agent is PID 1 of the member's container: if it is wedged or OOM-killed, mariadbd dies
with it. So every request is bounded: a body of at most :data:`MAX_BODY` bytes with a
valid Content-Length (no chunked bodies), read only after the token was checked; the whole
request read within :data:`REQUEST_TIMEOUT` seconds; at most :data:`MAX_WORKERS` requests
served at once (more are answered 503 at once, and one client address holds at most
:data:`PER_CLIENT` of them).
Each connection carries one request. The token is re-read when its file changes (a rotated
Secret), and the previous one is still accepted for :data:`ROTATION_GRACE` seconds so that a
rotation never breaks a controller or a pipeline in the middle of its work.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

from galera.errors import GaleraError, OperationFailed

log = logging.getLogger("galera.agent")

MAX_BODY = 64 * 1024
REQUEST_TIMEOUT = 5.0
MAX_WORKERS = 32
PER_CLIENT = 8
ROTATION_GRACE = 600.0


class Tokens:
    """The bearer token(s) a request may carry: the current one, re-read when its file
    changes, and the one before it until ``grace`` seconds after the change."""

    def __init__(
        self,
        read: Callable[[], str | None],
        file: Path | None = None,
        grace: float = ROTATION_GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._file = file
        self._grace = grace
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self.current = read()
        self._previous: tuple[str, float] | None = None

    def _file_stamp(self) -> tuple[int, int, int, int] | None:
        if self._file is None:
            return None
        try:
            st = self._file.stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size

    def _refresh(self) -> None:
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp  # said once per change of the file, not once per request
        try:
            fresh = self._read()
        except GaleraError as e:  # half-written or emptied: keep what we have
            log.warning("the agent token file changed but cannot be used: %s", e)
            return
        if fresh and fresh != self.current:
            if self.current:
                self._previous = (self.current, self._clock() + self._grace)
            self.current = fresh
            log.info(
                "the agent token was rotated; the previous one is accepted for %.0fs", self._grace
            )

    def accepts(self, header: str) -> bool:
        """Whether an ``Authorization`` header carries a token accepted now."""
        with self._lock:
            self._refresh()
            candidates = [self.current]
            if self._previous is not None and self._clock() < self._previous[1]:
                candidates.append(self._previous[0])
        supplied = header.encode()
        return any(
            hmac.compare_digest(supplied, f"Bearer {token}".encode())
            for token in candidates
            if token
        )


def content_length(header: str | None) -> int | str:
    """The body's length from its Content-Length header, or why it is refused."""
    if header is None or header == "":
        return 0
    text = header.strip()
    if not (text.isascii() and text.isdigit()):
        return f"Content-Length {header!r} is not a number of bytes"
    length = int(text)
    if length > MAX_BODY:
        return f"a request body is at most {MAX_BODY} bytes (got {length})"
    return length


class BoundedServer(ThreadingHTTPServer):
    """A threading HTTP server that serves at most ``MAX_WORKERS`` requests at once, at most
    ``PER_CLIENT`` of them from one address; a request beyond either is answered 503 and
    closed at once, so the accept loop (and a shutdown) never waits for a slot."""

    daemon_threads = True
    request_queue_size = 64
    BUSY = (
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        b"Content-Length: 26\r\nConnection: close\r\n\r\n"
        b'{"error": "agent is busy"}'
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._busy = 0
        self._per_client: dict[str, int] = {}

    def _take(self, client: str) -> bool:
        with self._lock:
            if self._busy >= MAX_WORKERS or self._per_client.get(client, 0) >= PER_CLIENT:
                return False
            self._busy += 1
            self._per_client[client] = self._per_client.get(client, 0) + 1
            return True

    def _give(self, client: str) -> None:
        with self._lock:
            self._busy -= 1
            left = self._per_client.get(client, 1) - 1
            if left:
                self._per_client[client] = left
            else:
                self._per_client.pop(client, None)

    def process_request(self, request: Any, client_address: Any) -> None:
        client = str(client_address[0])
        if not self._take(client):
            try:
                request.settimeout(1.0)
                request.sendall(self.BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._give(client)
            raise

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away, timed out or failed the TLS handshake is no agent
        error: one debug line, not a traceback on stderr."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            log.debug("connection from %s ended: %s", client_address[0], error)
            return
        super().handle_error(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._give(str(client_address[0]))


class Deadline:
    """One deadline for reading a whole request: a client that trickles its headers or body
    is cut off after ``seconds`` however often it sends (a socket timeout only bounds each
    read). Processing the request afterwards is not limited."""

    def __init__(self, sock: Any, seconds: float = REQUEST_TIMEOUT) -> None:
        self._sock = sock
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def met(self) -> None:
        """The request was read in time."""
        self._timer.cancel()


CHUNKED_BUFFER = 1024 * 1024  # read-ahead of a chunked request body (a restore's stream)


class Chunked(io.RawIOBase):
    """A request body sent with ``Transfer-Encoding: chunked``, decoded. Memory stays
    bounded whatever the chunk sizes; a size line that is not one, or a body that breaks
    off before its last (empty) chunk, is an :class:`OperationFailed`."""

    def __init__(self, raw: io.BufferedIOBase | BinaryIO) -> None:
        self.raw = raw
        self.left = 0  # bytes of the current chunk not read yet
        self.ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.ended:
            return 0
        try:
            return self._readinto(buffer)
        except BaseException:
            self.ended = True  # a broken body is not read on
            raise

    def _readinto(self, buffer: Any) -> int:
        if self.left == 0:
            self.left = self._size()
            if self.left == 0:
                while self.raw.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers, up to the empty line
                self.ended = True
                return 0
        data = self.raw.read(min(len(buffer), self.left))
        if not data:
            raise OperationFailed("the request body broke off in a chunk")
        buffer[: len(data)] = data
        self.left -= len(data)
        if self.left == 0 and self.raw.readline(3).strip():
            raise OperationFailed("the request body's chunk does not end with CRLF")
        return len(data)

    def _size(self) -> int:
        size = self.raw.readline(80).split(b";")[0].strip()
        if not size or len(size) > 15 or size.strip(b"0123456789abcdefABCDEF"):
            raise OperationFailed("the request body is not well-formed chunks")
        return int(size, 16)


def tail(path: Path, lines: int, window: int = 64 * 1024) -> list[str]:
    """The last ``lines`` lines of ``path``, reading at most its last ``window`` bytes
    (memory bounded whatever the file's size); each line cut to 300 characters."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(size - window, 0))
            data = f.read(window)
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").strip().splitlines()
    if size > window and text:
        text = text[1:]  # probably cut
    return [line[-300:] for line in text[-lines:]]
