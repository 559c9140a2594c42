"""One reconcile pass of a TrainingPipeline, decided purely: which runs to create or delete,
which drift check to start, what the status says, which events to post and when to wake up.

The controller observes (the pipeline, its runs from an index, the pending drift check's
outcome), calls `plan_pipeline`, acts on the plan, and writes the status once. Everything it
creates has a deterministic name, so replaying a plan after a crash creates nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from refit.api.conditions import DRIFT_DETECTED, PROMOTED, READY, RUNNING, SUSPENDED, Reason
from refit.api.enums import ConditionStatus, RunPhase, TriggerType
from refit.api.pipeline import (
    ChampionStatus,
    DriftCheckStatus,
    LastRunSummary,
    RunReference,
    TrainingPipeline,
    TrainingPipelineStatus,
)
from refit.core.champion import promote_champion
from refit.core.concurrency import plan_runs
from refit.core.conditions import set_condition
from refit.core.drift_policy import (
    DriftAssessment,
    DriftVerdict,
    assess_drift,
    decide_drift_run,
    drift_condition,
    result_from_report,
)
from refit.core.missed import decide_for_spec
from refit.core.names import drift_check_job_name, run_name
from refit.core.schedule import (
    ScheduleError,
    fire_times_between,
    next_fire,
    parse_schedule,
    schedule_key,
)

__all__ = [
    "DriftObservation",
    "NewRun",
    "PipelineEvent",
    "PipelinePlan",
    "RunSummary",
    "StartDriftCheck",
    "plan_pipeline",
]

NO_RUN_YET: Final = "NoRunYet"
RUN_FAILED: Final = "RunFailed"
PENDING: Final = "Pending"


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class RunSummary:
    """What the pipeline needs to know of one of its TrainingRuns (kept in an in-memory index)."""

    name: str
    uid: str | None = None
    trigger: TriggerType = TriggerType.MANUAL
    scheduled_time: datetime | None = None
    created: datetime | None = None
    phase: RunPhase = RunPhase.PENDING
    start_time: datetime | None = None
    completion_time: datetime | None = None
    decision_reason: str | None = None
    decision_message: str | None = None
    candidate_version: str | None = None
    candidate_run_id: str | None = None
    candidate_value: float | None = None
    failure_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.phase.terminal

    @property
    def sort_key(self) -> tuple[float, str]:
        """Creation order (the name breaks ties, and runs without times sort first)."""
        moment = self.created or self.scheduled_time or self.start_time
        return (moment.timestamp() if moment else 0.0, self.name)

    @classmethod
    def from_object(cls, obj: Mapping[str, Any], metric: str | None = None) -> RunSummary:
        """From a TrainingRun as the API returns it; tolerant of partial objects."""
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        trigger = spec.get("trigger") or {}
        decision = status.get("decision") or {}
        candidate = status.get("candidate") or {}
        metrics = candidate.get("metrics") or {}
        metric = metric or ((spec.get("evaluation") or {}).get("metric"))
        try:
            phase = RunPhase(status.get("phase") or RunPhase.PENDING)
        except ValueError:
            phase = RunPhase.PENDING
        try:
            trigger_type = TriggerType(trigger.get("type") or TriggerType.MANUAL)
        except ValueError:
            trigger_type = TriggerType.MANUAL
        value = metrics.get(metric) if metric else None
        return cls(
            name=str(meta.get("name", "")),
            uid=meta.get("uid"),
            trigger=trigger_type,
            scheduled_time=_parse_time(trigger.get("scheduledTime")),
            created=_parse_time(meta.get("creationTimestamp")),
            phase=phase,
            start_time=_parse_time(status.get("startTime")),
            completion_time=_parse_time(status.get("completionTime")),
            decision_reason=decision.get("reason"),
            decision_message=decision.get("message"),
            candidate_version=candidate.get("version"),
            candidate_run_id=candidate.get("runId"),
            candidate_value=float(value) if isinstance(value, int | float) else None,
            failure_reason=status.get("failureReason"),
        )


@dataclass(frozen=True)
class DriftObservation:
    """The outcome of the pending drift check, as the controller observed it."""

    finished: bool
    report: Mapping[str, Any] | None = None
    """The Job's JSON report, read from MLflow, when it succeeded."""
    error: str | None = None
    """Why the check failed (the Job's failure or an unreadable report)."""


