"""One typed event and one renderer: the JSON shape, the human line, YAML documents, and a
documentation page that names every kind (pipelines parse the stream)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from galera.cli import output
from galera.domain import events
from galera.domain.events import Kind

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_the_json_shape_is_the_core_then_the_details() -> None:
    event = events.of(Kind.GATE, "galera-1", "all other members Synced", ok=True)
    assert event.as_dict() == {
        "event": "gate",
        "member": "galera-1",
        "reason": "all other members Synced",
        "ok": True,
    }
    assert events.of(Kind.SUMMARY, restarted=["a"]).as_dict() == {
        "event": "summary",
        "restarted": ["a"],
    }


def test_every_kind_is_documented_and_nothing_else() -> None:
    kinds = DOCS.read_text().split("## Kinds", 1)[1]
    documented = set(re.findall(r"^\| `([a-z_]+)`", kinds, flags=re.M))
    assert documented == {k.value for k in Kind}


def render(fmt: str, *evts: events.Event) -> str:
    @click.command()
    def cmd() -> None:
        emit = output.events(fmt)
        for e in evts:
            emit(e)

    result = CliRunner().invoke(cmd)
    assert result.exit_code == 0, result.output
    return result.output


STREAM = (
    events.of(Kind.PLAN, reason="gate passed", action="rollout", order=["b", "a"], options={}),
    events.of(Kind.GATE, "b", "gate passed", ok=True),
    events.of(Kind.SUMMARY, restarted=["b", "a"], resumed=False),
)


def test_json_is_one_object_per_line() -> None:
    lines = render("json", *STREAM).splitlines()
    assert [json.loads(line) for line in lines] == [e.as_dict() for e in STREAM]


def test_yaml_is_one_document_per_event() -> None:
    docs = list(yaml.safe_load_all(render("yaml", *STREAM)))
    assert docs == [e.as_dict() for e in STREAM]


@pytest.mark.parametrize(
    ("event", "line"),
    [
        pytest.param(STREAM[0], "decision: rollout: gate passed\norder: b, a", id="rollout-plan"),
        pytest.param(
            events.Event(
                Kind.PLAN,
                details={"action": "refuse", "reason": "galera-0 is Primary", "member": None},
            ),
            "decision: refuse: galera-0 is Primary",
            id="bootstrap-plan",
        ),
        pytest.param(STREAM[2], "done: restarted b, a", id="rollout-summary"),
        pytest.param(
            events.of(Kind.SUMMARY, verdict="healthy", reason="3 of 3 Synced"),
            "done: cluster healthy (3 of 3 Synced)",
            id="bootstrap-summary",
        ),
        pytest.param(events.of(Kind.SUMMARY, dry_run=True), "dry run: nothing changed", id="dry"),
        pytest.param(
            events.of(
                Kind.MEMBER,
                "galera-2",
                running=False,
                primary=False,
                position="u:7",
                empty=False,
                error=None,
            ),
            "  galera-2     down     u:7",
            id="member",
        ),
        pytest.param(STREAM[1], "  gate: member=b reason=gate passed ok=True", id="other"),
    ],
)
def test_the_table_line(event: events.Event, line: str) -> None:
    assert output.line(event) == line
