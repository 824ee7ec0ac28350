"""``parse_size``: Galera size options (``gcache.size``) in bytes, 0 when unparsable."""

from __future__ import annotations

import pytest

from galera.domain.status import parse_size

KIB = 1024
MIB = 1024**2
GIB = 1024**3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("32M", 32 * MIB),
        ("1G", GIB),
        ("128m", 128 * MIB),
        ("1048576", 1_048_576),
        ("2K", 2 * KIB),
        ("1.5G", 1_610_612_736),  # 1.5 * 2**30
        ("1T", 1024**4),
        (" 64M ", 64 * MIB),
        # A trailing "B" is dropped before the unit is read: "10MB" reads as 10 MiB.
        ("10MB", 10 * MIB),
        ("512b", 512),
    ],
    ids=[
        "mebibytes",
        "gibibytes",
        "lowercase-unit",
        "plain-bytes",
        "kibibytes",
        "fractional-gibibytes",
        "tebibytes",
        "surrounding-blanks",
        "unit-with-b-suffix",
        "bytes-with-b-suffix",
    ],
)
def test_parse_size_reads_binary_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "junk", "B", "M", "32MiB", "nan", "1..5G"],
    ids=["empty", "junk", "only-b", "only-unit", "iec-suffix", "nan", "two-dots"],
)
def test_parse_size_is_zero_when_unparsable(text: str) -> None:
    assert parse_size(text) == 0


@pytest.mark.parametrize("text", ["inf", "infinity", "1e400"], ids=["inf", "infinity", "huge"])
def test_parse_size_is_zero_for_infinite_sizes(text: str) -> None:
    assert parse_size(text) == 0
