"""TrainingPipeline: the long-lived object, like a CronJob, that retrains one model."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from refit.api.base import (
    API_VERSION,
    DNS_SUBDOMAIN_PATTERN,
    IMAGE_PATTERN,
    PRINTABLE_PATTERN,
    Condition,
    DataUri,
    Duration,
    KubeObject,
    LocalObjectReference,
    ObjectMeta,
    PrintableName,
    RefitModel,
    SecretKeySelector,
    conditions_field,
)
from refit.api.enums import (
    ConcurrencyPolicy,
    Direction,
    MissedRunPolicy,
    NoChampionPolicy,
    PromotionMode,
    RunPhase,
    StatTest,
    TriggerType,
)

CRON_FIELD_CHARS = r"[0-9A-Za-z*/,\-?H()]+"
CRON_MACROS = "yearly|annually|monthly|weekly|daily|midnight|hourly"
CRON_PATTERN = rf"^\s*(@({CRON_MACROS})|{CRON_FIELD_CHARS}(\s+{CRON_FIELD_CHARS}){{4}})\s*$"
TIME_ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"

Cron = Annotated[
    str,
    Field(
        pattern=CRON_PATTERN,
        max_length=128,
        description=(
            "Five-field cron expression (minute hour day-of-month month day-of-week). "
            "`H` in a field stands for a value hashed from the pipeline's namespace and name, "
            "so a fleet spreads out instead of firing at the same instant; `H(0-29)` bounds it."
        ),
    ),
]
TimeZone = Annotated[
    str,
    Field(
        pattern=TIME_ZONE_PATTERN,
        max_length=64,
        description="IANA time zone of the cron fields, e.g. Europe/Berlin. Defaults to UTC.",
    ),
]


class ScheduleSpec(RefitModel):
    """When to retrain on a clock, CronJob-style, with explicit policies for missed ticks."""

    cron: Cron
    time_zone: TimeZone = "UTC"
    starting_deadline_seconds: int | None = Field(
        default=None,
        ge=0,
        le=31_536_000,
        description=(
            "A tick more than this many seconds in the past is missed rather than started. "
            "Unset means no deadline: a late tick still runs (subject to missedRunPolicy)."
        ),
    )
    missed_run_policy: MissedRunPolicy = Field(
        default=MissedRunPolicy.RUN_LATEST,
        description=(
            "After downtime: RunLatest starts one run for the latest missed tick, Skip starts none "
            "and waits for the next tick, RunAll starts one run per missed tick up to maxMissedRuns."
        ),
    )
    max_missed_runs: int = Field(
        default=5,
        ge=1,
        le=100,
        description="With RunAll, the most missed ticks to catch up on (the latest ones); never a storm.",
    )


class DriftTriggerSpec(RefitModel):
    """Retrain when a statistical test says the current data drifted from the reference data."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.threshold) || self.stattest in ['wasserstein', 'jensenshannon', 'psi'] || self.threshold < 1.0",
                    "message": "threshold of a p-value test (ks, chisquare, ztest, auto) must be below 1",
                },
                {
                    # Map keys have no schema of their own in a CRD (no propertyNames).
                    "rule": "!has(self.featureStattests) || self.featureStattests.all(k, size(k) >= 1 && size(k) <= 256 && !k.matches('[\\\\p{Cc}\\\\p{Cf}]'))",
                    "message": "featureStattests keys are column names: 1 to 256 characters, no control or invisible format characters",
                    "fieldPath": ".featureStattests",
                },
            ]
        },
    )

    check_schedule: Cron = Field(description="Cron expression of the drift checks (H allowed).")
    time_zone: TimeZone = "UTC"
    reference_data: DataUri | None = Field(
        default=None,
        description="Reference data. Defaults to spec.data.reference, then spec.data.train.",
    )
    current_data: DataUri | None = Field(
        default=None,
        description="Current (production) data to compare. Defaults to spec.data.current.",
    )
    features: list[PrintableName] = Field(
        default_factory=list,
        max_length=1000,
        description="Columns to test. Empty means every column present in both datasets.",
    )
    stattest: StatTest = Field(
        default=StatTest.AUTO,
        description=(
            "Test for every feature. auto follows Evidently's defaults: with at most 1000 reference "
            "rows, ks for numeric and chisquare (ztest when binary) for categorical columns; above "
            "that, normed wasserstein for numeric and jensenshannon for categorical columns."
        ),
    )
    threshold: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Drift threshold of the chosen test: a p-value below it (ks, chisquare, ztest) or a "
            "distance at or above it (wasserstein, jensenshannon, psi) means drift. Defaults to "
            "0.05 for p-value tests, 0.1 for wasserstein and jensenshannon, 0.1 for psi."
        ),
    )
    feature_stattests: dict[str, StatTest] = Field(
        default_factory=dict, description="Per-feature override of the test, by column name."
    )
    drift_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="The dataset drifted when at least this share of the tested features drifted.",
    )
    min_sample_size: int = Field(
        default=30,
        ge=1,
        description="Fewer rows than this in either dataset gives an InsufficientData verdict, not drift.",
    )
    cooldown: Duration = Field(
        default="24h",
        description="Least time between two drift-triggered runs of this pipeline (e.g. 6h, 1d).",
    )

    @field_validator("feature_stattests")
    @classmethod
    def _column_names(cls, value: dict[str, StatTest]) -> dict[str, StatTest]:
        for key in value:  # the same rule as the CRD's CEL rule above
            if not re.fullmatch(r"[^\x00-\x1f\x7f-\x9f]{1,256}", key) or any(
                unicodedata.category(c) == "Cf" for c in key
            ):
                raise ValueError(
                    f"{key!r}: a column name of 1 to 256 characters without control or "
                    "invisible format characters"
                )
        return value


