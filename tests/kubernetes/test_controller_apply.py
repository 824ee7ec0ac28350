"""The controller installs the cluster from values (the Helm chart's path): what it applies
is exactly what ``galeractl render`` produces, it applies again only when the values
change, and bad values change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import events, galeractl, of, one_line_error
from tests.kubernetes import apiserver, test_chart
from tests.kubernetes.apiserver import NAMESPACE, SECRETS, Emulator

HERE = Path(__file__).parent
CLIENT_CNF = "[client]\nuser = monitor\npassword = pw\n"
MUTATING = ("POST", "PUT", "PATCH", "DELETE")
NETWORK_POLICIES = "networking.k8s.io/v1/networkpolicies"


@pytest.fixture
def api() -> Iterator[tuple[Emulator, str]]:
    with apiserver.serving() as (emu, url):
        emu.seed(SECRETS, apiserver.secret("orders-secrets", {"client.cnf": CLIENT_CNF}))
        emu.seed(SECRETS, apiserver.secret("galera-secrets", {"client.cnf": CLIENT_CNF}))
        yield emu, url


def controller_args(url: str, values: Path) -> list[str]:
    return [*apiserver.kube_args(url, "controller"), "--apply", str(values), "--interval", "0.2"]


def controller(url: str, values: Path, *args: str) -> Any:
    """One or a few cycles of the controller (--cycles 1 unless given)."""
    cycles = [] if "--cycles" in args else ["--cycles", "1"]
    return galeractl(*controller_args(url, values), *cycles, *args)


def applied(emu: Emulator) -> dict[tuple[str, str], dict[str, Any]]:
    """The last body galeractl sent for every object, by (kind, name), without the mark
    the controller adds (galeractl.io/applied-from)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in emu:
        if r.method in ("PATCH", "POST") and isinstance(r.data, dict) and "kind" in r.data:
            if r.data["kind"] in ("Event", "Lease"):
                continue
            body = json.loads(json.dumps(r.data))
            annotations = body["metadata"].get("annotations") or {}
            assert annotations.pop("galeractl.io/applied-from") == "values"
            if not annotations:
                body["metadata"].pop("annotations", None)
            out[body["kind"], body["metadata"]["name"]] = body
    return out


