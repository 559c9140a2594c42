"""The local runner on real data: the operator's core, with refit-trainer in a warm worker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

import refit.adapters.run_driver as run_driver
from refit.api.enums import RunPhase, TriggerType
from refit.cli.main import app
from refit.core.drift_policy import DriftVerdict
from refit.core.names import run_name
from refit.local.demo import churn_drift, daily_sales
from refit.local.executors import WarmExecutor
from refit.local.runner import LocalRunError, LocalRunner
from refit.local.store import LocalStore

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "data"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    store = LocalStore(tmp_path_factory.mktemp("refit") / ".refit")
    store.prepare()
    return store


def test_replay_runs_each_tick_through_the_core_state_machine(
    store: LocalStore, warm: WarmExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = run_driver.reconcile_run

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["identity"].name)
        return real(*args, **kwargs)

    # The driver's state machine is core.run_state's: every pass goes through it.
    monkeypatch.setattr(run_driver, "reconcile_run", counting)
    pipeline = daily_sales.pipeline(DATA)
    runner = LocalRunner(pipeline, executor=warm, store=store)
    runner.prepare()
    start, end = datetime(1997, 6, 1, tzinfo=UTC), datetime(1997, 6, 22, tzinfo=UTC)
    ticks = runner.ticks(start, end)
    assert ticks == [datetime(1997, 6, d, tzinfo=UTC) for d in (2, 9, 16)]

    outcomes = list(runner.replay(start, end))
    assert [o.name for o in outcomes] == [run_name("daily-sales", t) for t in ticks]
    assert set(calls) == {o.name for o in outcomes}
    first, *rest = outcomes
    assert first.status.phase is RunPhase.PROMOTED
    assert first.status.decision is not None and first.status.decision.reason == "NoChampion"
    for outcome in rest:
        status = outcome.status
        assert status.phase in (RunPhase.PROMOTED, RunPhase.REJECTED), status.failure_reason
        assert status.champion is not None and "rmse" in status.champion.metrics
        assert [c.type for c in status.conditions if c.status.value == "True"] == [
            "Succeeded",
            "Trained",
            "Evaluated",
            *(["Promoted"] if status.phase is RunPhase.PROMOTED else []),
        ]

    mlflow = MlflowClient(tracking_uri=store.tracking_uri)
    for outcome, tick in zip(outcomes, ticks, strict=True):
        run = mlflow.get_run(outcome.status.mlflow_run_id or "")
        # The recipe cut its data at the tick: REFIT_SCHEDULED_TIME reached the trainer.
        assert run.data.params["cutoff"] == f"{tick:%Y-%m-%dT%H:%M:%SZ}"
        assert run.data.tags["refit.trigger"] == "Schedule"
        assert run.info.artifact_uri.startswith(store.artifact_location("demo/daily-sales"))
    promoted = [o for o in outcomes if o.status.phase is RunPhase.PROMOTED]
    champion = mlflow.get_model_version_by_alias(daily_sales.MODEL, "champion")
    assert str(champion.version) == promoted[-1].status.candidate.version  # type: ignore[union-attr]
    saved = yaml.safe_load((store.runs("demo") / f"{outcomes[-1].name}.yaml").read_text())
    assert saved["status"]["phase"] == outcomes[-1].status.phase.value


def test_drift_check_names_the_features_and_starts_one_drift_run(
    store: LocalStore, warm: WarmExecutor, tmp_path: Path
) -> None:
    files = churn_drift.batches(DATA, tmp_path)
    runner = LocalRunner(churn_drift.pipeline(files, new_batch=True), executor=warm, store=store)
    runner.prepare()
    at = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    outcome = runner.check_drift(at)
    assert outcome.assessment.verdict is DriftVerdict.DRIFT
    assert {"tenure", "contract"} <= set(outcome.assessment.drifted_features)
    assert outcome.condition[0].value == "True"
    assert outcome.report is not None and len(outcome.report["features"]) == len(
        churn_drift.FEATURES
    )
    assert outcome.run is not None
    assert outcome.run.name == run_name("churn", at, TriggerType.DRIFT)
    assert outcome.run.status.phase is RunPhase.PROMOTED  # the first churn model in this store
    # Within the cooldown the next check drifts again but starts no run.
    again = runner.check_drift(at.replace(hour=12))
    assert again.decision.create is False and again.decision.reason == "CooldownActive"
    assert again.run is None


def test_replay_of_a_suspended_pipeline_runs_nothing(store: LocalStore, warm: WarmExecutor) -> None:
    pipeline = daily_sales.pipeline(DATA)
    pipeline.spec.suspend = True
    runner = LocalRunner(pipeline, executor=warm, store=store)
    with pytest.raises(LocalRunError, match="suspended"):
        list(runner.replay(datetime(1997, 6, 1, tzinfo=UTC), datetime(1997, 6, 22, tzinfo=UTC)))


def test_refit_run_exits_1_with_the_trainers_reason(tmp_path: Path) -> None:
    manifest = tmp_path / "broken.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "refit.dev/v1alpha1",
                "kind": "TrainingPipeline",
                "metadata": {"name": "broken"},
                "spec": {
                    "data": {"train": f"file://{tmp_path}/missing.csv"},
                    "trainer": {"image": "x", "args": ["--recipe", "daily-sales"]},
                    "evaluation": {"metric": "rmse", "direction": "minimize"},
                    "model": {"name": "broken"},
                },
            }
        )
    )
    result = CliRunner().invoke(
        app, ["run", str(manifest), "--store", str(tmp_path / ".refit")], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    assert "Failed" in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: run broken-m-")
    assert last.endswith(f"failed (exit code 3: data not found: file://{tmp_path}/missing.csv)")


def test_refit_run_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(
        "apiVersion: refit.dev/v1alpha1\nkind: TrainingPipeline\nmetadata: {name: x}\nspec: {}\n"
    )
    runner = CliRunner()
    bad = runner.invoke(app, ["run", str(manifest)], catch_exceptions=False)
    assert bad.exit_code == 1 and bad.output.startswith(f"error: {manifest}: spec.data")
    both = runner.invoke(
        app,
        ["run", str(manifest), "--at", "1997-06-02", "--replay", "a..b"],
        catch_exceptions=False,
    )
    assert both.exit_code == 2 and "--at and --replay exclude each other" in both.output
