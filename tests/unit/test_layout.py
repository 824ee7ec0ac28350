"""The shape the architecture promises: short observe/decide/act functions in the controller
and the CLI, modules small enough to read, and no test tooling in the wheel."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tomllib

from tests.helpers import ROOT

PACKAGE = ROOT / "galera"


def functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    return [
        (node.name, node.end_lineno - node.lineno + 1)  # type: ignore[operator]
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


@pytest.mark.parametrize("layer", ["controller", "cli"])
def test_no_function_in_the_controller_or_cli_is_over_60_lines(layer: str) -> None:
    long = [
        f"{path.relative_to(ROOT)}:{name} ({lines} lines)"
        for path in sorted((PACKAGE / layer).glob("*.py"))
        for name, lines in functions(path)
        if lines > 60
    ]
    assert long == []


def test_no_module_is_over_500_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)} ({n} lines)"
        for path in sorted(PACKAGE.rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > 500
    ]
    assert long == []


def test_the_wheel_leaves_the_test_tooling_out() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert "galera/testing" in wheel["exclude"]
