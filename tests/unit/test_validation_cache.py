"""A cluster file read again unchanged is neither parsed nor validated again; any change to
the text or the schema is, and an invalid file is never noted."""

from __future__ import annotations

from pathlib import Path

import pytest

from galera import validation
from galera.config import yamltext
from galera.errors import InvalidInput

SCHEMA = {
    "type": "object",
    "properties": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}},
    "additionalProperties": False,
}
PATH = Path("cluster.yaml")


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "galeractl" / "valid"


def read(text: str, schema: dict[str, object] = SCHEMA) -> dict[str, object]:
    return yamltext.valid_document(text, PATH, schema, "must be a mapping")


def test_a_valid_file_is_noted_with_what_it_parsed_to(cache: Path) -> None:
    assert read("port: 3306\n") == {"port": 3306}
    assert validation.known("port: 3306\n", SCHEMA) == {"port": 3306}
    assert len(list(cache.iterdir())) == 1
    assert read("port: 3306\n") == {"port": 3306}  # from the note
    assert len(list(cache.iterdir())) == 1


def test_an_invalid_file_is_never_noted(cache: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^cluster.yaml: port: must be an integer from 1"):
        read("port: 70000\n")
    with pytest.raises(InvalidInput, match="must be a mapping"):
        read("- 1\n")
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_changed_text_or_schema_is_validated_again() -> None:
    read("port: 3306\n")
    narrower = {**SCHEMA, "properties": {"port": {"type": "integer", "maximum": 1024}}}
    with pytest.raises(InvalidInput, match="port"):
        read("port: 3306\n", narrower)
    with pytest.raises(InvalidInput, match="unknown key"):
        read("port: 3306\nextra: 1\n")


def test_a_document_json_cannot_carry_exactly_is_not_noted() -> None:
    schema = {"type": "object"}
    assert read("1: one\n", schema) == {1: "one"}  # an int key would come back a string
    assert validation.known("1: one\n", schema) is None


def test_without_a_writable_cache_every_read_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file: no directory below it
    assert read("port: 3306\n") == {"port": 3306}
    with pytest.raises(InvalidInput):
        read("port: 0\n")


def test_a_note_that_is_a_symlink_is_not_trusted(cache: Path) -> None:
    read("port: 3306\n")
    read("port: 3307\n")
    first, second = sorted(cache.iterdir(), key=lambda p: p.read_text())
    assert first.read_text() == '{"port": 3306}'
    second.unlink()
    second.symlink_to(first)  # someone swaps in another valid document
    assert validation.known("port: 3307\n", SCHEMA) is None
    assert read("port: 3307\n") == {"port": 3307}