class TriggersSpec(RefitModel):
    """Event-driven triggers besides the schedule. Manual runs need no configuration."""

    drift: DriftTriggerSpec | None = Field(default=None, description="Retrain on data drift.")


class DataSpec(RefitModel):
    """Where the data lives. URIs are read through fsspec inside the Jobs, never by the operator."""

    train: DataUri = Field(description="Training data.")
    validation: DataUri | None = Field(
        default=None,
        description="Validation data on which the candidate and the champion are both scored.",
    )
    reference: DataUri | None = Field(default=None, description="Reference data for drift checks.")
    current: DataUri | None = Field(default=None, description="Current data for drift checks.")
    credentials_secret_ref: LocalObjectReference | None = Field(
        default=None,
        description=(
            "Secret whose keys become environment variables of the Jobs (for example "
            "AWS_ACCESS_KEY_ID); referenced, never copied."
        ),
    )


class EnvVarSource(RefitModel):
    secret_key_ref: SecretKeySelector | None = Field(default=None, description="A key of a Secret.")
    config_map_key_ref: SecretKeySelector | None = Field(
        default=None, description="A key of a ConfigMap."
    )


class EnvVar(RefitModel):
    """An environment variable of the trainer container."""

    name: str = Field(
        min_length=1,
        max_length=256,
        pattern=r"^[-._a-zA-Z][-._a-zA-Z0-9]*$",
        description="Variable name.",
    )
    value: str | None = Field(default=None, max_length=65536, description="Literal value.")
    value_from: EnvVarSource | None = Field(
        default=None, description="Value from a Secret or ConfigMap key."
    )


Quantity = Annotated[
    int | str,
    Field(json_schema_extra={"x-kubernetes-int-or-string": True}),
]


class ResourceRequirements(RefitModel):
    """Compute resources of the trainer container, e.g. limits: {nvidia.com/gpu: 1}."""

    requests: dict[str, Quantity] = Field(default_factory=dict, description="Minimum resources.")
    limits: dict[str, Quantity] = Field(default_factory=dict, description="Maximum resources.")


class Toleration(RefitModel):
    """A Pod toleration, as in the core API."""

    key: str | None = Field(
        default=None, max_length=316, description="Taint key; empty matches all."
    )
    operator: Literal["Exists", "Equal"] | None = Field(
        default=None, description="Exists or Equal."
    )
    value: str | None = Field(default=None, max_length=63, description="Taint value for Equal.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="Taint effect to match; empty matches all."
    )
    toleration_seconds: int | None = Field(
        default=None, description="How long a NoExecute taint is tolerated."
    )


# Every field of a TrainerSpec is bounded, but the bounds add up to more than the 1.5 MiB that
# etcd stores per object; past it the API server answers a bare 500 "etcdserver: request is
# too large". This rule refuses such a spec with a 422 that names spec.trainer instead.
TRAINER_TEXT_LIMIT = 1024 * 1024
_TRAINER_TEXT_SIZE = " + ".join(
    f"(has(self.{f}) ? self.{f}.map(a, size(a)).sum() : 0)"
    for f in ("command", "args", "evaluateCommand", "driftCommand")
)


