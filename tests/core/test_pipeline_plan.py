"""plan_pipeline: one reconcile pass of a pipeline, decided purely with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from refit.api.conditions import DRIFT_DETECTED, PROMOTED, READY, RUNNING, SUSPENDED
from refit.api.enums import ConditionStatus, RunPhase, TriggerType
from refit.api.pipeline import TrainingPipeline
from refit.core.conditions import get_condition
from refit.core.names import run_name
from refit.core.pipeline_plan import DriftObservation, RunSummary, plan_pipeline

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def pipeline(**spec: Any) -> TrainingPipeline:
    body: dict[str, Any] = {
        "data": {"train": "file:///d/train.csv", "current": "file:///d/current.csv"},
        "trainer": {"image": "trainer:1"},
        "evaluation": {"metric": "rmse", "direction": "minimize"},
        "model": {"name": "m"},
        "schedule": {"cron": "*/5 * * * *"},
    }
    body.update(spec)
    return TrainingPipeline.model_validate(
        {
            "apiVersion": "refit.dev/v1alpha1",
            "kind": "TrainingPipeline",
            "metadata": {
                "name": "sales",
                "namespace": "ns",
                "generation": 3,
                "creationTimestamp": T0.isoformat(),
            },
            "spec": body,
        }
    )


def with_status(tp: TrainingPipeline, plan_status: Any) -> TrainingPipeline:
    return tp.model_copy(update={"status": plan_status})


def status_of(conditions: Any, type_: str) -> ConditionStatus:
    condition = get_condition(conditions, type_)
    assert condition is not None, type_
    return condition.status


def test_first_tick_creates_one_run_and_replay_creates_nothing() -> None:
    tp = pipeline()
    now = T0 + timedelta(minutes=5, seconds=3)
    plan = plan_pipeline(tp, [], now=now)
    tick = T0 + timedelta(minutes=5)
    assert [(r.name, r.trigger, r.scheduled_time) for r in plan.create_runs] == [
        (run_name("sales", tick), TriggerType.SCHEDULE, tick)
    ]
    assert plan.status.last_schedule_time == tick
    assert plan.status.next_schedule_time == T0 + timedelta(minutes=10)
    assert plan.wake_at == T0 + timedelta(minutes=10)
    assert plan.status.observed_generation == 3
    assert status_of(plan.status.conditions, READY) is ConditionStatus.TRUE

    # The same pass again, after the run exists and the status was written: nothing new.
    run = RunSummary(name=plan.create_runs[0].name, trigger=TriggerType.SCHEDULE, created=now)
    again = plan_pipeline(with_status(tp, plan.status), [run], now=now + timedelta(seconds=1))
    assert again.create_runs == ()
    assert status_of(again.status.conditions, RUNNING) is ConditionStatus.TRUE

    # A crash before the status write replays the decision: the same name (AlreadyExists).
    replay = plan_pipeline(tp, [run], now=now + timedelta(seconds=2))
    assert [r.name for r in replay.create_runs] in ([], [run.name])


def test_forbid_skips_a_tick_while_a_run_is_active_and_counts_it_missed() -> None:
    tp = pipeline()
    active = RunSummary(
        name="sales-old", trigger=TriggerType.MANUAL, created=T0, phase=RunPhase.TRAINING
    )
    plan = plan_pipeline(tp, [active], now=T0 + timedelta(minutes=5, seconds=1))
    assert plan.create_runs == ()
    assert plan.missed == 1 and plan.status.missed_schedules == 1
    assert any(e.reason == "MissedSchedule" for e in plan.events)


def test_replace_deletes_the_active_run() -> None:
    tp = pipeline(concurrencyPolicy="Replace")
    active = RunSummary(name="sales-old", created=T0, phase=RunPhase.TRAINING)
    plan = plan_pipeline(tp, [active], now=T0 + timedelta(minutes=5, seconds=1))
    assert plan.delete_runs == ("sales-old",)
    assert len(plan.create_runs) == 1


def test_suspended_pipeline_creates_nothing() -> None:
    tp = pipeline(suspend=True)
    plan = plan_pipeline(tp, [], now=T0 + timedelta(hours=3))
    assert plan.create_runs == () and plan.start_drift_check is None
    assert status_of(plan.status.conditions, SUSPENDED) is ConditionStatus.TRUE
    assert plan.status.next_schedule_time is None


def test_three_day_outage_runs_latest_once() -> None:
    tp = pipeline()
    plan = plan_pipeline(tp, [], now=T0 + timedelta(days=3, seconds=30))
    assert len(plan.create_runs) == 1
    assert plan.missed == 3 * 24 * 12 - 1


def test_blockers_make_ready_false_and_start_nothing() -> None:
    tp = pipeline()
    plan = plan_pipeline(
        tp,
        [],
        now=T0 + timedelta(minutes=5, seconds=1),
        blockers=[("SecretNotFound", "secret s3 not found")],
    )
    assert plan.create_runs == ()
    ready = get_condition(plan.status.conditions, READY)
    assert (
        ready is not None
        and ready.status is ConditionStatus.FALSE
        and ready.reason == "SecretNotFound"
    )
    assert [e.reason for e in plan.events] == ["SecretNotFound"]
    # The same blocker again posts no second event.
    again = plan_pipeline(
        with_status(tp, plan.status),
        [],
        now=T0 + timedelta(minutes=6),
        blockers=[("SecretNotFound", "secret s3 not found")],
    )
    assert again.events == ()


def test_champion_and_promoted_condition_follow_finished_runs() -> None:
    tp = pipeline(schedule=None)
    promoted = RunSummary(
        name="r1",
        created=T0,
        phase=RunPhase.PROMOTED,
        completion_time=T0 + timedelta(minutes=1),
        candidate_version="1",
        candidate_value=10.0,
        decision_reason="NoChampion",
        decision_message="no champion yet",
    )
    plan = plan_pipeline(tp, [promoted], now=T0 + timedelta(minutes=2))
    assert plan.status.champion is not None and plan.status.champion.version == "1"
    assert status_of(plan.status.conditions, PROMOTED) is ConditionStatus.TRUE
    rejected = RunSummary(
        name="r2",
        created=T0 + timedelta(minutes=3),
        phase=RunPhase.REJECTED,
        completion_time=T0 + timedelta(minutes=4),
        candidate_version="2",
        decision_reason="NotBetter",
        decision_message="candidate rmse 12 vs champion 10",
    )
    later = plan_pipeline(
        with_status(tp, plan.status), [promoted, rejected], now=T0 + timedelta(minutes=5)
    )
    cond = get_condition(later.status.conditions, PROMOTED)
    assert cond is not None and cond.status is ConditionStatus.FALSE and cond.reason == "NotBetter"
    assert later.status.champion is not None and later.status.champion.version == "1"
    assert later.status.last_run is not None and later.status.last_run.name == "r2"


def test_history_limits_delete_the_oldest_finished_runs() -> None:
    tp = pipeline(schedule=None, successfulRunsHistoryLimit=1, failedRunsHistoryLimit=0)
    runs = [
        RunSummary(
            name=f"ok{i}",
            created=T0 + timedelta(minutes=i),
            phase=RunPhase.REJECTED,
            completion_time=T0 + timedelta(minutes=i, seconds=30),
        )
        for i in range(3)
    ] + [RunSummary(name="bad", created=T0, phase=RunPhase.FAILED, completion_time=T0)]
    plan = plan_pipeline(tp, runs, now=T0 + timedelta(hours=1))
    assert sorted(plan.delete_runs) == ["bad", "ok0", "ok1"]


DRIFT = {
    "drift": {
        "checkSchedule": "0 * * * *",
        "driftShare": 0.5,
        "minSampleSize": 10,
        "cooldown": "6h",
    }
}


def report(drifted: list[bool]) -> dict[str, Any]:
    return {
        "schema": "refit.dev/drift-report/v1",
        "dataset": {"reference_rows": 500, "current_rows": 500},
        "features": [
            {
                "feature": f"f{i}",
                "stattest": "ks",
                "score": 0.001 if d else 0.5,
                "threshold": 0.05,
                "drifted": d,
                "status": "tested",
            }
            for i, d in enumerate(drifted)
        ],
    }


def test_drift_check_then_drift_run_then_cooldown() -> None:
    tp = pipeline(schedule=None, triggers=DRIFT)
    now = T0 + timedelta(hours=1, seconds=5)
    start = plan_pipeline(tp, [], now=now)
    assert start.start_drift_check is not None
    tick = T0 + timedelta(hours=1)
    assert start.start_drift_check.scheduled_time == tick
    assert (
        start.status.last_drift_check is not None
        and start.status.last_drift_check.result == "Pending"
    )

    # While pending, nothing else starts.
    pending = plan_pipeline(with_status(tp, start.status), [], now=now + timedelta(seconds=30))
    assert pending.start_drift_check is None and pending.create_runs == ()

    done = plan_pipeline(
        with_status(tp, start.status),
        [],
        now=now + timedelta(minutes=1),
        drift=DriftObservation(finished=True, report=report([True, True, False])),
    )
    assert [(r.name, r.trigger) for r in done.create_runs] == [
        (run_name("sales", tick, TriggerType.DRIFT), TriggerType.DRIFT)
    ]
    assert status_of(done.status.conditions, DRIFT_DETECTED) is ConditionStatus.TRUE
    check = done.status.last_drift_check
    assert check is not None and check.drifted_features == ["f0", "f1"] and check.result == "Drift"

    # Next hour: drift again, but within the 6h cooldown: no run.
    tp2 = with_status(tp, done.status)
    nxt = plan_pipeline(tp2, [], now=T0 + timedelta(hours=2, seconds=5))
    assert nxt.start_drift_check is not None
    again = plan_pipeline(
        with_status(tp, nxt.status),
        [],
        now=T0 + timedelta(hours=2, minutes=1),
        drift=DriftObservation(finished=True, report=report([True, True, True])),
    )
    assert again.create_runs == ()
    assert any("cooldown" in e.message for e in again.events)


def test_no_drift_creates_no_run_and_failed_check_is_reported() -> None:
    tp = pipeline(schedule=None, triggers=DRIFT)
    start = plan_pipeline(tp, [], now=T0 + timedelta(hours=1, seconds=5))
    calm = plan_pipeline(
        with_status(tp, start.status),
        [],
        now=T0 + timedelta(hours=1, minutes=1),
        drift=DriftObservation(finished=True, report=report([False, False, True])),
    )
    assert calm.create_runs == ()
    assert status_of(calm.status.conditions, DRIFT_DETECTED) is ConditionStatus.FALSE
    failed = plan_pipeline(
        with_status(tp, start.status),
        [],
        now=T0 + timedelta(hours=1, minutes=1),
        drift=DriftObservation(finished=True, error="current data: file not found"),
    )
    assert failed.create_runs == ()
    cond = get_condition(failed.status.conditions, DRIFT_DETECTED)
    assert (
        cond is not None
        and cond.status is ConditionStatus.UNKNOWN
        and "file not found" in cond.message
    )
