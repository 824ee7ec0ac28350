"""Helpers shared by the CLI and real-cluster tests: run galeractl, read its JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def galeractl(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Result:
    """Run the real command line in a subprocess (as a user would)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "galera", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def one_line_error(result: Result) -> str:
    """The single stderr line of a failed command (asserts it is exactly one line)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {result.stderr!r}"
    assert "Traceback" not in result.stderr
    return lines[0]


def events(result: Result) -> list[dict[str, Any]]:
    """The JSON events a ``-o json`` command printed, one per line."""
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def of(evts: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in evts if e["event"] == kind]


def streaming(*args: str) -> subprocess.Popen[str]:
    """``galeractl ARGS -o json`` in the background: its events are read as they come."""
    return subprocess.Popen(
        [sys.executable, "-m", "galera", *args, "-o", "json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_after(kind: str, *args: str) -> dict[str, Any]:
    """Run ``galeractl ARGS -o json``, SIGKILL it right after its first ``kind`` event.

    Returns that event: the test then proves a rerun finishes what the killed run began.
    """
    proc = streaming(*args)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            event: dict[str, Any] = json.loads(line)
            if event["event"] == kind:
                return event
        raise AssertionError(f"galeractl {args[0]} ended without a {kind!r} event")
    finally:
        proc.kill()
        proc.wait()


def free_port() -> int:
    """A free port below the kernel's ephemeral range (32768 and up) and above every
    sandbox's fixed ports: an ephemeral port freed here could be handed to another process
    before our server binds it (the suite's two halves run side by side)."""
    import random

    for _ in range(200):
        port = random.randint(30000, 32700)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port from 30000 to 32700")
