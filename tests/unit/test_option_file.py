"""read_option_file: SQL credentials from the [client] group of a MySQL option file."""

from __future__ import annotations

from pathlib import Path

import pytest

from galera.config.optionfile import read_option_file
from galera.domain.credentials import Credentials
from galera.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[client]\nuser=monitor\npassword=s3cret\n", Credentials("monitor", "s3cret")),
        ("[client]\nuser = monitor\npassword = s3cret\n", Credentials("monitor", "s3cret")),
        ("[client]\nuser='monitor'\npassword=\"s3 cret\"\n", Credentials("monitor", "s3 cret")),
        ("[client]\nuser=monitor\n", Credentials("monitor", "")),
        ("[client]\nuser=monitor\npassword=\n", Credentials("monitor", "")),
        (
            "# written by galeractl\n[mysqld]\nport=3306\n[client]\nuser=monitor\n"
            "password=pw\nssl-mode=DISABLED\nskip-ssl\n",
            Credentials("monitor", "pw"),
        ),
        ("[client]\nuser=a\n[client]\npassword=b\n", Credentials("a", "b")),
        (
            "[client]\nuser=monitor\npassword=%not-interpolated%\n",
            Credentials("monitor", "%not-interpolated%"),
        ),
    ],
    ids=[
        "plain",
        "spaces-around-equals",
        "quoted-values",
        "no-password",
        "empty-password",
        "other-groups-and-valueless-options",
        "client-group-given-twice",
        "percent-sign-kept",
    ],
)
def test_client_group_gives_credentials(tmp_path: Path, text: str, expected: Credentials) -> None:
    path = tmp_path / "client.cnf"
    path.write_text(text)
    assert read_option_file(path) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[mysql]\nuser=monitor\n", "no [client] group"),
        ("", "no [client] group"),
        ("user=monitor\npassword=x\n", "not an option file"),
        ("[client\nuser=monitor\n", "not an option file"),
        ("[client]\npassword=x\n", "[client] has no user"),
        ("[client]\nuser=\n", "[client] has no user"),
        ("[client]\nuser\n", "[client] has no user"),
    ],
    ids=[
        "no-client-group",
        "empty-file",
        "no-group-at-all",
        "broken-group-header",
        "no-user",
        "empty-user",
        "user-without-value",
    ],
)
def test_bad_option_file_is_invalid_input_naming_the_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "client.cnf"
    path.write_text(text)
    with pytest.raises(InvalidInput) as raised:
        read_option_file(path)
    assert str(raised.value).startswith(f"credentials file {path}: ")
    assert expected in str(raised.value)


def test_missing_option_file_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "nope.cnf"
    with pytest.raises(InvalidInput) as raised:
        read_option_file(path)
    assert str(raised.value) == f"credentials file {path}: No such file or directory"


def test_end_of_line_comment_is_not_part_of_the_password(tmp_path: Path) -> None:
    path = tmp_path / "client.cnf"
    path.write_text("[client]\nuser=monitor\npassword=s3cret  # rotated 2025-01\n")
    assert read_option_file(path) == Credentials("monitor", "s3cret")