class TrainerSpec(RefitModel):
    """The training container. Any image that follows the Job contract (trainer-image/CONTRACT.md)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": f"{_TRAINER_TEXT_SIZE} + (has(self.env) ? self.env.map(e, has(e.value) ? size(e.value) : 0).sum() : 0) <= {TRAINER_TEXT_LIMIT}",
                    "message": "command, args, evaluateCommand, driftCommand and env values together must stay within 1 MiB (the API server stores at most 1.5 MiB per object)",
                }
            ]
        },
    )

    image: str = Field(
        min_length=1,
        max_length=1024,
        pattern=IMAGE_PATTERN,
        description="Container image of the trainer (no whitespace or control characters).",
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        default=None, description="Image pull policy of the trainer container."
    )
    command: list[Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=lambda: ["refit-trainer", "train"],
        max_length=64,
        description="Entrypoint as an argument list (never a shell string).",
    )
    args: list[Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=list, max_length=256, description="Arguments, e.g. [--recipe, daily-sales]."
    )
    evaluate_command: list[Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=lambda: ["refit-trainer", "evaluate"],
        max_length=64,
        description="Entrypoint of the evaluation Job, which scores candidate and champion.",
    )
    drift_command: list[Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=lambda: ["refit-trainer", "drift"],
        max_length=64,
        description="Entrypoint of the drift-check Job.",
    )
    env: list[EnvVar] = Field(
        default_factory=list,
        max_length=256,
        description="Extra environment of the trainer container.",
    )
    resources: ResourceRequirements = Field(default_factory=ResourceRequirements)
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Node labels the pods must match, e.g. a GPU node type."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list,
        max_length=64,
        description="Taints the pods tolerate (e.g. GPU nodes).",
    )
    affinity: KubeObject | None = Field(default=None, description="Pod affinity, as in a Pod spec.")
    priority_class_name: str | None = Field(
        default=None,
        max_length=253,
        pattern=DNS_SUBDOMAIN_PATTERN,
        description="PriorityClass of the pods.",
    )
    service_account_name: str | None = Field(
        default=None,
        max_length=253,
        pattern=DNS_SUBDOMAIN_PATTERN,
        description="ServiceAccount the pods run as.",
    )
    volumes: list[KubeObject] = Field(
        default_factory=list, max_length=64, description="Pod volumes."
    )
    volume_mounts: list[KubeObject] = Field(
        default_factory=list, max_length=64, description="Mounts of the trainer container."
    )
    backoff_limit: int = Field(default=2, ge=0, le=100, description="Retries of a failed pod.")
    active_deadline_seconds: int | None = Field(
        default=None, ge=1, description="Hard time limit of a Job."
    )
    ttl_seconds_after_finished: int | None = Field(
        default=None, ge=0, description="Delete finished Jobs after this many seconds."
    )
    queue_name: str | None = Field(
        default=None,
        max_length=63,
        # A LocalQueue name that is also a valid label value (it becomes one).
        pattern=DNS_SUBDOMAIN_PATTERN,
        description=(
            "Kueue LocalQueue: the Job is labelled kueue.x-k8s.io/queue-name and created suspended, "
            "and Kueue admits it."
        ),
    )
    pod_failure_policy: KubeObject | None = Field(default=None, description="Job podFailurePolicy.")
    image_pull_secrets: list[LocalObjectReference] = Field(
        default_factory=list, max_length=16, description="Secrets for pulling the image."
    )

    @model_validator(mode="after")
    def _text_fits(self) -> TrainerSpec:  # the CEL rule above, for `refit validate`
        lists = (self.command, self.args, self.evaluate_command, self.drift_command)
        size = sum(len(a) for items in lists for a in items)
        size += sum(len(e.value or "") for e in self.env)
        if size > TRAINER_TEXT_LIMIT:
            raise ValueError(
                f"command, args, evaluateCommand, driftCommand and env values total {size} "
                f"characters; at most {TRAINER_TEXT_LIMIT} (the API server stores at most "
                "1.5 MiB per object)"
            )
        return self


class MinImprovement(RefitModel):
    """How much better the candidate must be; both bars apply when both are set."""

    absolute: float = Field(default=0.0, ge=0, description="Least improvement in metric units.")
    relative: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Least improvement as a fraction of the champion's value.",
    )


class Guardrail(RefitModel):
    """A metric that may not regress by more than its tolerance."""

    metric: str = Field(
        min_length=1,
        max_length=250,
        pattern=PRINTABLE_PATTERN,
        description="Metric name as logged to MLflow.",
    )
    direction: Direction
    tolerance: float = Field(default=0.0, ge=0, description="Allowed regression, in metric units.")


class EvaluationSpec(RefitModel):
    """How the candidate is judged against the champion, on the same validation data."""

    metric: str = Field(
        min_length=1,
        max_length=250,
        pattern=PRINTABLE_PATTERN,
        description="Primary metric, e.g. rmse or roc_auc.",
    )
    direction: Direction = Field(
        description="Whether larger (maximize) or smaller (minimize) wins."
    )
    min_improvement: MinImprovement = Field(
        default_factory=MinImprovement, json_schema_extra={"default": {}}
    )
    guardrails: list[Guardrail] = Field(
        default_factory=list, max_length=32, description="Secondary metrics that may not regress."
    )
    when_no_champion: NoChampionPolicy = Field(
        default=NoChampionPolicy.PROMOTE,
        description="Promote the first candidate (optionally subject to threshold) or Reject it.",
    )
    threshold: float | None = Field(
        default=None,
        description="Absolute bar every candidate must reach on the primary metric, champion or not.",
    )


class ModelSpec(RefitModel):
    """The MLflow registered model and its aliases."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.championAlias != self.challengerAlias",
                    "message": "championAlias and challengerAlias must differ",
                }
            ]
        },
    )

    name: str = Field(
        min_length=1,
        max_length=250,
        pattern=PRINTABLE_PATTERN,
        description=(
            "Registered model name in MLflow: any script, but no control or invisible format "
            "characters, and in Unicode NFC form (checked by the operator)."
        ),
    )
    champion_alias: str = Field(
        default="champion",
        min_length=1,
        max_length=63,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Alias of the version in production; moved on promotion.",
    )
    challenger_alias: str = Field(
        default="challenger",
        min_length=1,
        max_length=63,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Alias set on each newly registered candidate.",
    )