@dataclass(frozen=True)
class NewRun:
    name: str
    trigger: TriggerType
    scheduled_time: datetime
    reason: str


@dataclass(frozen=True)
class StartDriftCheck:
    job_name: str
    scheduled_time: datetime


@dataclass(frozen=True)
class PipelineEvent:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass(frozen=True)
class PipelinePlan:
    create_runs: tuple[NewRun, ...] = ()
    delete_runs: tuple[str, ...] = ()
    start_drift_check: StartDriftCheck | None = None
    status: TrainingPipelineStatus = field(default_factory=TrainingPipelineStatus)
    events: tuple[PipelineEvent, ...] = ()
    wake_at: datetime | None = None
    missed: int = 0


@dataclass
class _Pass:
    tp: TrainingPipeline
    now: datetime
    status: TrainingPipelineStatus
    events: list[PipelineEvent] = field(default_factory=list)
    create: list[NewRun] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    wake: list[datetime] = field(default_factory=list)
    drift_start: StartDriftCheck | None = None
    missed: int = 0

    def condition(
        self, type_: str, status: ConditionStatus | bool, reason: str, message: str
    ) -> None:
        self.status.conditions = set_condition(
            self.status.conditions,
            type_,
            status,
            reason,
            message,
            now=self.now,
            observed_generation=self.tp.metadata.generation,
        )

    def event(self, type_: str, reason: str, message: str) -> None:
        self.events.append(PipelineEvent(type_, reason, message))


def plan_pipeline(
    tp: TrainingPipeline,
    runs: Sequence[RunSummary],
    *,
    now: datetime,
    blockers: Sequence[tuple[str, str]] = (),
    drift: DriftObservation | None = None,
) -> PipelinePlan:
    """Decide one pass. `blockers` are (reason, message) pairs that make the pipeline not Ready
    (invalid spec, a missing Secret, MLflow unreachable): then nothing new is started."""
    status = (tp.status or TrainingPipelineStatus()).model_copy(deep=True)
    status.observed_generation = tp.metadata.generation
    step = _Pass(tp, now, status)
    key = schedule_key(tp.metadata.namespace, tp.metadata.name)
    created_at = tp.metadata.creation_timestamp or now
    suspended = tp.spec.suspend
    ready = not blockers

    _summarize_runs(step, runs)
    step.condition(
        SUSPENDED,
        suspended,
        Reason.SUSPENDED_BY_USER if suspended else Reason.NOT_SUSPENDED,
        "spec.suspend is true: no new runs or drift checks" if suspended else "",
    )

    active = [r.name for r in sorted(runs, key=lambda r: r.sort_key) if not r.finished]
    if ready:
        _schedule(step, key, created_at, suspended, active)
        _drift(step, key, created_at, suspended, active, drift)
    _history(step, runs)

    if blockers:
        reason, message = blockers[0]
        step.condition(READY, False, reason, "; ".join(m for _, m in blockers))
        if _changed_ready(tp.status, reason, message):
            step.event("Warning", reason, message)
    else:
        step.condition(READY, True, Reason.RECONCILED, _ready_message(step.status))

    wake = min(step.wake) if step.wake else None
    return PipelinePlan(
        create_runs=tuple(step.create),
        delete_runs=tuple(step.delete),
        start_drift_check=step.drift_start,
        status=step.status,
        events=tuple(step.events),
        wake_at=wake,
        missed=step.missed,
    )


def _changed_ready(old: TrainingPipelineStatus | None, reason: str, message: str) -> bool:
    for condition in old.conditions if old else []:
        if condition.type == READY:
            return not (condition.status == ConditionStatus.FALSE and condition.reason == reason)
    return True


def _ready_message(status: TrainingPipelineStatus) -> str:
    parts = []
    if status.next_schedule_time:
        parts.append(f"next run {status.next_schedule_time.isoformat()}")
    if status.next_drift_check_time:
        parts.append(f"next drift check {status.next_drift_check_time.isoformat()}")
    return "; ".join(parts) or "waiting for a manual run"


