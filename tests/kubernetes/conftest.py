"""Shared by the Kubernetes tests: the real helm binary (scripts/install-k8s-tools)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.helpers import ROOT


@pytest.fixture(scope="session")
def helm() -> str:
    found = str(ROOT / ".tools" / "bin" / "helm")
    if not os.access(found, os.X_OK):
        found = shutil.which("helm") or ""
    if not found:
        reason = "helm not found: run scripts/install-k8s-tools (.tools/bin/helm)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; the chart must be tested in CI")
        pytest.skip(reason)
    return found
