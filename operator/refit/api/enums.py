"""Enumerations of the Refit API. Values are the exact strings on the wire."""

from enum import StrEnum


class ConcurrencyPolicy(StrEnum):
    """What to do when a run is due while another run of the same pipeline is active."""

    FORBID = "Forbid"
    ALLOW = "Allow"
    REPLACE = "Replace"


class MissedRunPolicy(StrEnum):
    """What to do with schedule ticks missed while the operator was down or the pipeline suspended."""

    RUN_LATEST = "RunLatest"
    SKIP = "Skip"
    RUN_ALL = "RunAll"


class StatTest(StrEnum):
    """Two-sample statistical test used to decide whether one feature drifted."""

    AUTO = "auto"
    KS = "ks"
    CHISQUARE = "chisquare"
    ZTEST = "ztest"
    WASSERSTEIN = "wasserstein"
    JENSENSHANNON = "jensenshannon"
    PSI = "psi"


class Direction(StrEnum):
    """Whether a larger or a smaller metric value is better."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


class PromotionMode(StrEnum):
    """Auto moves the champion alias on a win; Manual waits for an approval."""

    AUTO = "Auto"
    MANUAL = "Manual"


class NoChampionPolicy(StrEnum):
    """What to do with a candidate when the model has no champion yet."""

    PROMOTE = "Promote"
    REJECT = "Reject"


class TriggerType(StrEnum):
    """Why a TrainingRun exists."""

    SCHEDULE = "Schedule"
    DRIFT = "Drift"
    MANUAL = "Manual"


class RunPhase(StrEnum):
    """Lifecycle phase of a TrainingRun. Promoted, Rejected and Failed are terminal."""

    PENDING = "Pending"
    QUEUED = "Queued"
    TRAINING = "Training"
    EVALUATING = "Evaluating"
    AWAITING_APPROVAL = "AwaitingApproval"
    PROMOTED = "Promoted"
    REJECTED = "Rejected"
    FAILED = "Failed"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_PHASES


TERMINAL_PHASES = frozenset({RunPhase.PROMOTED, RunPhase.REJECTED, RunPhase.FAILED})


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"
