"""The 50-model recommender fleet: generated from one table, valid, spread out by `H`."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml

from refit.api import TrainingPipeline
from refit.core.job_spec import KUEUE_QUEUE_LABEL, JobRequest, Owner, Step, build_job
from refit.core.schedule import next_fire, parse_schedule

FLEET = Path(__file__).resolve().parents[2] / "examples" / "recommender-fleet"


def load() -> list[TrainingPipeline]:
    return [
        TrainingPipeline.model_validate(d)
        for d in yaml.safe_load_all((FLEET / "pipelines.yaml").read_text())
    ]


def test_generated_file_matches_the_table() -> None:
    done = subprocess.run(
        [sys.executable, str(FLEET / "generate.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_fifty_distinct_gpu_pipelines_behind_kueue() -> None:
    fleet = load()
    assert len(fleet) == 50 and len({p.metadata.name for p in fleet}) == 50
    for tp in fleet:
        trainer = tp.spec.trainer
        assert trainer.resources.limits["nvidia.com/gpu"] in (1, 2)
        assert trainer.queue_name and trainer.node_selector["nvidia.com/gpu.product"]
        job = build_job(
            JobRequest(
                name="j",
                namespace="recommenders",
                step=Step.TRAIN,
                pipeline=tp.metadata.name or "",
                run="r",
                owner=Owner("refit.dev/v1alpha1", "TrainingRun", "r", "u"),
                trainer=trainer,
                data=tp.spec.data,
                model=tp.spec.model,
                mlflow=tp.spec.mlflow,
                tracking_uri="http://mlflow",
                experiment="e",
                mlflow_run_id="m",
                trigger="Schedule",
                scheduled_time=None,
            )
        )
        # Kueue admits the Job: labelled with the queue and created suspended.
        assert job["metadata"]["labels"][KUEUE_QUEUE_LABEL] == trainer.queue_name
        assert job["spec"]["suspend"] is True


def test_h_spreads_the_fleet_over_the_day() -> None:
    after = datetime(2026, 6, 1, tzinfo=UTC)
    fires = []
    for tp in load():
        assert tp.spec.schedule is not None
        schedule = parse_schedule(
            tp.spec.schedule.cron, tp.spec.schedule.time_zone, f"recommenders/{tp.metadata.name}"
        )
        fires.append(next_fire(schedule, after))
    # A fixed `0 0 * * *` would put all 50 in one minute; H gives (almost) every pipeline its own.
    assert len(set(fires)) >= 45
    per_minute = max(fires.count(f) for f in set(fires))
    assert per_minute <= 2