def _summarize_runs(step: _Pass, runs: Sequence[RunSummary]) -> None:
    status = step.status
    ordered = sorted(runs, key=lambda r: r.sort_key)
    active = [r for r in ordered if not r.finished]
    status.active_runs = [RunReference(name=r.name, uid=r.uid) for r in active]
    if ordered:
        last = ordered[-1]
        status.last_run = LastRunSummary(
            name=last.name,
            trigger=last.trigger,
            phase=last.phase,
            scheduled_time=last.scheduled_time,
            start_time=last.start_time,
            completion_time=last.completion_time,
            metric_value=last.candidate_value,
            decision=last.decision_message or last.failure_reason,
        )
    if active:
        step.condition(
            RUNNING, True, Reason.RUN_ACTIVE, f"{', '.join(r.name for r in active)} active"
        )
    else:
        step.condition(RUNNING, False, Reason.IDLE, "no active run")

    finished = [r for r in ordered if r.finished]
    finished.sort(key=lambda r: (r.completion_time or r.created or step.now, r.name))
    if finished:
        last_done = finished[-1]
        if last_done.phase is RunPhase.PROMOTED:
            step.condition(
                PROMOTED,
                True,
                Reason.CANDIDATE_WON
                if last_done.decision_reason != Reason.NO_CHAMPION
                else Reason.NO_CHAMPION,
                f"{last_done.name} promoted version {last_done.candidate_version}: {last_done.decision_message or ''}".strip(),
            )
        elif last_done.phase is RunPhase.REJECTED:
            step.condition(
                PROMOTED,
                False,
                last_done.decision_reason or Reason.NOT_BETTER,
                f"{last_done.name} rejected: {last_done.decision_message or ''}".strip(),
            )
        else:
            step.condition(
                PROMOTED,
                False,
                RUN_FAILED,
                f"{last_done.name} failed: {last_done.failure_reason or 'see the run'}",
            )
    elif not any(c.type == PROMOTED for c in step.status.conditions):
        step.condition(PROMOTED, ConditionStatus.UNKNOWN, NO_RUN_YET, "no run has finished yet")

    promoted = [r for r in finished if r.phase is RunPhase.PROMOTED and r.candidate_version]
    if promoted:
        newest = promoted[-1]
        champion = ChampionStatus(
            version=newest.candidate_version,
            metric=step.tp.spec.evaluation.metric,
            metric_value=newest.candidate_value,
            run_id=newest.candidate_run_id,
            training_run=newest.name,
            promoted_at=newest.completion_time,
        )
        current = status.champion
        # A promotion newer than the recorded champion replaces it; a rollback (`refit rollback`
        # records the restored champion with the time of the rollback) is not undone here.
        newer = (
            current is None
            or current.promoted_at is None
            or (champion.promoted_at is not None and champion.promoted_at > current.promoted_at)
        )
        if newer and (current is None or current.version != champion.version):
            status.champion, status.champion_history = promote_champion(
                current, status.champion_history, champion
            )


def _schedule(
    step: _Pass, key: str, created_at: datetime, suspended: bool, active: list[str]
) -> None:
    spec = step.tp.spec.schedule
    status = step.status
    if spec is None:
        status.next_schedule_time = None
        return
    try:
        schedule = parse_schedule(spec.cron, spec.time_zone, key)
    except ScheduleError:
        return  # validation reports it as a blocker
    decision = decide_for_spec(
        spec,
        schedule,
        now=step.now,
        last_schedule_time=status.last_schedule_time,
        created_at=created_at,
        suspended=suspended,
    )
    status.next_schedule_time = decision.next_schedule_time
    if decision.next_schedule_time:
        step.wake.append(decision.next_schedule_time)
    if decision.last_schedule_time != status.last_schedule_time:
        status.last_schedule_time = decision.last_schedule_time
    names = {run_name(step.tp.metadata.name or "", t): t for t in decision.run_times}
    plan = plan_runs(step.tp.spec.concurrency_policy, active, list(names))
    missed = decision.missed + len(plan.skip)
    for name in plan.delete:
        step.delete.append(name)
        step.event("Normal", Reason.REPLACED, f"deleting {name}: replaced by a new scheduled run")
    for name in plan.create:
        if name in active:
            continue
        step.create.append(NewRun(name, TriggerType.SCHEDULE, names[name], decision.message))
    if missed:
        status.missed_schedules += missed
        step.missed = missed
        why = plan.message if plan.skip else decision.message
        step.event("Warning", "MissedSchedule", f"{missed} schedule tick(s) not run: {why}")


