"""Render the Helm chart with the pinned helm (tests/cluster/build.sh) into Python objects.

``render_chart(values)`` is what the chart tests use, and what a dry-run against the real
control plane (kubectl apply --dry-run=server) can feed on.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tests.tools import find_tool

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "refit"
RELEASE = "refit"
NAMESPACE = "refit-system"


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(find_tool("helm")), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{done.stderr}{done.stdout}")
    return done


def template_args(
    values: dict[str, Any] | None, values_file: Path, *, namespace: str, include_crds: bool
) -> list[str]:
    # JSON is YAML: writing the values as JSON keeps every type (strings stay strings).
    values_file.write_text(json.dumps(values or {}))
    args = ["template", RELEASE, str(CHART), "--namespace", namespace, "-f", str(values_file)]
    return [*args, "--include-crds"] if include_crds else args


def render_chart(
    values: dict[str, Any] | None = None,
    *,
    namespace: str = NAMESPACE,
    include_crds: bool = False,
) -> list[dict[str, Any]]:
    """The objects ``helm template`` renders for ``values`` (CRDs too with include_crds)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = template_args(
            values, Path(tmp) / "values.json", namespace=namespace, include_crds=include_crds
        )
        out = helm(*args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def render_error(values: dict[str, Any], *, namespace: str = NAMESPACE) -> str:
    """helm's error output for values that must be refused (schema or template checks)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = template_args(
            values, Path(tmp) / "values.json", namespace=namespace, include_crds=False
        )
        done = helm(*args, check=False)
    assert done.returncode != 0, f"helm accepted {values}"
    return done.stderr


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]
