"""One small exception hierarchy for everything galeractl reports to a person.

Every error carries enough context to be printed as one line: which member, which operation
and, where we know it, a hint about what to do. The CLI prints ``str(error)`` and exits
non-zero; nothing else should be needed to understand what went wrong.
"""

from __future__ import annotations


class GaleraError(Exception):
    """Base class: a failure we can explain in one line."""

    def __init__(
        self,
        message: str,
        *,
        member: str | None = None,
        operation: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.member = member
        self.operation = operation
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.member}: {self.message}" if self.member else self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class InvalidInput(GaleraError):
    """Bad input from a person or a file: wrong values, unknown names, corrupt state files."""


class MemberUnreachable(GaleraError):
    """A member (SQL endpoint or agent) could not be reached or did not answer in time."""


class AccessDenied(GaleraError):
    """A member refused our credentials or our token."""


class UnsafeOperation(GaleraError):
    """An operation was refused because doing it would break a safety invariant."""


class OperationFailed(GaleraError):
    """An operation was attempted and did not succeed (a process failed to start, a timeout)."""


class Conflict(OperationFailed):
    """A compare-and-swap write lost: somebody else changed the record since we read it."""


class LeaseLost(UnsafeOperation):
    """This actor no longer holds the cluster's lease (another took it, or it expired):
    it stops before its next change."""
