"""The TrainingRun state machine, as one pure function of (spec, status, observations, now).

    Pending ──▶ (Queued) ──▶ Training ──▶ Evaluating ──▶ (AwaitingApproval) ──▶ Promoted
       │            │            │             │  ▲                │            Rejected
       └────────────┴────────────┴─────────────┴──┼────────────────┴──────────▶ Failed
                                                  └─ champion moved: evaluate again (attempt n+1)

`reconcile_run` returns the actions to perform now and the new status. The driver (the kopf
controller, or the local runner) does this, in a loop, and writes the status once at the end:

    observations = observe(run)                      # Jobs of the run by name, MLflow run by tag
    for _ in range(8):
        actions, status = reconcile_run(spec, status, observations, now, identity=...)
        if not actions: break
        observations = perform(actions, observations)   # each action's answer updates them
    patch_status(status)

Answers: EnsureMlflowRun → `mlflow_run_id`; CreateTrainingJob / CreateEvaluationJob → `jobs`;
RegisterCandidate → `candidate_version`; ReadEvaluation → `evaluation`; ReadChampionAlias and
MoveChampionAlias → `champion_alias` (the alias after the compare-and-set, whoever won). Events,
tags and MarkMlflowRun answer nothing. The operator posts emitted events after the status write
(conditional on the version read): a pass retried after a Conflict repeats none of them.

Safe to re-run after a crash at any point. Progress is re-derived from observations, and status
conditions only record milestones that may no longer be observable (a finished Job deleted by its
TTL). Every action is idempotent by design: creates use deterministic names or idempotency keys
(AlreadyExists = done), the MLflow run is found by its `refit.run-uid` tag before one is created,
the model version by its run id before one is registered, and the champion alias moves only by
compare-and-set. An action is only requested when the observations say it has not happened, so
a driver that observes before acting requests each create exactly once; a crash between acting
and writing the status replays at most the same idempotent requests.

Promotion is a compare-and-set on the champion alias: the evaluation records which champion
version it scored; before moving the alias the machine reads it again, and if it no longer points
there (another run promoted meanwhile) it evaluates again (a new evaluation Job, `-eval-2`, ...)
instead of promoting blindly, at most MAX_EVALUATION_ATTEMPTS times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final, Literal

from refit.api.conditions import EVALUATED, PROMOTED, SUCCEEDED, TRAINED, Reason
from refit.api.enums import ConditionStatus, PromotionMode, RunPhase
from refit.api.run import Decision, ModelScore, TrainingRunSpec, TrainingRunStatus
from refit.core.conditions import get_condition, is_true, set_condition
from refit.core.gate import evaluate_candidate
from refit.core.job_spec import experiment_name
from refit.core.names import JobStep, evaluation_attempt, job_name

__all__ = [
    "MAX_EVALUATION_ATTEMPTS",
    "Action",
    "AliasObservation",
    "CreateEvaluationJob",
    "CreateTrainingJob",
    "EmitEvent",
    "EnsureMlflowRun",
    "EvaluationResult",
    "JobObservation",
    "JobState",
    "MarkMlflowRun",
    "MoveChampionAlias",
    "ReadChampionAlias",
    "ReadEvaluation",
    "RegisterCandidate",
    "RunIdentity",
    "RunObservations",
    "RunReason",
    "TagModelVersion",
    "reconcile_run",
]

MAX_EVALUATION_ATTEMPTS: Final = 5


class RunReason:
    """Run reasons that `refit.api.conditions.Reason` has no name for (yet)."""

    JOB_RUNNING: Final = "JobRunning"
    INVALID_SPEC: Final = Reason.INVALID_SPEC
    DELETED: Final = "Deleted"


# --- observations -------------------------------------------------------------------------------


class JobState(StrEnum):
    ABSENT = "Absent"
    SUSPENDED = "Suspended"  # created suspended, waiting for Kueue to admit it
    ACTIVE = "Active"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class JobObservation:
    state: JobState
    reason: str | None = None  # the Job's Failed condition reason, e.g. BackoffLimitExceeded
    message: str | None = None


ABSENT: Final = JobObservation(JobState.ABSENT)


@dataclass(frozen=True)
class EvaluationResult:
    """What an evaluation Job recorded: both models scored on the same validation data."""

    job_name: str  # which evaluation Job (attempt) produced it
    candidate_metrics: Mapping[str, float]
    champion_metrics: Mapping[str, float] | None  # None: there was no champion to score
    champion_version: str | None  # the version the champion alias pointed to when scored
    champion_run_id: str | None = None


@dataclass(frozen=True)
class AliasObservation:
    """A fresh read of the champion alias; version None means the alias is not set."""

    version: str | None


@dataclass(frozen=True)
class RunObservations:
    """What the driver saw just now. Fields that need a remote read stay None until requested."""

    mlflow_run_id: str | None = None  # found by the refit.run-uid tag
    mlflow_run_url: str | None = None
    experiment_id: str | None = None
    jobs: Mapping[str, JobObservation] = field(
        default_factory=dict
    )  # every Job of this run, by name
    candidate_version: str | None = None  # the model version registered from this run, if any
    evaluation: EvaluationResult | None = None  # after ReadEvaluation
    champion_alias: AliasObservation | None = None  # after ReadChampionAlias
    approved: bool = False  # Manual promotion: the approval annotation is present
    deleting: bool = False  # metadata.deletionTimestamp is set

    def job(self, name: str) -> JobObservation:
        return self.jobs.get(name, ABSENT)


@dataclass(frozen=True)
class RunIdentity:
    name: str
    namespace: str
    uid: str = ""
    generation: int | None = None


# --- actions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnsureMlflowRun:
    """Find the MLflow run tagged refit.run-uid=<run_uid>, or create it (tags include that one)."""

    run_uid: str
    run_name: str
    experiment: str
    tags: Mapping[str, str]


@dataclass(frozen=True)
class CreateTrainingJob:
    job_name: str
    mlflow_run_id: str
    suspend: bool  # True with a Kueue queue: Kueue admits (unsuspends) it


@dataclass(frozen=True)
class RegisterCandidate:
    """Find the version registered from this run, or register `runs:/<id>/model`; set challenger."""

    model_name: str
    mlflow_run_id: str
    challenger_alias: str


@dataclass(frozen=True)
class CreateEvaluationJob:
    job_name: str
    attempt: int
    mlflow_run_id: str
    candidate_version: str
    champion_alias: str
    suspend: bool


@dataclass(frozen=True)
class ReadEvaluation:
    """Read the result the evaluation Job logged to the MLflow run; answer in `evaluation`."""

    job_name: str
    mlflow_run_id: str


@dataclass(frozen=True)
class ReadChampionAlias:
    """Read which version the champion alias points to now; answer in `champion_alias`."""

    model_name: str
    alias: str


@dataclass(frozen=True)
class MoveChampionAlias:
    """Compare-and-set: re-read the alias; only if it is still `expected_version`, point it at
    `new_version` (None expected = alias unset). A mismatch is not an error: do nothing, and the
    next reconcile sees the moved alias and evaluates again."""

    model_name: str
    alias: str
    expected_version: str | None
    new_version: str


@dataclass(frozen=True)
class TagModelVersion:
    model_name: str
    version: str
    tags: Mapping[str, str]


@dataclass(frozen=True)
class MarkMlflowRun:
    mlflow_run_id: str
    status: Literal["FINISHED", "FAILED", "KILLED"]
    tags: Mapping[str, str]


@dataclass(frozen=True)
class EmitEvent:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


Action = (
    EnsureMlflowRun
    | CreateTrainingJob
    | RegisterCandidate
    | CreateEvaluationJob
    | ReadEvaluation
    | ReadChampionAlias
    | MoveChampionAlias
    | TagModelVersion
    | MarkMlflowRun
    | EmitEvent
)


# --- the machine --------------------------------------------------------------------------------


class _Step:
    """The status being built, the actions requested, and the condition writes, in one place."""

    def __init__(self, status: TrainingRunStatus, now: datetime, generation: int | None) -> None:
        self.status = status
        self.now = now
        self.generation = generation
        self.actions: list[Action] = []

    def condition(
        self, type_: str, status: ConditionStatus | bool | None, reason: str, message: str = ""
    ) -> None:
        self.status.conditions = set_condition(
            self.status.conditions,
            type_,
            status,
            reason,
            message,
            now=self.now,
            observed_generation=self.generation,
        )

    def act(self, *actions: Action) -> None:
        self.actions.extend(actions)


def reconcile_run(
    spec: TrainingRunSpec,
    status: TrainingRunStatus | None,
    observations: RunObservations,
    now: datetime,
    *,
    identity: RunIdentity,
) -> tuple[list[Action], TrainingRunStatus]:
    """The actions to take now and the run's new status (the input status is not modified)."""
    before = status or TrainingRunStatus()
    step = _Step(before.model_copy(deep=True), now, identity.generation)
    if identity.generation is not None:
        step.status.observed_generation = identity.generation
    if step.status.phase.terminal:
        return [], step.status
    _advance(step, spec, observations, identity)
    if step.status.phase is not before.phase:
        step.act(*_phase_events(before.phase, step.status))
    return step.actions, step.status


