"""Drive the pure run state machine against real systems: observe, decide, act, repeat.

Shared by the operator (Jobs on Kubernetes) and the local runner (processes on this machine):
only the `JobBackend` differs. See refit.core.run_state for the contract this loop follows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from refit.adapters import failpoints
from refit.adapters.mlflow import (
    CHAMPION_VERSION_TAG,
    Mlflow,
)
from refit.api.run import TrainingRunSpec, TrainingRunStatus
from refit.core.job_spec import Step
from refit.core.run_state import (
    Action,
    AliasObservation,
    CreateEvaluationJob,
    CreateTrainingJob,
    EmitEvent,
    EnsureMlflowRun,
    EvaluationResult,
    JobObservation,
    MarkMlflowRun,
    MoveChampionAlias,
    ReadChampionAlias,
    ReadEvaluation,
    RegisterCandidate,
    RunIdentity,
    RunObservations,
    TagModelVersion,
    reconcile_run,
)

log = logging.getLogger(__name__)

MAX_STEPS = 12
CHAMPION_RUN_TAG = "refit.champion_run_id"


class JobBackend(Protocol):
    """Where a run's Jobs live: Kubernetes, or local processes."""

    def observe(self) -> dict[str, JobObservation]:
        """Every Job of this run, by name."""
        ...

    def create(self, name: str, step: Step, mlflow_run_id: str, suspend: bool) -> JobObservation:
        """Create the Job (AlreadyExists is success) and return what is observed of it."""
        ...


def evaluation_from_run(
    job_name: str, metrics: dict[str, float], tags: dict[str, str]
) -> EvaluationResult:
    """What `refit-trainer evaluate` logged: candidate_<m>, champion_<m>, the champion version."""
    candidate = {
        k.removeprefix("candidate_"): v for k, v in metrics.items() if k.startswith("candidate_")
    }
    champion = {
        k.removeprefix("champion_"): v for k, v in metrics.items() if k.startswith("champion_")
    }
    version = tags.get(CHAMPION_VERSION_TAG)
    if version in (None, "", "none"):
        version = None
    return EvaluationResult(
        job_name=job_name,
        candidate_metrics=candidate,
        champion_metrics=champion if (champion or version) else None,
        champion_version=version,
        champion_run_id=tags.get(CHAMPION_RUN_TAG) or None,
    )


@dataclass
class DriveResult:
    status: TrainingRunStatus
    events: list[EmitEvent] = field(default_factory=list)
    performed: list[Action] = field(default_factory=list)


@dataclass
class RunDriver:
    spec: TrainingRunSpec
    identity: RunIdentity
    mlflow: Mlflow
    jobs: JobBackend
    clock: Callable[[], datetime]

    def drive(
        self, status: TrainingRunStatus | None, *, approved: bool = False, deleting: bool = False
    ) -> DriveResult:
        """Advance the run as far as it can go now; returns the status to write once."""
        current = status or TrainingRunStatus()
        obs = RunObservations(
            mlflow_run_id=current.mlflow_run_id,
            mlflow_run_url=current.mlflow_run_url,
            experiment_id=current.experiment_id,
            jobs=self.jobs.observe(),
            approved=approved,
            deleting=deleting,
        )
        result = DriveResult(current)
        for _ in range(MAX_STEPS):
            actions, new_status = reconcile_run(
                self.spec, result.status, obs, self.clock(), identity=self.identity
            )
            result.status = new_status
            if not actions:
                break
            for action in actions:
                obs = self._perform(action, obs, result)
            if all(isinstance(a, EmitEvent | MarkMlflowRun | TagModelVersion) for a in actions):
                break
        return result

    def _perform(
        self, action: Action, obs: RunObservations, result: DriveResult
    ) -> RunObservations:
        result.performed.append(action)
        match action:
            case EmitEvent():
                result.events.append(action)
            case EnsureMlflowRun():
                record = self.mlflow.ensure_run(
                    action.experiment,
                    "refit.run-uid",
                    action.run_uid,
                    action.run_name,
                    dict(action.tags),
                )
                failpoints.hit("after-mlflow-run-create")
                obs = replace(
                    obs,
                    mlflow_run_id=record.run_id,
                    experiment_id=record.experiment_id,
                    mlflow_run_url=self.mlflow.run_url(record.experiment_id, record.run_id),
                )
            case CreateTrainingJob():
                failpoints.hit("before-job-create-train")
                seen = self.jobs.create(
                    action.job_name, Step.TRAIN, action.mlflow_run_id, action.suspend
                )
                failpoints.hit("after-job-create-train")
                obs = replace(obs, jobs={**obs.jobs, action.job_name: seen})
            case CreateEvaluationJob():
                failpoints.hit("before-job-create-evaluate")
                seen = self.jobs.create(
                    action.job_name, Step.EVALUATE, action.mlflow_run_id, action.suspend
                )
                failpoints.hit("after-job-create-evaluate")
                obs = replace(obs, jobs={**obs.jobs, action.job_name: seen})
            case RegisterCandidate():
                version = self.mlflow.ensure_version(
                    action.model_name,
                    action.mlflow_run_id,
                    {"refit.training-run": self.identity.name},
                )
                failpoints.hit("after-version-register")
                self.mlflow.set_alias(action.model_name, action.challenger_alias, version)
                obs = replace(obs, candidate_version=version)
            case ReadEvaluation():
                run = self.mlflow.read_run(action.mlflow_run_id)
                obs = replace(
                    obs, evaluation=evaluation_from_run(action.job_name, run.metrics, run.tags)
                )
            case ReadChampionAlias():
                obs = replace(
                    obs,
                    champion_alias=AliasObservation(
                        self.mlflow.alias_version(action.model_name, action.alias)
                    ),
                )
            case MoveChampionAlias():
                _, current = self.mlflow.move_alias_if(
                    action.model_name, action.alias, action.expected_version, action.new_version
                )
                failpoints.hit("after-alias-move")
                obs = replace(obs, champion_alias=AliasObservation(current))
            case TagModelVersion():
                self.mlflow.set_version_tags(action.model_name, action.version, dict(action.tags))
            case MarkMlflowRun():
                self.mlflow.set_run_tags(action.mlflow_run_id, dict(action.tags))
                self.mlflow.finish_run(action.mlflow_run_id, action.status)
        return obs