def multisite_values(tmp_path: Path) -> Path:
    values = yaml.safe_load((HERE / "values" / "multisite.yaml").read_text())
    values["monitoring"] = {
        "serviceMonitor": {"enabled": False},
        "prometheusRule": {"enabled": False},
    }
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_applied_objects_are_exactly_what_render_produces(
    api: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, url = api
    values = multisite_values(tmp_path)
    result = controller(url, values, "--statefulset", "orders")
    assert result.code == 0, result.stderr
    rendered = list(yaml.safe_load_all(galeractl("render", "-f", str(values)).stdout))
    sent = applied(emu)
    assert sorted(sent) == sorted((o["kind"], o["metadata"]["name"]) for o in rendered)
    for obj in rendered:
        assert sent[obj["kind"], obj["metadata"]["name"]] == obj
    patches = [r for r in emu if r.method == "PATCH" and r.resource == apiserver.STATEFULSETS]
    assert all(r.params.get("fieldManager") == "galeractl" for r in patches)
    policies = [r for r in emu if r.method == "PATCH" and r.resource == NETWORK_POLICIES]
    assert sorted(r.name for r in policies) == ["orders", "orders-arbitrator"]
    assert of(events(result), "applied")


def test_scheduled_backups_are_applied_through_their_own_apis(
    api: tuple[Emulator, str], tmp_path: Path
) -> None:
    """The CronJob, its volume claim, ServiceAccount, Role and RoleBinding go to their own
    API groups (batch, core, rbac), exactly as rendered."""
    emu, url = api
    values = tmp_path / "values.yaml"
    values.write_text((HERE / "values" / "backup.yaml").read_text())
    result = controller(url, values)
    assert result.code == 0, result.stderr
    rendered = list(yaml.safe_load_all(galeractl("render", "-f", str(values)).stdout))
    sent = applied(emu)
    for obj in rendered:
        assert sent[obj["kind"], obj["metadata"]["name"]] == obj
    for resource in (
        "batch/v1/cronjobs",
        "v1/persistentvolumeclaims",
        "v1/serviceaccounts",
        "rbac.authorization.k8s.io/v1/roles",
        "rbac.authorization.k8s.io/v1/rolebindings",
    ):
        patches = [r for r in emu if r.method == "PATCH" and r.resource == resource]
        assert [r.name for r in patches] == ["galera-backup"], resource


def test_unchanged_values_are_not_applied_again(api: tuple[Emulator, str], tmp_path: Path) -> None:
    emu, url = api
    values = tmp_path / "values.yaml"
    values.write_text("replicas: 3\n")
    result = controller(url, values, "--cycles", "3")
    assert result.code == 0, result.stderr
    assert len(of(events(result), "applied")) == 1
    patches = [r for r in emu if r.method == "PATCH" and r.resource == apiserver.STATEFULSETS]
    assert len(patches) == 1


def test_bad_values_are_refused_and_nothing_is_applied(
    api: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, url = api
    values = tmp_path / "values.yaml"
    values.write_text("replicas: three\n")
    result = controller(url, values)
    assert result.code == 2
    assert "replicas: must be an integer from 1 to 15 (got 'three')" in one_line_error(result)
    assert not [r for r in emu if r.method in MUTATING]


def test_apply_without_kube_is_bad_input(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("{}\n")
    result = galeractl("controller", "--apply", str(values), "--cycles", "1", "-c", "x.yaml")
    assert result.code == 2
    assert "--apply needs --kube" in one_line_error(result)


def test_a_standby_controller_applies_nothing(api: tuple[Emulator, str], tmp_path: Path) -> None:
    """Another controller holds the Lease: this one waits, and changes nothing."""
    import subprocess
    import sys

    from tests.helpers import ROOT

    emu, url = api
    emu.seed(
        apiserver.LEASES,
        {
            "metadata": {"name": "galera-galeractl", "namespace": NAMESPACE},
            "spec": {
                "holderIdentity": "controller-b",
                "renewTime": apiserver.now(),
                "leaseDurationSeconds": 60,
            },
        },
    )
    values = tmp_path / "values.yaml"
    values.write_text("replicas: 3\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "galera", *controller_args(url, values)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, _err = proc.communicate(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _err = proc.communicate()
    assert '"event": "standby"' in out
    # No StatefulSet exists yet to attach an Event to: nothing at all is written.
    assert not [r for r in emu if r.method in MUTATING]


def test_the_chart_installs_the_same_statefulset_that_render_produces(
    api: tuple[Emulator, str], tmp_path: Path, helm: str
) -> None:
    """helm template → the chart's values ConfigMap → the controller's apply: the StatefulSet
    that reaches the API is exactly `galeractl render` of the same galera values."""
    chart_values = HERE / "values" / "chart-nontrivial.yaml"
    objs = test_chart.template(helm, "-f", str(chart_values))
    configmap = next(
        o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-values")
    )
    values = tmp_path / "values.yaml"
    values.write_text(configmap["data"]["values.yaml"])
    emu, url = api
    name = yaml.safe_load(values.read_text())["name"]
    result = controller(url, values, "--statefulset", name)
    assert result.code == 0, result.stderr
    galera = yaml.safe_load(chart_values.read_text())["galera"]
    (tmp_path / "galera.yaml").write_text(yaml.safe_dump(galera))
    rendered = list(
        yaml.safe_load_all(galeractl("render", "-f", str(tmp_path / "galera.yaml")).stdout)
    )
    sets = [o for o in rendered if o["kind"] == "StatefulSet"]
    assert sets
    sent = applied(emu)
    for sts in sets:
        # The controller places the objects in its namespace; nothing else differs.
        placed = {**sts, "metadata": {**sts["metadata"], "namespace": NAMESPACE}}
        assert sent["StatefulSet", sts["metadata"]["name"]] == placed


def test_an_image_upgrade_of_a_controller_managed_statefulset_is_refused(
    api: tuple[Emulator, str], tmp_path: Path
) -> None:
    """The controller would put the values' image back: the change belongs in the values."""
    emu, url = api
    values = tmp_path / "values.yaml"
    values.write_text("replicas: 3\n")
    assert controller(url, values).code == 0
    sts = emu.current(apiserver.STATEFULSETS, "galera")
    assert sts is not None
    for ordinal in range(3):  # the StatefulSet controller's pods (loopback: nothing answers)
        emu.seed(apiserver.PODS, apiserver.pod_for(sts, ordinal, f"127.0.0.{ordinal + 10}"))
    before = len([r for r in emu if r.method in MUTATING])
    result = galeractl(
        "upgrade", "--kube", "--kube-api", url, "-n", NAMESPACE, "--image", "x/y:2", "--yes"
    )
    assert result.code == 2
    assert "change galera.image there" in one_line_error(result)
    mutations = [r for r in emu if r.method in MUTATING][before:]
    assert not [r for r in mutations if r.method in ("PATCH", "DELETE")]
