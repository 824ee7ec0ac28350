"""One waiting policy for everything galeractl polls: a member Synced, a pod replaced, an
agent answering, a seed server ready, clients drained, pc.recovery re-forming a cluster.

:func:`until` asks a check at a fixed interval until it answers (anything but None), lets
the exceptions the caller names count as "not yet" and ends at once on any other, and after
``timeout`` raises :class:`TimedOut` with a sentence that says what was awaited and what was
seen last. The retry machinery is tenacity's, imported only when something waits (commands
that never wait, like ``status``, do not pay for it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from galera.errors import GaleraError, OperationFailed

T = TypeVar("T")


class TimedOut(OperationFailed):
    """The awaited condition did not hold within the timeout."""


def until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    interval: float,
    what: str,
    retry_on: tuple[type[BaseException], ...] = (),
    seen: Callable[[], str] | None = None,
    member: str | None = None,
) -> T:
    """Call ``check`` every ``interval`` seconds until it returns a value other than None;
    return that value. ``retry_on`` exceptions count as "not yet" (the last one is named if
    the wait times out); any other exception ends the wait at once. After ``timeout`` seconds
    raise :class:`TimedOut`: "timed out after Ns waiting for <what>: <seen()>"."""
    import tenacity

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout),
        wait=tenacity.wait_fixed(interval),
        retry=(
            tenacity.retry_if_result(lambda answer: answer is None)
            | tenacity.retry_if_exception_type(retry_on)
        ),
        reraise=False,
    )
    try:
        answer = retrying(check)
    except tenacity.RetryError as e:
        error = e.last_attempt.exception()
        detail = seen() if seen is not None else ""
        if not detail and error is not None:
            detail = error.message if isinstance(error, GaleraError) else str(error)
        raise TimedOut(
            f"timed out after {timeout:.0f}s waiting for {what}"
            + (f": {detail}" if detail else ""),
            member=member,
        ) from None
    assert answer is not None
    return answer


def quietly(
    check: Callable[[], T | None], *, timeout: float, interval: float, what: str = ""
) -> T | None:
    """:func:`until` for a wait that may end without its answer (a grace period): None
    after ``timeout``."""
    try:
        return until(check, timeout=timeout, interval=interval, what=what)
    except TimedOut:
        return None
