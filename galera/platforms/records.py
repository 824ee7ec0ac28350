"""Operation records in files: a JSON file beside the cluster file, replaced atomically."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class FileStore:
    """A JSON file replaced atomically; one galeractl per cluster file is assumed."""

    path: Path

    @property
    def where(self) -> str:
        return str(self.path)

    def read(self) -> tuple[dict[str, Any], str | None]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            data = {}
        return (data if isinstance(data, dict) else {}), None

    def write(self, data: dict[str, Any], version: str | None) -> str | None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, self.path)
        return None
