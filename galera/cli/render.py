"""``galeractl render``: the Kubernetes manifests of a cluster from validated values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

VALUES = click.option(
    "-f",
    "--values",
    "values_files",
    multiple=True,
    metavar="FILE",
    help="Values file (YAML); repeat to layer several, later ones win. "
    "Defaults: templates/kubernetes/values.yaml.",
)


@click.command()
@VALUES
@click.option(
    "-o",
    "--output",
    "output",
    default="-",
    show_default=True,
    metavar="DIR|-",
    help="A directory (one file per object) or - for one YAML stream on stdout.",
)
def render(values_files: tuple[str, ...], output: str) -> None:
    """Render the StatefulSet, Services, PDB, ConfigMap (and optional garbd and monitoring).

    Values are checked against the schema before anything is written; an error names the
    key and what is allowed.
    """
    from galera.errors import InvalidInput
    from galera.render import manifests

    values, source = load_values(values_files)
    objects = manifests.objects(values, source)
    if output == "-":
        click.echo(manifests.dump(objects), nl=False)
        return
    target = Path(output)
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"-o {output}: exists and is not a directory")
    target.mkdir(parents=True, exist_ok=True)
    for obj in objects:
        (target / manifests.file_name(obj)).write_text(manifests.dump([obj]))
    click.echo(f"wrote {len(objects)} objects to {target}", err=True)


def load_values(values_files: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    """The values files merged in order (later ones win), and the last one's name for errors."""
    from galera.config.yamltext import load_yaml
    from galera.errors import InvalidInput
    from galera.render import manifests

    values: dict[str, Any] = {}
    source = "values"
    for name in values_files:
        path = Path(name)
        try:
            data = load_yaml(path.read_text()) or {}
        except OSError as e:
            raise InvalidInput(f"values file {path}: {e.strerror}") from None
        except Exception as e:  # yaml.YAMLError, without importing yaml here
            first = str(e).splitlines()[0]
            raise InvalidInput(f"values file {path}: not valid YAML: {first}") from None
        if not isinstance(data, dict):
            raise InvalidInput(f"values file {path}: must be a mapping of values")
        values = manifests.merge(values, data)
        source = str(path)
    return values, source
