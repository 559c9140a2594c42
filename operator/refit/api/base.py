"""Shared pieces of the Refit API: the model base class and small reusable types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from refit.api.enums import ConditionStatus

GROUP = "refit.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# Kubernetes-style duration: one or more <number><unit>, unit in s, m, h, d ("90s", "1h30m", "7d").
DURATION_PATTERN = r"^([0-9]+(s|m|h|d))+$"
Duration = Annotated[str, Field(pattern=DURATION_PATTERN, max_length=32)]

# A DNS-1123 label / subdomain, as Kubernetes names require.
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

# Data locations are URIs read through fsspec, or absolute paths on a mounted volume.
DATA_URI_PATTERN = r"^((file|s3|gs|gcs|az|abfs|abfss|http|https|hf|memory)://\S+|/\S*)$"
DataUri = Annotated[str, Field(pattern=DATA_URI_PATTERN, max_length=2048)]

# Free-form Kubernetes objects (affinity, volumes, podFailurePolicy): validated by the API server
# when the Job is created, not duplicated here.
KubeObject = Annotated[
    dict[str, Any], Field(json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})
]


class RefitModel(BaseModel):
    """Base of every API model: camelCase on the wire, unknown fields refused offline."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_enum_values=False,
        validate_default=True,
    )

    def wire(self) -> dict[str, Any]:
        """The object as the Kubernetes API stores it: camelCase, no unset or null fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class LocalObjectReference(RefitModel):
    """A reference to an object in the same namespace."""

    name: str = Field(
        description="Name of the referenced object.",
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN_PATTERN,
    )


class SecretKeySelector(RefitModel):
    """One key of a Secret in the same namespace. Only the reference is stored, never the value."""

    name: str = Field(description="Name of the Secret.", min_length=1, max_length=253)
    key: str = Field(description="Key within the Secret.", min_length=1, max_length=253)


class Condition(RefitModel):
    """An observation of one aspect of the object's state (Kubernetes API conventions)."""

    type: str = Field(
        description="Type of the condition, in CamelCase (Ready, Running, DriftDetected, ...).",
        min_length=1,
        max_length=316,
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(
        default="Unknown",
        description="Machine-readable CamelCase reason for the last transition.",
        max_length=1024,
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
    )
    message: str = Field(default="", description="Human-readable details.", max_length=32768)
    last_transition_time: datetime | None = Field(
        default=None,
        description="When status last changed (not when the condition was last written).",
    )
    observed_generation: int | None = Field(
        default=None, ge=0, description="The .metadata.generation the condition was set from."
    )


def conditions_field(description: str) -> Any:
    """A list of conditions, a list-map keyed by type so server-side apply merges it per type."""
    return Field(
        default_factory=list,
        description=description,
        max_length=32,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )


class ObjectMeta(RefitModel):
    """The subset of metadata Refit reads offline (`refit validate`); the API server owns the rest."""

    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)

    name: str | None = Field(default=None, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)
    generate_name: str | None = Field(default=None, max_length=253)
    namespace: str | None = Field(default=None, max_length=63, pattern=DNS_LABEL_PATTERN)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    creation_timestamp: datetime | None = None