def _advance(
    step: _Step, spec: TrainingRunSpec, obs: RunObservations, identity: RunIdentity
) -> None:
    st = step.status
    if get_condition(st.conditions, SUCCEEDED) is None:
        step.condition(SUCCEEDED, None, Reason.PENDING, "the run has not finished")

    run_id = st.mlflow_run_id or obs.mlflow_run_id
    if obs.deleting:
        # Jobs go with the run (owner references); close the MLflow run so it is not left RUNNING.
        if run_id:
            step.act(MarkMlflowRun(run_id, "KILLED", {"refit.phase": "Deleted"}))
        return

    if spec.trainer is None or spec.evaluation is None or spec.model is None:
        missing = [
            name for name in ("trainer", "evaluation", "model") if getattr(spec, name) is None
        ]
        _fail(
            step,
            run_id,
            RunReason.INVALID_SPEC,
            f"spec.{', spec.'.join(missing)} missing: no pipeline snapshot",
        )
        return
    trainer, evaluation, model = spec.trainer, spec.evaluation, spec.model
    suspend = trainer.queue_name is not None

    # 1. The MLflow run: the Jobs need its id (MLFLOW_RUN_ID).
    if run_id is None:
        step.act(
            EnsureMlflowRun(
                run_uid=identity.uid or f"{identity.namespace}/{identity.name}",
                run_name=identity.name,
                experiment=_experiment(spec, identity),
                tags=_run_tags(spec, identity),
            )
        )
        return
    st.mlflow_run_id = run_id
    st.mlflow_run_url = st.mlflow_run_url or obs.mlflow_run_url
    st.experiment_id = st.experiment_id or obs.experiment_id

    # 2. Training.
    train_name = job_name(identity.name, JobStep.TRAIN)
    st.training_job = train_name
    if not is_true(st.conditions, TRAINED):
        job = obs.job(train_name)
        if job.state is JobState.FAILED:
            step.condition(TRAINED, False, Reason.JOB_FAILED, _job_message(train_name, job))
            _fail(step, run_id, Reason.JOB_FAILED, f"training {_job_message(train_name, job)}")
            return
        if job.state is not JobState.SUCCEEDED:
            if job.state is JobState.ABSENT:
                step.act(CreateTrainingJob(train_name, run_id, suspend))
                st.start_time = st.start_time or step.now
                step.condition(
                    TRAINED, None, Reason.JOB_CREATED, f"training Job {train_name} created"
                )
            elif job.state is JobState.SUSPENDED:
                st.phase = RunPhase.QUEUED
                step.condition(
                    TRAINED,
                    None,
                    Reason.QUEUED,
                    f"training Job {train_name} waits for admission by queue {trainer.queue_name}",
                )
            else:
                st.phase = RunPhase.TRAINING
                step.condition(
                    TRAINED, None, RunReason.JOB_RUNNING, f"training Job {train_name} is running"
                )
            return
        step.condition(TRAINED, True, Reason.JOB_SUCCEEDED, f"training Job {train_name} succeeded")

    # 3. The candidate model version (idempotent by run id), tagged challenger.
    if st.phase in (RunPhase.PENDING, RunPhase.QUEUED, RunPhase.TRAINING):
        st.phase = RunPhase.EVALUATING
    version = (st.candidate.version if st.candidate else None) or obs.candidate_version
    if version is None:
        step.act(RegisterCandidate(model.name, run_id, model.challenger_alias))
        return
    candidate = (st.candidate or ModelScore()).model_copy(
        update={"version": version, "run_id": run_id}
    )
    st.candidate = candidate

    # 4. Evaluation, attempt n: the latest attempt the status or the cluster knows of.
    attempt = max(
        [1, evaluation_attempt(identity.name, st.evaluation_job)]
        + [evaluation_attempt(identity.name, name) for name in obs.jobs]
    )
    eval_name = job_name(identity.name, JobStep.EVAL, attempt)
    evaluated = (
        st.evaluation_job == eval_name
        and is_true(st.conditions, EVALUATED)
        and st.decision is not None
    )
    if not evaluated:
        if st.evaluation_job != eval_name:
            st.evaluation_job = eval_name
            st.decision = None
        st.phase = RunPhase.EVALUATING
        job = obs.job(eval_name)
        if job.state is JobState.FAILED:
            step.condition(EVALUATED, False, Reason.EVALUATION_FAILED, _job_message(eval_name, job))
            _fail(
                step, run_id, Reason.EVALUATION_FAILED, f"evaluation {_job_message(eval_name, job)}"
            )
            return
        if job.state is JobState.ABSENT:
            step.act(
                CreateEvaluationJob(
                    eval_name, attempt, run_id, version, model.champion_alias, suspend
                )
            )
            again = " (champion moved: evaluating again)" if attempt > 1 else ""
            step.condition(
                EVALUATED, None, Reason.JOB_CREATED, f"evaluation Job {eval_name} created{again}"
            )
            return
        if job.state is not JobState.SUCCEEDED:
            step.condition(
                EVALUATED, None, RunReason.JOB_RUNNING, f"evaluation Job {eval_name} is running"
            )
            return
        result = obs.evaluation
        if result is None or result.job_name != eval_name:
            step.act(ReadEvaluation(eval_name, run_id))
            return
        verdict = evaluate_candidate(evaluation, result.candidate_metrics, result.champion_metrics)
        st.candidate = candidate.model_copy(update={"metrics": dict(result.candidate_metrics)})
        st.champion = (
            None
            if result.champion_version is None and result.champion_metrics is None
            else ModelScore(
                version=result.champion_version,
                run_id=result.champion_run_id,
                metrics=dict(result.champion_metrics or {}),
            )
        )
        st.decision = verdict
        step.condition(EVALUATED, True, Reason.EVALUATION_SUCCEEDED, verdict.message)

    # 5. The decision.
    decision = st.decision
    assert decision is not None  # evaluated above, or in an earlier reconcile of this attempt
    if not decision.promote:
        _finish(step, model.name, version, run_id, RunPhase.REJECTED, decision, identity)
        return
    if (
        spec.promotion is not None
        and spec.promotion.mode is PromotionMode.MANUAL
        and not obs.approved
    ):
        st.phase = RunPhase.AWAITING_APPROVAL
        step.condition(
            PROMOTED,
            False,
            Reason.AWAITING_APPROVAL,
            f"{decision.message}; waiting for approval (refit approve)",
        )
        return
    if obs.champion_alias is None:
        step.act(ReadChampionAlias(model.name, model.champion_alias))
        return
    current = obs.champion_alias.version
    scored = st.champion.version if st.champion else None
    if current == version:
        _finish(step, model.name, version, run_id, RunPhase.PROMOTED, decision, identity)
        return
    if current == scored:
        step.act(MoveChampionAlias(model.name, model.champion_alias, current, version))
        return
    # Another run moved the champion after we evaluated: never promote against a stale champion.
    if attempt >= MAX_EVALUATION_ATTEMPTS:
        _fail(
            step,
            run_id,
            Reason.CHAMPION_MOVED,
            f"the champion alias kept moving ({attempt} evaluations); last seen at version {current}",
        )
        return
    next_name = job_name(identity.name, JobStep.EVAL, attempt + 1)
    st.phase = RunPhase.EVALUATING
    st.evaluation_job = next_name
    st.decision = None
    step.act(
        CreateEvaluationJob(next_name, attempt + 1, run_id, version, model.champion_alias, suspend)
    )
    step.act(
        EmitEvent(
            "Normal",
            Reason.CHAMPION_MOVED,
            f"champion moved from version {scored} to {current} after evaluation; evaluating again ({next_name})",
        )
    )
    step.condition(
        EVALUATED,
        None,
        Reason.CHAMPION_MOVED,
        f"champion is now version {current}, not {scored}: evaluation Job {next_name} created",
    )
    step.condition(
        PROMOTED, None, Reason.CHAMPION_MOVED, "evaluating again against the new champion"
    )