def _drift(
    step: _Pass,
    key: str,
    created_at: datetime,
    suspended: bool,
    active: list[str],
    observation: DriftObservation | None,
) -> None:
    trigger = step.tp.spec.triggers.drift
    status = step.status
    if trigger is None:
        status.next_drift_check_time = None
        return
    last = status.last_drift_check
    # 1. Record the outcome of the pending check.
    if (
        last is not None
        and last.result == PENDING
        and observation is not None
        and observation.finished
    ):
        if observation.report is not None and not observation.error:
            assessment = assess_drift(trigger, result_from_report(observation.report))
        else:
            assessment = DriftAssessment(
                DriftVerdict.FAILED,
                Reason.DRIFT_CHECK_FAILED,
                f"drift check failed: {observation.error}",
            )
        _record_assessment(step, last, assessment)
        decision = decide_drift_run(
            assessment,
            now=step.now,
            cooldown=trigger.cooldown,
            last_drift_run_time=status.last_drift_run_time,
            suspended=suspended,
        )
        if decision.create and last.scheduled_time is not None:
            name = run_name(step.tp.metadata.name or "", last.scheduled_time, TriggerType.DRIFT)
            plan = plan_runs(step.tp.spec.concurrency_policy, active, [name])
            if plan.create:
                step.create.extend(
                    NewRun(n, TriggerType.DRIFT, last.scheduled_time, decision.message)
                    for n in plan.create
                    if n not in active
                )
                step.delete.extend(plan.delete)
                status.last_drift_run_time = step.now
                step.event("Normal", "DriftRunCreated", f"creating {name}: {decision.message}")
            else:
                step.event("Warning", plan.reason, plan.message)
        elif assessment.verdict is DriftVerdict.DRIFT:
            step.event("Normal", decision.reason, decision.message)
    # 2. Start the next check when one is due and none is pending.
    try:
        schedule = parse_schedule(trigger.check_schedule, trigger.time_zone, key)
    except ScheduleError:
        return
    since = status.last_drift_check_time or created_at
    pending = status.last_drift_check is not None and status.last_drift_check.result == PENDING
    following = next_fire(schedule, max(step.now, since))
    status.next_drift_check_time = None if suspended else following
    if not suspended:
        step.wake.append(following)
    if suspended or pending:
        return
    due = fire_times_between(schedule, since, step.now, limit=1, newest=True)
    if due:
        tick = due[0]
        job = drift_check_job_name(step.tp.metadata.name or "", tick)
        step.drift_start = StartDriftCheck(job, tick)
        status.last_drift_check_time = tick
        status.last_drift_check = DriftCheckStatus(
            scheduled_time=tick, job_name=job, result=PENDING, message="drift check running"
        )


def _record_assessment(step: _Pass, last: DriftCheckStatus, assessment: DriftAssessment) -> None:
    result = {
        DriftVerdict.DRIFT: "Drift",
        DriftVerdict.NO_DRIFT: "NoDrift",
        DriftVerdict.INSUFFICIENT_DATA: "InsufficientData",
        DriftVerdict.FAILED: "Failed",
    }[assessment.verdict]
    step.status.last_drift_check = last.model_copy(
        update={
            "time": step.now,
            "dataset_drift": assessment.verdict is DriftVerdict.DRIFT,
            "drift_share": assessment.share,
            "drifted_features": list(assessment.drifted_features),
            "result": result,
            "message": assessment.message,
        }
    )
    cond_status, reason, message = drift_condition(assessment)
    step.condition(DRIFT_DETECTED, cond_status, reason, message)
    if assessment.verdict is DriftVerdict.FAILED or assessment.verdict is DriftVerdict.DRIFT:
        step.event("Warning", reason, message)


def _history(step: _Pass, runs: Sequence[RunSummary]) -> None:
    spec = step.tp.spec
    finished = sorted(
        (r for r in runs if r.finished and r.name not in step.delete),
        key=lambda r: (r.completion_time or r.created or step.now, r.name),
    )
    succeeded = [r for r in finished if r.phase in (RunPhase.PROMOTED, RunPhase.REJECTED)]
    failed = [r for r in finished if r.phase is RunPhase.FAILED]
    for group, limit in (
        (succeeded, spec.successful_runs_history_limit),
        (failed, spec.failed_runs_history_limit),
    ):
        excess = len(group) - limit
        step.delete.extend(r.name for r in group[: max(excess, 0)])
