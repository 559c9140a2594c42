"""Condition types and reasons, as constants (Kubernetes API conventions: CamelCase reasons)."""

from typing import Final

# TrainingPipeline condition types.
READY: Final = "Ready"
RUNNING: Final = "Running"
DRIFT_DETECTED: Final = "DriftDetected"
PROMOTED: Final = "Promoted"
SUSPENDED: Final = "Suspended"

# TrainingRun condition types.
TRAINED: Final = "Trained"
EVALUATED: Final = "Evaluated"
# PROMOTED is shared with the pipeline.
SUCCEEDED: Final = "Succeeded"


class Reason:
    """Reasons used in conditions and events. One place, so dashboards and alerts can rely on them."""

    # Ready
    RECONCILED: Final = "Reconciled"
    INVALID_SPEC: Final = "InvalidSpec"
    INVALID_SCHEDULE: Final = "InvalidSchedule"
    INVALID_TIME_ZONE: Final = "InvalidTimeZone"
    SECRET_NOT_FOUND: Final = "SecretNotFound"
    MLFLOW_UNREACHABLE: Final = "MLflowUnreachable"
    # Running
    RUN_ACTIVE: Final = "RunActive"
    IDLE: Final = "Idle"
    # Suspended
    SUSPENDED_BY_USER: Final = "SuspendedByUser"
    NOT_SUSPENDED: Final = "NotSuspended"
    # DriftDetected
    DATASET_DRIFT: Final = "DatasetDrift"
    NO_DRIFT: Final = "NoDrift"
    DRIFT_CHECK_FAILED: Final = "DriftCheckFailed"
    INSUFFICIENT_DATA: Final = "InsufficientData"
    # Run progress
    PENDING: Final = "Pending"
    QUEUED: Final = "Queued"
    JOB_CREATED: Final = "JobCreated"
    JOB_SUCCEEDED: Final = "JobSucceeded"
    JOB_FAILED: Final = "JobFailed"
    EVALUATION_SUCCEEDED: Final = "EvaluationSucceeded"
    EVALUATION_FAILED: Final = "EvaluationFailed"
    # Promotion decisions
    CANDIDATE_WON: Final = "CandidateWon"
    NO_CHAMPION: Final = "NoChampion"
    NOT_BETTER: Final = "NotBetter"
    GUARDRAIL_REGRESSED: Final = "GuardrailRegressed"
    METRIC_MISSING: Final = "MetricMissing"
    AWAITING_APPROVAL: Final = "AwaitingApproval"
    APPROVED: Final = "Approved"
    REPLACED: Final = "Replaced"
    CHAMPION_MOVED: Final = "ChampionMoved"
    SUCCEEDED: Final = "Succeeded"
    FAILED: Final = "Failed"