def _finish(
    step: _Step,
    model_name: str,
    version: str,
    run_id: str,
    phase: RunPhase,
    decision: Decision,
    identity: RunIdentity,
) -> None:
    st = step.status
    promoted = phase is RunPhase.PROMOTED
    st.phase = phase
    st.completion_time = st.completion_time or step.now
    step.condition(PROMOTED, promoted, decision.reason, decision.message)
    outcome = "promoted" if promoted else "rejected"
    step.condition(
        SUCCEEDED, True, Reason.SUCCEEDED, f"run finished: candidate {outcome} ({decision.reason})"
    )
    tags = {
        "refit.decision": outcome,
        "refit.reason": decision.reason,
        "refit.training-run": identity.name,
    }
    step.act(TagModelVersion(model_name, version, tags))
    step.act(MarkMlflowRun(run_id, "FINISHED", {**tags, "refit.phase": phase.value}))


def _fail(step: _Step, run_id: str | None, reason: str, message: str) -> None:
    st = step.status
    st.phase = RunPhase.FAILED
    st.failure_reason = message.splitlines()[0][:4096] if message else reason
    st.completion_time = st.completion_time or step.now
    step.condition(SUCCEEDED, False, reason, message)
    if get_condition(st.conditions, PROMOTED) is None or not is_true(st.conditions, PROMOTED):
        step.condition(PROMOTED, False, reason, "run failed before a promotion decision")
    if run_id:
        step.act(
            MarkMlflowRun(
                run_id, "FAILED", {"refit.phase": RunPhase.FAILED.value, "refit.reason": reason}
            )
        )