class MlflowSpec(RefitModel):
    """Where runs, metrics and models are recorded."""

    tracking_uri: str | None = Field(
        default=None,
        max_length=2048,
        pattern=r"^(https?|file|databricks|sqlite)://?\S*$",
        description="MLflow tracking URI; defaults to the operator's configured one.",
    )
    experiment: str | None = Field(
        default=None,
        max_length=250,
        pattern=PRINTABLE_PATTERN,
        description="Experiment name; defaults to <namespace>/<pipeline>.",
    )
    credentials_secret_ref: LocalObjectReference | None = Field(
        default=None,
        description="Secret with MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD keys.",
    )


class PromotionSpec(RefitModel):
    """How a winning candidate becomes the champion."""

    mode: PromotionMode = Field(
        default=PromotionMode.AUTO,
        description="Auto promotes a winner at once; Manual waits for `refit approve` (an annotation).",
    )


class TrainingPipelineSpec(RefitModel):
    """Desired state of a TrainingPipeline."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.triggers) || !has(self.triggers.drift) || has(self.triggers.drift.currentData) || has(self.data.current)",
                    "message": "a drift trigger needs current data: set triggers.drift.currentData or data.current",
                },
            ]
        },
    )

    schedule: ScheduleSpec | None = Field(
        default=None, description="Retrain on a clock. Omit for drift-only or manual pipelines."
    )
    triggers: TriggersSpec = Field(default_factory=TriggersSpec, json_schema_extra={"default": {}})
    concurrency_policy: ConcurrencyPolicy = Field(
        default=ConcurrencyPolicy.FORBID,
        description="Forbid skips a due run while one is active; Allow runs both; Replace stops the active one.",
    )
    suspend: bool = Field(default=False, description="Stop creating new runs; active runs finish.")
    successful_runs_history_limit: int = Field(
        default=3,
        ge=0,
        le=1000,
        description="Finished successful (Promoted or Rejected) runs to keep.",
    )
    failed_runs_history_limit: int = Field(
        default=1, ge=0, le=1000, description="Failed runs to keep."
    )
    data: DataSpec
    trainer: TrainerSpec
    evaluation: EvaluationSpec
    model: ModelSpec
    mlflow: MlflowSpec = Field(default_factory=MlflowSpec, json_schema_extra={"default": {}})
    promotion: PromotionSpec = Field(
        default_factory=PromotionSpec, json_schema_extra={"default": {}}
    )


class RunReference(RefitModel):
    """A TrainingRun of this pipeline."""

    name: str = Field(description="TrainingRun name.")
    uid: str | None = Field(default=None, description="TrainingRun uid.")


class LastRunSummary(RefitModel):
    """The most recent TrainingRun of this pipeline."""

    name: str = Field(description="TrainingRun name.")
    trigger: TriggerType | None = Field(default=None, description="Why it ran.")
    phase: RunPhase | None = Field(default=None, description="Its phase.")
    scheduled_time: datetime | None = Field(default=None, description="Tick it answered.")
    start_time: datetime | None = Field(default=None, description="When it started.")
    completion_time: datetime | None = Field(default=None, description="When it finished.")
    metric_value: float | None = Field(default=None, description="Candidate's primary metric.")
    decision: str | None = Field(default=None, description="Reason of the gate's decision.")


class ChampionStatus(RefitModel):
    """The model version that holds the champion alias."""

    version: str | None = Field(
        default=None, description="Registered model version holding the champion alias."
    )
    metric: str | None = Field(default=None, description="Primary metric name.")
    metric_value: float | None = Field(default=None, description="Its value on validation data.")
    run_id: str | None = Field(default=None, description="MLflow run of the champion.")
    training_run: str | None = Field(default=None, description="TrainingRun that produced it.")
    promoted_at: datetime | None = Field(default=None, description="When it was promoted.")


class DriftCheckStatus(RefitModel):
    """Result of the latest drift check."""

    time: datetime | None = Field(default=None, description="When the check's data was compared.")
    scheduled_time: datetime | None = Field(default=None, description="Check tick it answered.")
    job_name: str | None = Field(default=None, description="Drift-check Job.")
    mlflow_run_id: str | None = Field(default=None, description="MLflow run with the report.")
    dataset_drift: bool | None = Field(default=None, description="Whether the dataset drifted.")
    drift_share: float | None = Field(
        default=None, description="Share of tested features that drifted."
    )
    drifted_features: list[str] = Field(
        default_factory=list, max_length=1000, description="Features whose test said drift."
    )
    result: str | None = Field(
        default=None, description="Drift, NoDrift, InsufficientData or Failed."
    )
    message: str | None = Field(default=None, description="Details, e.g. why a check failed.")


class TrainingPipelineStatus(RefitModel):
    """Observed state of a TrainingPipeline. Written by the operator only."""

    observed_generation: int | None = Field(
        default=None, description="The .metadata.generation this status reflects."
    )
    conditions: list[Condition] = conditions_field(
        "Ready, Running, DriftDetected, Promoted, Suspended."
    )
    last_schedule_time: datetime | None = Field(
        default=None, description="Latest tick a run was created for."
    )
    next_schedule_time: datetime | None = Field(default=None, description="Next schedule tick.")
    last_drift_check_time: datetime | None = Field(
        default=None, description="Latest drift-check tick handled."
    )
    next_drift_check_time: datetime | None = Field(
        default=None, description="Next drift-check tick."
    )
    last_drift_run_time: datetime | None = Field(
        default=None, description="When the last Drift run was created (cooldown)."
    )
    active_runs: list[RunReference] = Field(
        default_factory=list, max_length=1000, description="Runs not yet finished."
    )
    last_run: LastRunSummary | None = Field(default=None, description="The most recent run.")
    champion: ChampionStatus | None = Field(default=None, description="The current champion.")
    champion_history: list[ChampionStatus] = Field(
        default_factory=list,
        max_length=20,
        description="Previous champions, newest first (for rollback).",
    )
    last_drift_check: DriftCheckStatus | None = Field(
        default=None, description="Latest drift check."
    )
    missed_schedules: int = Field(
        default=0, ge=0, description="Ticks missed so far (deadline or policy)."
    )


class TrainingPipeline(RefitModel):
    """A model that Refit keeps retraining, evaluating and promoting."""

    KIND: ClassVar[str] = "TrainingPipeline"
    api_version: Literal["refit.dev/v1alpha1"] = API_VERSION  # type: ignore[assignment]
    kind: Literal["TrainingPipeline"] = "TrainingPipeline"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: TrainingPipelineSpec
    status: TrainingPipelineStatus | None = None
