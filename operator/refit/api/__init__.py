"""The Refit API (group refit.dev, version v1alpha1): pydantic models are the single source of truth."""

from refit.api.base import API_VERSION, GROUP, VERSION, Condition
from refit.api.pipeline import TrainingPipeline, TrainingPipelineSpec, TrainingPipelineStatus
from refit.api.run import TrainingRun, TrainingRunSpec, TrainingRunStatus

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "Condition",
    "TrainingPipeline",
    "TrainingPipelineSpec",
    "TrainingPipelineStatus",
    "TrainingRun",
    "TrainingRunSpec",
    "TrainingRunStatus",
]