def _phase_events(before: RunPhase, status: TrainingRunStatus) -> Sequence[EmitEvent]:
    phase = status.phase
    if phase is RunPhase.FAILED:
        return [EmitEvent("Warning", "RunFailed", status.failure_reason or "run failed")]
    if phase in (RunPhase.PROMOTED, RunPhase.REJECTED) and status.decision is not None:
        verb = "Promoted" if phase is RunPhase.PROMOTED else "Rejected"
        return [EmitEvent("Normal", status.decision.reason, f"{verb}: {status.decision.message}")]
    if phase is RunPhase.AWAITING_APPROVAL and status.decision is not None:
        return [EmitEvent("Normal", Reason.AWAITING_APPROVAL, status.decision.message)]
    if phase is RunPhase.QUEUED:
        return [EmitEvent("Normal", Reason.QUEUED, f"training Job {status.training_job} is queued")]
    if phase is RunPhase.TRAINING:
        return [
            EmitEvent("Normal", "TrainingStarted", f"training Job {status.training_job} is running")
        ]
    if phase is RunPhase.EVALUATING and before in (
        RunPhase.PENDING,
        RunPhase.QUEUED,
        RunPhase.TRAINING,
    ):
        return [
            EmitEvent(
                "Normal", Reason.JOB_SUCCEEDED, f"training Job {status.training_job} succeeded"
            )
        ]
    return []


def _experiment(spec: TrainingRunSpec, identity: RunIdentity) -> str:
    return experiment_name(spec.mlflow, identity.namespace, spec.pipeline_ref.name)


def _run_tags(spec: TrainingRunSpec, identity: RunIdentity) -> dict[str, str]:
    tags = {
        "refit.run-uid": identity.uid or f"{identity.namespace}/{identity.name}",
        "refit.run": identity.name,
        "refit.namespace": identity.namespace,
        "refit.pipeline": spec.pipeline_ref.name,
        "refit.trigger": spec.trigger.type.value,
    }
    if spec.trigger.scheduled_time is not None:
        tags["refit.scheduled_time"] = spec.trigger.scheduled_time.astimezone(UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    return tags


def _job_message(name: str, job: JobObservation) -> str:
    detail = ": ".join(part for part in (job.reason, job.message) if part)
    return f"Job {name} failed" + (f" ({detail})" if detail else "")
