"""TrainingRun: one execution of a pipeline (train, evaluate, decide), like a Job of a CronJob."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from refit.api.base import API_VERSION, Condition, ObjectMeta, RefitModel, conditions_field
from refit.api.enums import RunPhase, TriggerType
from refit.api.pipeline import (
    DataSpec,
    EvaluationSpec,
    MlflowSpec,
    ModelSpec,
    PromotionSpec,
    TrainerSpec,
)

_IMMUTABLE: JsonDict = {
    "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "is immutable"}]
}


class PipelineRef(RefitModel):
    """The pipeline this run belongs to; immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        json_schema_extra=_IMMUTABLE,
    )

    name: str = Field(
        min_length=1, max_length=253, description="Name of the TrainingPipeline (same namespace)."
    )


class Trigger(RefitModel):
    """What started the run; immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        json_schema_extra=_IMMUTABLE,
    )

    type: TriggerType = Field(default=TriggerType.MANUAL, description="Schedule, Drift or Manual.")
    scheduled_time: datetime | None = Field(
        default=None, description="The schedule tick or drift check this run answers (RFC 3339)."
    )
    reason: str | None = Field(
        default=None, max_length=1024, description="Why the run was started."
    )


class TrainingRunSpec(RefitModel):
    """What to run. The pipeline's specs are copied at creation so later edits do not change a run."""

    pipeline_ref: PipelineRef
    trigger: Trigger = Field(default_factory=Trigger, json_schema_extra={"default": {}})
    data: DataSpec | None = Field(default=None, description="Snapshot of the pipeline's data spec.")
    trainer: TrainerSpec | None = Field(
        default=None, description="Snapshot of the pipeline's trainer."
    )
    evaluation: EvaluationSpec | None = Field(
        default=None, description="Snapshot of the evaluation spec."
    )
    model: ModelSpec | None = Field(default=None, description="Snapshot of the model spec.")
    mlflow: MlflowSpec | None = Field(default=None, description="Snapshot of the MLflow spec.")
    promotion: PromotionSpec | None = Field(
        default=None, description="Snapshot of the promotion spec."
    )


class ModelScore(RefitModel):
    """A model version and its metrics on the validation data."""

    version: str | None = Field(default=None, description="Registered model version.")
    run_id: str | None = Field(default=None, description="MLflow run that produced the model.")
    metrics: dict[str, float] = Field(
        default_factory=dict, description="Metrics on the validation data."
    )


class Decision(RefitModel):
    """The promotion gate's verdict on the candidate."""

    promote: bool = Field(description="Whether the candidate should replace the champion.")
    reason: str = Field(description="CamelCase reason, e.g. CandidateWon, NotBetter, NoChampion.")
    message: str = Field(default="", description="Human-readable explanation with the numbers.")


class TrainingRunStatus(RefitModel):
    """Observed state of a TrainingRun. Written by the operator only."""

    observed_generation: int | None = Field(
        default=None, description="The .metadata.generation this status reflects."
    )
    phase: RunPhase = Field(
        default=RunPhase.PENDING, description="Where the run is in its lifecycle."
    )
    conditions: list[Condition] = conditions_field("Trained, Evaluated, Promoted, Succeeded.")
    training_job: str | None = Field(default=None, description="Name of the training Job.")
    evaluation_job: str | None = Field(default=None, description="Name of the evaluation Job.")
    mlflow_run_id: str | None = Field(default=None, description="MLflow run of this TrainingRun.")
    mlflow_run_url: str | None = Field(
        default=None, description="Link to the run in the MLflow UI."
    )
    experiment_id: str | None = Field(default=None, description="MLflow experiment id.")
    candidate: ModelScore | None = Field(default=None, description="The newly trained model.")
    champion: ModelScore | None = Field(
        default=None, description="The champion it was compared with."
    )
    decision: Decision | None = Field(default=None, description="The gate's decision.")
    failure_reason: str | None = Field(
        default=None, max_length=4096, description="One line on why the run failed."
    )
    start_time: datetime | None = Field(default=None, description="When the run started.")
    completion_time: datetime | None = Field(
        default=None, description="When it reached a terminal phase."
    )


class TrainingRun(RefitModel):
    """One execution of a TrainingPipeline."""

    KIND: ClassVar[str] = "TrainingRun"
    api_version: Literal["refit.dev/v1alpha1"] = API_VERSION  # type: ignore[assignment]
    kind: Literal["TrainingRun"] = "TrainingRun"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: TrainingRunSpec
    status: TrainingRunStatus | None = None
