"""Shared pieces of the Refit API: the model base class and small reusable types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
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

# Free text that names something (a model, a metric, a column): any script and emoji, but no
# control characters (newlines, BEL) and no invisible format characters (Unicode Cf: the
# right-to-left override U+202E that makes "sales\u202Egpj.exe" render as "salesexe.jpg",
# zero-width spaces and joiners, BOM), which make two names that look identical differ.
# \p{..} classes work in both engines that check it: Rust's regex (pydantic) and Go's RE2
# (the API server).
PRINTABLE_PATTERN = r"^[^\p{Cc}\p{Cf}]+$"
PrintableName = Annotated[str, Field(min_length=1, max_length=256, pattern=PRINTABLE_PATTERN)]

# A container image reference: no whitespace or control characters anywhere (a newline in an
# image is how "trainer:1\n; curl ... | sh" would smuggle a second line into a log or a script).
IMAGE_PATTERN = r"^[^\s\p{Cc}\p{Cf}]+$"

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


# metadata limits the API server enforces (apimachinery validation); `refit validate` checks them
# offline too, so that a manifest it accepts is not refused by `kubectl apply`.
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
LABEL_NAME_PATTERN = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
TOTAL_ANNOTATION_BYTES = 256 * 1024  # metadata.annotations: keys and values together


class ObjectMeta(RefitModel):
    """The subset of metadata Refit reads offline (`refit validate`); the API server owns the rest."""

    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)

    name: str | None = Field(default=None, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)
    generate_name: str | None = Field(default=None, max_length=253)
    namespace: str | None = Field(default=None, max_length=63, pattern=DNS_LABEL_PATTERN)
    labels: dict[
        Annotated[str, Field(max_length=316, pattern=LABEL_NAME_PATTERN)],
        Annotated[str, Field(max_length=63, pattern=LABEL_VALUE_PATTERN)],
    ] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    creation_timestamp: datetime | None = None

    @field_validator("annotations")
    @classmethod
    def _annotations_fit(cls, value: dict[str, str]) -> dict[str, str]:
        size = sum(len(k.encode()) + len(v.encode()) for k, v in value.items())
        if size > TOTAL_ANNOTATION_BYTES:
            raise ValueError(
                f"annotations total {size} bytes; the API server allows at most "
                f"{TOTAL_ANNOTATION_BYTES} (keys and values together)"
            )
        return value
