"""A document found valid is not validated again; any change to it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from galera import validation
from galera.errors import InvalidInput

SCHEMA = {
    "type": "object",
    "properties": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}},
    "additionalProperties": False,
}


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "galeractl" / "valid"


def test_a_valid_document_is_noted_and_an_invalid_one_never(cache: Path) -> None:
    validation.check({"port": 3306}, SCHEMA, "a.yaml")
    assert len(list(cache.iterdir())) == 1
    with pytest.raises(InvalidInput, match=r"^b.yaml: port: must be an integer from 1 to 65535"):
        validation.check({"port": 70000}, SCHEMA, "b.yaml")
    assert len(list(cache.iterdir())) == 1


def test_a_changed_document_or_schema_is_validated_again(cache: Path) -> None:
    validation.check({"port": 3306}, SCHEMA, "a.yaml")
    validation.check({"port": 3306}, SCHEMA, "a.yaml")  # known: nothing new noted
    assert len(list(cache.iterdir())) == 1
    narrower = {**SCHEMA, "properties": {"port": {"type": "integer", "maximum": 1024}}}
    with pytest.raises(InvalidInput, match="port"):
        validation.check({"port": 3306}, narrower, "a.yaml")
    with pytest.raises(InvalidInput, match="unknown key"):
        validation.check({"port": 3306, "extra": 1}, SCHEMA, "a.yaml")


def test_without_a_writable_cache_every_check_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file: no directory below it
    validation.check({"port": 3306}, SCHEMA, "a.yaml")
    with pytest.raises(InvalidInput):
        validation.check({"port": 0}, SCHEMA, "a.yaml")
