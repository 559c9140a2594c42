"""refit.core.run_state: every transition, table-driven; then crash-replay simulations."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refit.api.conditions import EVALUATED, PROMOTED, SUCCEEDED, TRAINED, Reason
from refit.api.enums import ConditionStatus, RunPhase
from refit.api.run import Decision, ModelScore, TrainingRunSpec, TrainingRunStatus
from refit.core.conditions import condition_status, get_condition, set_condition
from refit.core.run_state import (
    MAX_EVALUATION_ATTEMPTS,
    Action,
    AliasObservation,
    CreateEvaluationJob,
    CreateTrainingJob,
    EmitEvent,
    EnsureMlflowRun,
    EvaluationResult,
    JobObservation,
    JobState,
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

NOW = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
RUN = "churn-29538840"
TRAIN, EVAL, EVAL2 = f"{RUN}-train", f"{RUN}-eval", f"{RUN}-eval-2"
ID = RunIdentity(name=RUN, namespace="ml", uid="uid-1", generation=1)


def make_spec(
    mode: str = "Auto", queue: str | None = None, snapshot: bool = True, **evaluation: Any
) -> TrainingRunSpec:
    body: dict[str, Any] = {
        "pipelineRef": {"name": "churn"},
        "trigger": {"type": "Schedule", "scheduledTime": "2026-03-01T02:00:00Z"},
    }
    if snapshot:
        body |= {
            "trainer": {"image": "refit-trainer:1", **({"queueName": queue} if queue else {})},
            "evaluation": {"metric": "rmse", "direction": "minimize", **evaluation},
            "model": {"name": "churn-model"},
            "promotion": {"mode": mode},
        }
    return TrainingRunSpec.model_validate(body)


SPEC = make_spec()


def status(phase: RunPhase = RunPhase.PENDING, **fields: Any) -> TrainingRunStatus:
    conditions = []
    for type_, value in fields.pop("conditions", {}).items():
        conditions = set_condition(conditions, type_, value, "Test", now=NOW - timedelta(hours=1))
    return TrainingRunStatus(phase=phase, conditions=conditions, **fields)


def job(state: JobState, reason: str | None = None, message: str | None = None) -> JobObservation:
    return JobObservation(state, reason, message)


def evaluation(
    cand: float, champ: float | None, version: str | None = "5", name: str = EVAL
) -> EvaluationResult:
    return EvaluationResult(
        job_name=name,
        candidate_metrics={"rmse": cand},
        champion_metrics=None if champ is None else {"rmse": champ},
        champion_version=version,
    )


WIN = Decision(
    promote=True, reason=Reason.CANDIDATE_WON, message="candidate rmse 10 vs champion 12: won"
)
FIRST = Decision(promote=True, reason=Reason.NO_CHAMPION, message="no champion yet")

TRAINED_RUN = {
    "mlflow_run_id": "r1",
    "training_job": TRAIN,
    "candidate": ModelScore(version="6", run_id="r1"),
}
EVALUATED_RUN = TRAINED_RUN | {
    "evaluation_job": EVAL,
    "decision": WIN,
    "champion": ModelScore(version="5", metrics={"rmse": 12.0}),
    "conditions": {TRAINED: True, EVALUATED: True},
}


@dataclass(frozen=True)
class Case:
    name: str
    before: TrainingRunStatus
    obs: RunObservations
    actions: list[type]
    phase: RunPhase
    conditions: dict[str, tuple[ConditionStatus, str]] = field(default_factory=dict)
    check: Callable[[list[Action], TrainingRunStatus], None] | None = None
    spec: TrainingRunSpec = field(default_factory=lambda: SPEC)


T, F, U = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN


def _ensure(actions: list[Action], st: TrainingRunStatus) -> None:
    ensure = actions[0]
    assert isinstance(ensure, EnsureMlflowRun)
    assert (
        ensure.run_uid == "uid-1"
        and ensure.experiment == "ml/churn"
        and ensure.tags["refit.run-uid"] == "uid-1"
    )
    assert ensure.tags["refit.trigger"] == "Schedule"


def _created_training(actions: list[Action], st: TrainingRunStatus) -> None:
    assert actions == [CreateTrainingJob(TRAIN, "r1", suspend=False)]
    assert st.start_time == NOW and st.mlflow_run_id == "r1" and st.training_job == TRAIN


def _queued_create(actions: list[Action], st: TrainingRunStatus) -> None:
    assert actions == [CreateTrainingJob(TRAIN, "r1", suspend=True)]


def _failed_training(actions: list[Action], st: TrainingRunStatus) -> None:
    assert (
        MarkMlflowRun("r1", "FAILED", {"refit.phase": "Failed", "refit.reason": "JobFailed"})
        in actions
    )
    warning = [a for a in actions if isinstance(a, EmitEvent)]
    assert warning and warning[0].type == "Warning"
    assert (
        st.failure_reason
        == "training Job churn-29538840-train failed (BackoffLimitExceeded: OOMKilled)"
    )
    assert st.completion_time == NOW


def _register(actions: list[Action], st: TrainingRunStatus) -> None:
    assert RegisterCandidate("churn-model", "r1", "challenger") in actions


def _create_eval(actions: list[Action], st: TrainingRunStatus) -> None:
    assert actions == [CreateEvaluationJob(EVAL, 1, "r1", "6", "champion", suspend=False)]
    assert st.evaluation_job == EVAL


def _read_eval(actions: list[Action], st: TrainingRunStatus) -> None:
    assert actions == [ReadEvaluation(EVAL, "r1")]


def _rejected(actions: list[Action], st: TrainingRunStatus) -> None:
    assert st.decision is not None and st.decision.reason == Reason.NOT_BETTER
    assert st.candidate == ModelScore(version="6", run_id="r1", metrics={"rmse": 13.0})
    assert st.champion == ModelScore(version="5", metrics={"rmse": 12.0})
    tags = {"refit.decision": "rejected", "refit.reason": "NotBetter", "refit.training-run": RUN}
    assert TagModelVersion("churn-model", "6", tags) in actions
    assert MarkMlflowRun("r1", "FINISHED", tags | {"refit.phase": "Rejected"}) in actions
    assert st.completion_time == NOW


def _read_alias(actions: list[Action], st: TrainingRunStatus) -> None:
    assert actions == [ReadChampionAlias("churn-model", "champion")]
    assert st.decision is not None and st.decision.reason == Reason.CANDIDATE_WON


def _move(actions: list[Action], st: TrainingRunStatus) -> None:
    assert actions == [
        MoveChampionAlias("churn-model", "champion", expected_version="5", new_version="6")
    ]


def _move_first(actions: list[Action], st: TrainingRunStatus) -> None:
    assert actions == [
        MoveChampionAlias("churn-model", "champion", expected_version=None, new_version="6")
    ]


def _promoted(actions: list[Action], st: TrainingRunStatus) -> None:
    tags = {"refit.decision": "promoted", "refit.reason": "CandidateWon", "refit.training-run": RUN}
    assert TagModelVersion("churn-model", "6", tags) in actions
    assert MarkMlflowRun("r1", "FINISHED", tags | {"refit.phase": "Promoted"}) in actions
    events = [a for a in actions if isinstance(a, EmitEvent)]
    assert events == [EmitEvent("Normal", "CandidateWon", "Promoted: " + WIN.message)]


def _re_evaluate(actions: list[Action], st: TrainingRunStatus) -> None:
    assert CreateEvaluationJob(EVAL2, 2, "r1", "6", "champion", suspend=False) in actions
    assert any(isinstance(a, EmitEvent) and a.reason == Reason.CHAMPION_MOVED for a in actions)
    assert not any(isinstance(a, MoveChampionAlias) for a in actions)
    assert st.evaluation_job == EVAL2 and st.decision is None


def _killed(actions: list[Action], st: TrainingRunStatus) -> None:
    assert actions == [MarkMlflowRun("r1", "KILLED", {"refit.phase": "Deleted"})]


def _no_recreate(actions: list[Action], st: TrainingRunStatus) -> None:
    assert not any(isinstance(a, CreateTrainingJob) for a in actions)


def _replayed_eval2(actions: list[Action], st: TrainingRunStatus) -> None:
    assert actions == [] and st.evaluation_job == EVAL2 and st.decision is None


CASES = [
    Case(
        "new run: find or create the MLflow run",
        status(),
        RunObservations(),
        [EnsureMlflowRun],
        RunPhase.PENDING,
        {SUCCEEDED: (U, Reason.PENDING)},
        _ensure,
    ),
    Case(
        "MLflow run known: create the training Job",
        status(),
        RunObservations(mlflow_run_id="r1"),
        [CreateTrainingJob],
        RunPhase.PENDING,
        {TRAINED: (U, Reason.JOB_CREATED)},
        _created_training,
    ),
    Case(
        "with a Kueue queue the Job is created suspended",
        status(),
        RunObservations(mlflow_run_id="r1"),
        [CreateTrainingJob],
        RunPhase.PENDING,
        {},
        _queued_create,
        make_spec(queue="gpu"),
    ),
    Case(
        "Job suspended by Kueue: Queued",
        status(mlflow_run_id="r1"),
        RunObservations(mlflow_run_id="r1", jobs={TRAIN: job(JobState.SUSPENDED)}),
        [EmitEvent],
        RunPhase.QUEUED,
        {TRAINED: (U, Reason.QUEUED)},
        None,
        make_spec(queue="gpu"),
    ),
    Case(
        "Job admitted and running: Training",
        status(RunPhase.QUEUED, mlflow_run_id="r1"),
        RunObservations(mlflow_run_id="r1", jobs={TRAIN: job(JobState.ACTIVE)}),
        [EmitEvent],
        RunPhase.TRAINING,
        {TRAINED: (U, "JobRunning")},
    ),
    Case(
        "still training: nothing to do",
        status(RunPhase.TRAINING, mlflow_run_id="r1"),
        RunObservations(mlflow_run_id="r1", jobs={TRAIN: job(JobState.ACTIVE)}),
        [],
        RunPhase.TRAINING,
    ),
    Case(
        "training failed: Failed",
        status(RunPhase.TRAINING, mlflow_run_id="r1"),
        RunObservations(
            mlflow_run_id="r1",
            jobs={TRAIN: job(JobState.FAILED, "BackoffLimitExceeded", "OOMKilled")},
        ),
        [MarkMlflowRun, EmitEvent],
        RunPhase.FAILED,
        {
            TRAINED: (F, Reason.JOB_FAILED),
            SUCCEEDED: (F, Reason.JOB_FAILED),
            PROMOTED: (F, Reason.JOB_FAILED),
        },
        _failed_training,
    ),
    Case(
        "trained: register the candidate",
        status(RunPhase.TRAINING, mlflow_run_id="r1"),
        RunObservations(mlflow_run_id="r1", jobs={TRAIN: job(JobState.SUCCEEDED)}),
        [RegisterCandidate, EmitEvent],
        RunPhase.EVALUATING,
        {TRAINED: (T, Reason.JOB_SUCCEEDED)},
        _register,
    ),
    Case(
        "candidate registered: create the evaluation Job",
        status(RunPhase.EVALUATING, mlflow_run_id="r1", conditions={TRAINED: True}),
        RunObservations(mlflow_run_id="r1", candidate_version="6"),
        [CreateEvaluationJob],
        RunPhase.EVALUATING,
        {EVALUATED: (U, Reason.JOB_CREATED)},
        _create_eval,
    ),
    Case(
        "training Job deleted by its TTL after success: not recreated",
        status(RunPhase.EVALUATING, **TRAINED_RUN, conditions={TRAINED: True}),
        RunObservations(mlflow_run_id="r1", jobs={EVAL: job(JobState.ACTIVE)}),
        [],
        RunPhase.EVALUATING,
        {},
        _no_recreate,
    ),
    Case(
        "evaluating",
        status(RunPhase.EVALUATING, **TRAINED_RUN, evaluation_job=EVAL, conditions={TRAINED: True}),
        RunObservations(mlflow_run_id="r1", jobs={EVAL: job(JobState.ACTIVE)}),
        [],
        RunPhase.EVALUATING,
        {EVALUATED: (U, "JobRunning")},
    ),
    Case(
        "evaluation failed: Failed",
        status(RunPhase.EVALUATING, **TRAINED_RUN, conditions={TRAINED: True}),
        RunObservations(
            mlflow_run_id="r1", jobs={EVAL: job(JobState.FAILED, "BackoffLimitExceeded")}
        ),
        [MarkMlflowRun, EmitEvent],
        RunPhase.FAILED,
        {EVALUATED: (F, Reason.EVALUATION_FAILED), SUCCEEDED: (F, Reason.EVALUATION_FAILED)},
    ),
    Case(
        "evaluation done: read its result",
        status(RunPhase.EVALUATING, **TRAINED_RUN, conditions={TRAINED: True}),
        RunObservations(mlflow_run_id="r1", jobs={EVAL: job(JobState.SUCCEEDED)}),
        [ReadEvaluation],
        RunPhase.EVALUATING,
        {},
        _read_eval,
    ),
    Case(
        "a result of another attempt is not used",
        status(RunPhase.EVALUATING, **TRAINED_RUN, conditions={TRAINED: True}),
        RunObservations(
            mlflow_run_id="r1",
            jobs={EVAL: job(JobState.SUCCEEDED)},
            evaluation=evaluation(10, 12, name="other-eval"),
        ),
        [ReadEvaluation],
        RunPhase.EVALUATING,
    ),
    Case(
        "not better: Rejected",
        status(RunPhase.EVALUATING, **TRAINED_RUN, conditions={TRAINED: True}),
        RunObservations(
            mlflow_run_id="r1", jobs={EVAL: job(JobState.SUCCEEDED)}, evaluation=evaluation(13, 12)
        ),
        [TagModelVersion, MarkMlflowRun, EmitEvent],
        RunPhase.REJECTED,
        {
            EVALUATED: (T, Reason.EVALUATION_SUCCEEDED),
            PROMOTED: (F, Reason.NOT_BETTER),
            SUCCEEDED: (T, Reason.SUCCEEDED),
        },
        _rejected,
    ),
    Case(
        "better: read the champion alias before promoting",
        status(RunPhase.EVALUATING, **TRAINED_RUN, conditions={TRAINED: True}),
        RunObservations(
            mlflow_run_id="r1", jobs={EVAL: job(JobState.SUCCEEDED)}, evaluation=evaluation(10, 12)
        ),
        [ReadChampionAlias],
        RunPhase.EVALUATING,
        {EVALUATED: (T, Reason.EVALUATION_SUCCEEDED)},
        _read_alias,
    ),
    Case(
        "alias still at the scored champion: compare-and-set",
        status(RunPhase.EVALUATING, **EVALUATED_RUN),
        RunObservations(mlflow_run_id="r1", champion_alias=AliasObservation("5")),
        [MoveChampionAlias],
        RunPhase.EVALUATING,
        {},
        _move,
    ),
    Case(
        "alias points at the candidate: Promoted",
        status(RunPhase.EVALUATING, **EVALUATED_RUN),
        RunObservations(mlflow_run_id="r1", champion_alias=AliasObservation("6")),
        [TagModelVersion, MarkMlflowRun, EmitEvent],
        RunPhase.PROMOTED,
        {PROMOTED: (T, Reason.CANDIDATE_WON), SUCCEEDED: (T, Reason.SUCCEEDED)},
        _promoted,
    ),
    Case(
        "no champion yet: the first candidate sets the alias",
        status(RunPhase.EVALUATING, **TRAINED_RUN, conditions={TRAINED: True}),
        RunObservations(
            mlflow_run_id="r1",
            jobs={EVAL: job(JobState.SUCCEEDED)},
            evaluation=evaluation(20, None, version=None),
            champion_alias=AliasObservation(None),
        ),
        [MoveChampionAlias],
        RunPhase.EVALUATING,
        {},
        _move_first,
    ),
    Case(
        "champion moved since evaluation: evaluate again",
        status(RunPhase.EVALUATING, **EVALUATED_RUN),
        RunObservations(
            mlflow_run_id="r1",
            jobs={EVAL: job(JobState.SUCCEEDED)},
            champion_alias=AliasObservation("7"),
        ),
        [CreateEvaluationJob, EmitEvent],
        RunPhase.EVALUATING,
        {EVALUATED: (U, Reason.CHAMPION_MOVED), PROMOTED: (U, Reason.CHAMPION_MOVED)},
        _re_evaluate,
    ),
    Case(
        "re-evaluation created but the status write was lost: adopt it",
        status(RunPhase.EVALUATING, **EVALUATED_RUN),
        RunObservations(
            mlflow_run_id="r1", jobs={EVAL: job(JobState.SUCCEEDED), EVAL2: job(JobState.ACTIVE)}
        ),
        [],
        RunPhase.EVALUATING,
        {EVALUATED: (U, "JobRunning")},
        _replayed_eval2,
    ),
    Case(
        "champion kept moving: give up",
        status(
            RunPhase.EVALUATING,
            **(EVALUATED_RUN | {"evaluation_job": f"{RUN}-eval-{MAX_EVALUATION_ATTEMPTS}"}),
        ),
        RunObservations(mlflow_run_id="r1", champion_alias=AliasObservation("9")),
        [MarkMlflowRun, EmitEvent],
        RunPhase.FAILED,
        {SUCCEEDED: (F, Reason.CHAMPION_MOVED)},
    ),
    Case(
        "Manual: wait for approval",
        status(RunPhase.EVALUATING, **EVALUATED_RUN),
        RunObservations(mlflow_run_id="r1"),
        [EmitEvent],
        RunPhase.AWAITING_APPROVAL,
        {PROMOTED: (F, Reason.AWAITING_APPROVAL)},
        None,
        make_spec(mode="Manual"),
    ),
    Case(
        "Manual, still waiting: quiet",
        status(RunPhase.AWAITING_APPROVAL, **EVALUATED_RUN),
        RunObservations(mlflow_run_id="r1"),
        [],
        RunPhase.AWAITING_APPROVAL,
        {},
        None,
        make_spec(mode="Manual"),
    ),
    Case(
        "Manual, approved: read the alias",
        status(RunPhase.AWAITING_APPROVAL, **EVALUATED_RUN),
        RunObservations(mlflow_run_id="r1", approved=True),
        [ReadChampionAlias],
        RunPhase.AWAITING_APPROVAL,
        {},
        None,
        make_spec(mode="Manual"),
    ),
    Case(
        "Manual, rejected by the gate: no approval needed",
        status(RunPhase.EVALUATING, **TRAINED_RUN, conditions={TRAINED: True}),
        RunObservations(
            mlflow_run_id="r1", jobs={EVAL: job(JobState.SUCCEEDED)}, evaluation=evaluation(13, 12)
        ),
        [TagModelVersion, MarkMlflowRun, EmitEvent],
        RunPhase.REJECTED,
        {},
        None,
        make_spec(mode="Manual"),
    ),
    Case(
        "terminal: nothing more",
        status(RunPhase.PROMOTED, **EVALUATED_RUN),
        RunObservations(mlflow_run_id="r1"),
        [],
        RunPhase.PROMOTED,
    ),
    Case(
        "deleted while running: close the MLflow run",
        status(RunPhase.TRAINING, mlflow_run_id="r1"),
        RunObservations(mlflow_run_id="r1", deleting=True),
        [MarkMlflowRun],
        RunPhase.TRAINING,
        {},
        _killed,
    ),
    Case(
        "no pipeline snapshot: Failed",
        status(),
        RunObservations(),
        [EmitEvent],
        RunPhase.FAILED,
        {SUCCEEDED: (F, Reason.INVALID_SPEC)},
        None,
        make_spec(snapshot=False),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_transition(case: Case) -> None:
    before = case.before.model_copy(deep=True)
    actions, after = reconcile_run(case.spec, case.before, case.obs, NOW, identity=ID)
    assert case.before == before  # the input status is not modified
    assert sorted(type(a).__name__ for a in actions) == sorted(t.__name__ for t in case.actions), (
        actions
    )
    assert after.phase is case.phase
    for type_, (expected_status, reason) in case.conditions.items():
        condition = get_condition(after.conditions, type_)
        assert condition is not None, type_
        assert (condition.status, condition.reason) == (expected_status, reason), condition
    assert after.observed_generation == 1
    if case.check:
        case.check(actions, after)
    # Re-running on the same observations asks for the same things: idempotent by construction.
    again, _ = reconcile_run(case.spec, case.before, case.obs, NOW, identity=ID)
    assert again == actions


def test_conditions_carry_generation_and_keep_transition_times() -> None:
    _, first = reconcile_run(SPEC, None, RunObservations(mlflow_run_id="r1"), NOW, identity=ID)
    later = NOW + timedelta(minutes=5)
    _, second = reconcile_run(
        SPEC,
        first,
        RunObservations(mlflow_run_id="r1", jobs={TRAIN: job(JobState.ACTIVE)}),
        later,
        identity=replace(ID, generation=2),
    )
    trained = get_condition(second.conditions, TRAINED)
    assert trained is not None and trained.observed_generation == 2
    assert trained.last_transition_time == NOW  # Unknown → Unknown is not a transition
    assert condition_status(second.conditions, SUCCEEDED) is ConditionStatus.UNKNOWN


# --- simulation: crash anywhere, converge, create each thing exactly once ------------------------


class Crash(Exception):
    pass


@dataclass
class World:
    """A fake cluster + MLflow: Jobs progress with time, the alias can be moved by someone else."""

    rng: random.Random
    job_steps: int
    train_fails: bool
    candidate_rmse: float
    champion: str | None
    external_moves: int
    manual_approval_at: int | None
    mlflow_runs: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    results: dict[str, EvaluationResult] = field(default_factory=dict)
    created: Counter[str] = field(default_factory=Counter)
    duplicate_requests: list[Action] = field(default_factory=list)
    our_moves: list[tuple[str | None, str]] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    clock: int = 0

    def observe(self, run_uid: str) -> RunObservations:
        run_id = self.mlflow_runs.get(run_uid)
        states = {name: JobObservation(info["state"]) for name, info in self.jobs.items()}
        return RunObservations(
            mlflow_run_id=run_id,
            jobs=states,
            candidate_version=self.versions.get(run_id) if run_id else None,
            approved=self.manual_approval_at is not None and self.clock >= self.manual_approval_at,
        )

    def perform(self, action: Action, obs: RunObservations) -> RunObservations:
        if isinstance(action, EnsureMlflowRun):
            if action.run_uid in self.mlflow_runs:
                self.duplicate_requests.append(action)
            else:
                self.mlflow_runs[action.run_uid] = "mlflow-run-1"
                self.created["mlflow run"] += 1
            return replace(obs, mlflow_run_id=self.mlflow_runs[action.run_uid])
        if isinstance(action, CreateTrainingJob | CreateEvaluationJob):
            if action.job_name in self.jobs:
                self.duplicate_requests.append(action)
            else:
                kind = "train" if isinstance(action, CreateTrainingJob) else "eval"
                self.jobs[action.job_name] = {
                    "state": JobState.ACTIVE,
                    "age": 0,
                    "kind": kind,
                    "champion": self.champion,
                }
                self.created[action.job_name] += 1
            jobs = dict(obs.jobs) | {
                action.job_name: JobObservation(self.jobs[action.job_name]["state"])
            }
            return replace(obs, jobs=jobs)
        if isinstance(action, RegisterCandidate):
            if action.mlflow_run_id in self.versions:
                self.duplicate_requests.append(action)
            else:
                self.versions[action.mlflow_run_id] = "cand"
                self.metrics["cand"] = self.candidate_rmse
                self.created["model version"] += 1
            return replace(obs, candidate_version=self.versions[action.mlflow_run_id])
        if isinstance(action, ReadEvaluation):
            return replace(obs, evaluation=self.results.get(action.job_name))
        if isinstance(action, ReadChampionAlias):
            return replace(obs, champion_alias=AliasObservation(self.champion))
        if isinstance(action, MoveChampionAlias):
            if self.champion == action.expected_version:
                self.champion = action.new_version
                self.our_moves.append((action.expected_version, action.new_version))
            elif self.champion == action.new_version:
                self.duplicate_requests.append(action)
            return replace(obs, champion_alias=AliasObservation(self.champion))
        if isinstance(action, MarkMlflowRun):
            self.marks.append(action.status)
        return obs

    def tick(self) -> None:
        self.clock += 1
        for name, info in self.jobs.items():
            info["age"] += 1
            if info["state"] is JobState.ACTIVE and info["age"] >= self.job_steps:
                if info["kind"] == "train":
                    info["state"] = JobState.FAILED if self.train_fails else JobState.SUCCEEDED
                else:
                    info["state"] = JobState.SUCCEEDED
                    # The evaluation scored whatever the alias pointed to when its Job started.
                    scored = info["champion"]
                    self.results[name] = EvaluationResult(
                        job_name=name,
                        candidate_metrics={"rmse": self.candidate_rmse},
                        champion_metrics=None if scored is None else {"rmse": self.metrics[scored]},
                        champion_version=scored,
                    )
        if self.external_moves and self.champion != "cand" and self.rng.random() < 0.3:
            self.external_moves -= 1
            version = f"ext-{self.clock}"
            self.metrics[version] = self.rng.choice([8.0, 11.5, 13.0])
            self.champion = version


def simulate(
    seed: int,
    crash_rate: float,
    job_steps: int,
    train_fails: bool,
    candidate_rmse: float,
    has_champion: bool,
    external_moves: int,
    manual: bool,
) -> tuple[World, TrainingRunStatus, list[Action]]:
    rng = random.Random(seed)
    world = World(
        rng=rng,
        job_steps=job_steps,
        train_fails=train_fails,
        candidate_rmse=candidate_rmse,
        champion="v1" if has_champion else None,
        external_moves=external_moves,
        manual_approval_at=rng.randint(0, 30) if manual else None,
    )
    world.metrics["v1"] = 12.0
    spec = make_spec(mode="Manual" if manual else "Auto")
    identity = RunIdentity(name=RUN, namespace="ml", uid="uid-1", generation=1)
    persisted: TrainingRunStatus | None = None
    requested: list[Action] = []
    for reconcile in range(300):
        now = NOW + timedelta(minutes=reconcile)
        working = persisted
        obs = world.observe("uid-1")
        try:
            for _ in range(8):
                actions, working = reconcile_run(spec, working, obs, now, identity=identity)
                if not actions:
                    break
                for action in actions:
                    if rng.random() < crash_rate:
                        raise Crash
                    requested.append(action)
                    obs = world.perform(action, obs)
            if rng.random() < crash_rate:
                raise Crash  # after acting, before the status write
            persisted = working
        except Crash:
            pass
        if persisted is not None and persisted.phase.terminal:
            return world, persisted, requested
        world.tick()
    raise AssertionError(f"no convergence: {persisted}")


def check_simulation(world: World, final: TrainingRunStatus, requested: list[Action]) -> None:
    assert world.duplicate_requests == []  # nothing was ever asked for twice
    assert all(count == 1 for count in world.created.values()), world.created
    creates = Counter(
        type(a).__name__
        for a in requested
        if isinstance(a, CreateTrainingJob | EnsureMlflowRun | RegisterCandidate)
    )
    assert all(count == 1 for count in creates.values()), creates
    eval_jobs = [a.job_name for a in requested if isinstance(a, CreateEvaluationJob)]
    assert len(eval_jobs) == len(set(eval_jobs))  # each attempt once
    if final.phase is RunPhase.PROMOTED:
        assert len(world.our_moves) == 1
        expected, new = world.our_moves[0]
        assert new == "cand" and world.champion == "cand"
        # Promoted against the champion that was current at the compare-and-set: never stale.
        assert final.champion is None or final.champion.version == expected
        assert final.champion is not None or expected is None
        assert final.decision is not None and final.decision.promote
    else:
        assert world.our_moves == []
    if final.phase is RunPhase.REJECTED:
        assert final.decision is not None and not final.decision.promote
        # The rejection was decided against a champion the evaluation really scored.
        assert final.champion is None or final.champion.version in world.metrics
    if final.phase is RunPhase.FAILED:
        assert world.train_fails or "kept moving" in (final.failure_reason or "")
        assert world.marks[-1] == "FAILED"
    else:
        assert world.marks[-1] == "FINISHED"
        assert final.candidate is not None and final.candidate.version == "cand"
    assert condition_status(final.conditions, SUCCEEDED) is (
        ConditionStatus.FALSE if final.phase is RunPhase.FAILED else ConditionStatus.TRUE
    )


@pytest.mark.parametrize("crash_at", range(40))
def test_crash_at_each_point_of_a_race_converges(crash_at: int) -> None:
    """One scenario (the champion moves during evaluation), crashing at the n-th action."""

    world_rng = random.Random(1)
    spec = make_spec()
    world = World(world_rng, 2, False, 10.0, "v1", 0, None)
    world.metrics["v1"] = 12.0
    persisted: TrainingRunStatus | None = None
    performed = 0
    requested: list[Action] = []
    moved = False
    for _ in range(100):
        obs = world.observe("uid-1")
        working = persisted
        try:
            for _ in range(8):
                actions, working = reconcile_run(spec, working, obs, NOW, identity=ID)
                if not actions:
                    break
                for action in actions:
                    performed += 1
                    if performed == crash_at:
                        raise Crash
                    requested.append(action)
                    obs = world.perform(action, obs)
            persisted = working
        except Crash:
            pass
        if persisted is not None and persisted.phase.terminal:
            break
        world.tick()
        if not moved and any(info["kind"] == "eval" for info in world.jobs.values()):
            world.metrics["v2"] = 11.0
            world.champion = "v2"  # another run promoted while ours was being evaluated
            moved = True
    assert persisted is not None and persisted.phase is RunPhase.PROMOTED
    check_simulation(world, persisted, requested)
    assert persisted.champion == ModelScore(version="v2", metrics={"rmse": 11.0})
    assert persisted.evaluation_job == EVAL2


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    crash_rate=st.sampled_from([0.0, 0.1, 0.3]),
    job_steps=st.integers(1, 4),
    train_fails=st.booleans(),
    candidate_rmse=st.sampled_from([9.0, 12.0, 14.0]),
    has_champion=st.booleans(),
    external_moves=st.integers(0, 3),
    manual=st.booleans(),
)
def test_random_crashes_converge_with_one_of_each_create(
    seed: int,
    crash_rate: float,
    job_steps: int,
    train_fails: bool,
    candidate_rmse: float,
    has_champion: bool,
    external_moves: int,
    manual: bool,
) -> None:
    world, final, requested = simulate(
        seed,
        crash_rate,
        job_steps,
        train_fails,
        candidate_rmse,
        has_champion,
        external_moves,
        manual,
    )
    check_simulation(world, final, requested)
    if train_fails:
        assert final.phase is RunPhase.FAILED
