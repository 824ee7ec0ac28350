"""Configuration that galeractl reads: the cluster file (:mod:`.clusterfile`), the agent's
configuration (:mod:`.agent`), MySQL option files (:mod:`.optionfile`) and agent tokens
(:mod:`.token`).

Each file is checked against a JSON Schema shipped next to this module
(``cluster.schema.json``, ``agent.schema.json``) by :func:`galera.validation.check`, so that every
error is one line naming the file, the key and what is allowed; the few checks a schema cannot
express (unique member names, ...) follow as small Python checks.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``<name>.schema.json`` shipped with this package (a file beside this
    module: importlib.resources would cost a short command ~20 ms of imports)."""
    text = Path(__file__).with_name(f"{name}.schema.json").read_text()
    data = json.loads(text)
    assert isinstance(data, dict)
    return data
