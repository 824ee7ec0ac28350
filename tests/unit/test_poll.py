"""The one waiting policy: answers end the wait, named exceptions mean "not yet", anything
else ends it at once, and a timeout says what was awaited and what was seen last."""

from __future__ import annotations

import itertools

import pytest

from galera import poll
from galera.errors import MemberUnreachable, UnsafeOperation


def test_returns_the_first_answer() -> None:
    answers = iter([None, None, "ready"])
    assert poll.until(lambda: next(answers), timeout=5, interval=0.01, what="x") == "ready"


def test_named_exceptions_mean_not_yet() -> None:
    calls = itertools.count()

    def check() -> int | None:
        n = next(calls)
        if n < 2:
            raise MemberUnreachable("connection refused")
        return n

    assert poll.until(check, timeout=5, interval=0.01, what="x", retry_on=(MemberUnreachable,)) == 2


def test_other_exceptions_end_the_wait_at_once() -> None:
    calls = itertools.count()

    def check() -> None:
        next(calls)
        raise UnsafeOperation("the cluster moved on")

    with pytest.raises(UnsafeOperation, match="moved on"):
        poll.until(check, timeout=5, interval=0.01, what="x", retry_on=(MemberUnreachable,))
    assert next(calls) == 1  # asked once


def test_a_timeout_names_what_and_what_was_seen() -> None:
    with pytest.raises(
        poll.TimedOut, match=r"^timed out after 0s waiting for n1 Synced: n1: Donor"
    ):
        poll.until(
            lambda: None, timeout=0.05, interval=0.01, what="n1 Synced", seen=lambda: "n1: Donor"
        )


def test_a_timeout_names_the_last_error() -> None:
    def check() -> None:
        raise MemberUnreachable("connection refused")

    with pytest.raises(poll.TimedOut, match="connection refused"):
        poll.until(check, timeout=0.05, interval=0.01, what="agent", retry_on=(MemberUnreachable,))


def test_quietly_gives_none_after_the_grace() -> None:
    assert poll.quietly(lambda: None, timeout=0.05, interval=0.01) is None
    assert poll.quietly(lambda: 7, timeout=0.05, interval=0.01) == 7
