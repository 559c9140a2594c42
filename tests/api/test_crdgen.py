"""The generated CRDs: up to date, structural, self-documenting, with the promised extras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from refit.api.crdgen import all_crds
from refit.cli import crd as crd_files

REPO = Path(__file__).resolve().parents[2]
CRDS = all_crds()


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = CRDS[name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _nodes(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every schema node with its field path."""
    out: list[tuple[str, dict[str, Any]]] = [(path, node)]
    for key, child in node.get("properties", {}).items():
        out += _nodes(child, f"{path}.{key}")
    if isinstance(node.get("items"), dict):
        out += _nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        out += _nodes(node["additionalProperties"], f"{path}{{}}")
    return out


def test_committed_crds_match_the_models() -> None:
    assert crd_files.stale(REPO / "crds") == [], "run `make crds`"


def test_stale_detection_notices_an_edit(tmp_path: Path) -> None:
    crd_files.write(tmp_path)
    assert crd_files.stale(tmp_path) == []
    target = tmp_path / "refit.dev_trainingruns.yaml"
    target.write_text(target.read_text() + "# edited by hand\n")
    assert crd_files.stale(tmp_path) == ["refit.dev_trainingruns.yaml"]


@pytest.mark.parametrize("name", sorted(CRDS))
def test_schema_is_structural(name: str) -> None:
    text = str(CRDS[name])
    assert "$ref" not in text and "$defs" not in text
    for path, node in _nodes(_schema(name)):
        assert "anyOf" not in node and "oneOf" not in node, path
        assert "title" not in node, path
        if node.get("x-kubernetes-int-or-string"):
            continue
        assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), path
        if "properties" in node:
            assert "additionalProperties" not in node, path
        if isinstance(node.get("exclusiveMinimum"), float | int):
            assert isinstance(node["exclusiveMinimum"], bool), path


@pytest.mark.parametrize("name", sorted(CRDS))
def test_every_field_is_described(name: str) -> None:
    undocumented = [
        path
        for path, node in _nodes(_schema(name))
        if path.count(".") >= 2
        and not path.endswith("[]")
        and not path.endswith("}")
        and "description" not in node
    ]
    assert undocumented == []


@pytest.mark.parametrize("name", sorted(CRDS))
def test_conditions_are_a_list_map_keyed_by_type(name: str) -> None:
    conditions = _schema(name)["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert "type" in conditions["items"]["required"]


def test_names_status_subresource_and_columns() -> None:
    tp = CRDS["refit.dev_trainingpipelines.yaml"]["spec"]
    tr = CRDS["refit.dev_trainingruns.yaml"]["spec"]
    assert tp["names"]["shortNames"] == ["tp"] and tr["names"]["shortNames"] == ["tr"]
    assert tp["names"]["categories"] == ["refit"] == tr["names"]["categories"]
    for spec in (tp, tr):
        version = spec["versions"][0]
        assert version["subresources"] == {"status": {}}
        assert spec["scope"] == "Namespaced"
    columns = {c["name"] for c in tp["versions"][0]["additionalPrinterColumns"]}
    assert {
        "Schedule",
        "Last Run",
        "Champion",
        "Metric",
        "Value",
        "Drift",
        "Ready",
        "Age",
    } <= columns


def test_cel_rules_are_attached() -> None:
    rules = [
        rule["rule"]
        for _, node in _nodes(_schema("refit.dev_trainingruns.yaml"))
        for rule in node.get("x-kubernetes-validations", [])
    ]
    assert "self == oldSelf" in rules  # pipelineRef and trigger immutable
    tp_rules = [
        rule["message"]
        for _, node in _nodes(_schema("refit.dev_trainingpipelines.yaml"))
        for rule in node.get("x-kubernetes-validations", [])
    ]
    assert any("championAlias" in m for m in tp_rules)
    assert any("current data" in m for m in tp_rules)


def test_defaults_and_bounds_reach_the_schema() -> None:
    spec = _schema("refit.dev_trainingpipelines.yaml")["properties"]["spec"]["properties"]
    drift = spec["triggers"]["properties"]["drift"]["properties"]
    assert drift["driftShare"]["default"] == 0.5
    assert drift["driftShare"]["minimum"] == 0 and drift["driftShare"]["exclusiveMinimum"] is True
    assert drift["driftShare"]["maximum"] == 1
    assert spec["concurrencyPolicy"]["default"] == "Forbid"
    assert spec["concurrencyPolicy"]["enum"] == ["Forbid", "Allow", "Replace"]
    improvement = spec["evaluation"]["properties"]["minImprovement"]["properties"]["relative"]
    assert (improvement["minimum"], improvement["maximum"]) == (0, 1)
    assert spec["successfulRunsHistoryLimit"]["minimum"] == 0
    gpu = spec["trainer"]["properties"]["resources"]["properties"]["limits"]["additionalProperties"]
    assert gpu == {"x-kubernetes-int-or-string": True}
