"""Generate the CustomResourceDefinitions from the pydantic models.

Pydantic emits JSON Schema (draft 2020-12); Kubernetes wants a *structural* OpenAPI v3 schema.
The translation: inline every $ref, turn `anyOf: [X, null]` into `X` + `nullable`, turn
int-or-string unions into `x-kubernetes-int-or-string`, free-form objects into
`x-kubernetes-preserve-unknown-fields`, numeric exclusive bounds into OpenAPI 3.0 booleans, and
drop keywords the API server rejects (title, examples, additionalProperties beside properties).
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from refit.api.base import GROUP, VERSION
from refit.api.pipeline import TrainingPipelineSpec, TrainingPipelineStatus
from refit.api.run import TrainingRunSpec, TrainingRunStatus

_DROP = {"title", "examples", "$defs", "discriminator"}

JSON = dict[str, Any]


def _resolve(node: Any, defs: JSON) -> Any:
    """Inline $ref recursively (the API has no recursive types)."""
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        target = _resolve(copy.deepcopy(defs[name]), defs)
        # Sibling keywords (description, default) override the referenced schema's.
        siblings = {k: _resolve(v, defs) for k, v in node.items() if k != "$ref"}
        return {**target, **siblings}
    return {k: _resolve(v, defs) for k, v in node.items()}


def _structural(node: JSON) -> JSON:
    """Rewrite one schema node (and its children) into Kubernetes' structural dialect."""
    if "anyOf" in node:
        node = dict(node)
        variants = node.pop("anyOf")
        non_null = [v for v in variants if v.get("type") != "null"]
        nullable = len(non_null) != len(variants)
        types = sorted(v.get("type", "") for v in non_null)
        if len(non_null) == 1:
            node = {**non_null[0], **node}
        elif types == ["integer", "string"]:
            node["x-kubernetes-int-or-string"] = True
        else:
            raise ValueError(f"cannot express union {variants!r} structurally")
        if nullable:
            node["nullable"] = True
        if "default" in node and node["default"] is None:
            del node["default"]
    node = {k: v for k, v in node.items() if k not in _DROP}

    if node.get("x-kubernetes-int-or-string"):
        node.pop("type", None)

    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            node[plain] = node.pop(bound)
            node[bound] = True

    if node.get("x-kubernetes-preserve-unknown-fields"):
        node.pop("additionalProperties", None)
        node.setdefault("type", "object")
    elif "properties" in node:
        node.pop("additionalProperties", None)
    elif node.get("additionalProperties") is True:
        del node["additionalProperties"]
        node["x-kubernetes-preserve-unknown-fields"] = True

    if "const" in node:
        node["enum"] = [node.pop("const")]

    if "properties" in node:
        node["properties"] = {k: _structural(v) for k, v in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        node["items"] = _structural(node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = _structural(node["additionalProperties"])
    return node


def openapi_schema(model: type[BaseModel]) -> JSON:
    """The structural OpenAPI v3 schema of one model."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    schema = _structural(_resolve(raw, defs))
    return schema


def _object_schema(spec: type[BaseModel], status: type[BaseModel], description: str) -> JSON:
    spec_schema = openapi_schema(spec)
    status_schema = openapi_schema(status)
    return {
        "type": "object",
        "description": description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "APIVersion of this object: refit.dev/v1alpha1.",
            },
            "kind": {"type": "string", "description": "Kind of this object."},
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": status_schema,
        },
    }


def _condition_column(type_: str, name: str | None = None) -> JSON:
    return {
        "name": name or type_,
        "type": "string",
        "jsonPath": f'.status.conditions[?(@.type=="{type_}")].status',
    }


def _crd(kind: str, plural: str, short: str, schema: JSON, columns: list[JSON]) -> JSON:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "refit", "app.kubernetes.io/part-of": "refit"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": [short],
                "categories": ["refit"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def training_pipeline_crd() -> JSON:
    schema = _object_schema(
        TrainingPipelineSpec,
        TrainingPipelineStatus,
        "TrainingPipeline retrains one model on a schedule or on data drift, evaluates each "
        "candidate against the champion on the same validation data, and promotes winners in MLflow.",
    )
    columns: list[JSON] = [
        {"name": "Schedule", "type": "string", "jsonPath": ".spec.schedule.cron"},
        {"name": "Suspend", "type": "boolean", "jsonPath": ".spec.suspend", "priority": 1},
        {"name": "Last Run", "type": "string", "jsonPath": ".status.lastRun.name"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.lastRun.phase"},
        {"name": "Champion", "type": "string", "jsonPath": ".status.champion.version"},
        {"name": "Metric", "type": "string", "jsonPath": ".status.champion.metric"},
        {"name": "Value", "type": "number", "jsonPath": ".status.champion.metricValue"},
        _condition_column("DriftDetected", "Drift"),
        _condition_column("Ready"),
        {"name": "Next", "type": "date", "jsonPath": ".status.nextScheduleTime", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd("TrainingPipeline", "trainingpipelines", "tp", schema, columns)


def training_run_crd() -> JSON:
    schema = _object_schema(
        TrainingRunSpec,
        TrainingRunStatus,
        "TrainingRun is one execution of a TrainingPipeline: train, evaluate against the champion, decide.",
    )
    columns: list[JSON] = [
        {"name": "Pipeline", "type": "string", "jsonPath": ".spec.pipelineRef.name"},
        {"name": "Trigger", "type": "string", "jsonPath": ".spec.trigger.type"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Candidate", "type": "string", "jsonPath": ".status.candidate.version"},
        {"name": "Decision", "type": "string", "jsonPath": ".status.decision.reason"},
        {"name": "Started", "type": "date", "jsonPath": ".status.startTime", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd("TrainingRun", "trainingruns", "tr", schema, columns)


def all_crds() -> dict[str, JSON]:
    """File name → CRD, in the order they are written to crds/."""
    return {
        "refit.dev_trainingpipelines.yaml": training_pipeline_crd(),
        "refit.dev_trainingruns.yaml": training_run_crd(),
    }


def _kopf_peering_crd(scope: str) -> JSON:
    """kopf's peering resource: the lease through which only one operator replica is active."""
    kind = "KopfPeering" if scope == "Namespaced" else "ClusterKopfPeering"
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.kopf.dev"},
        "spec": {
            "group": "kopf.dev",
            "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "Presence of kopf-based operators, for leader selection.",
                            "properties": {
                                "status": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def kopf_peering_crds() -> list[JSON]:
    return [_kopf_peering_crd("Namespaced"), _kopf_peering_crd("Cluster")]
