"""`refit demo`: Refit's main job on real data, locally, in a few minutes.

1. Daily sales: the CDNOW log replayed week by week (a Schedule run per Monday, through
   `LocalRunner.replay`, i.e. core.schedule + the run state machine + the gate); a table of the
   weekly decisions and `daily-sales.png`.
2. Churn with drift: a first model, a new batch of customers, the real drift-check Job, the
   core's drift verdict, the Drift run and its gate decision; `churn-drift.png`.

All trainer steps run in two warm worker processes (`executors.WarmExecutor`): ~140 train and
evaluate steps as fresh processes would spend most of the time importing. The replay prefetches:
next week's training runs while this week's candidate is evaluated and decided. The MLflow store is
`.refit/mlflow.db`; the demo's registered models are reset at the start so that the replay
begins, as history did, without a champion.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from rich.console import Console
from rich.status import Status
from rich.table import Table

from refit.api.enums import RunPhase
from refit.api.pipeline import TrainingPipeline
from refit.api.run import TrainingRun, TrainingRunStatus
from refit.local.demo import churn_drift, daily_sales
from refit.local.executors import REFIT_TRAINER_PRELOAD, WarmExecutor
from refit.local.report import number, phase_text, progress_label, replay_progress
from refit.local.runner import LocalRunner, RunOutcome
from refit.local.store import LocalStore

REPLAY_START: Final = datetime(1997, 3, 1, tzinfo=UTC)
REPLAY_END: Final = datetime(1998, 6, 30, tzinfo=UTC)
DATA_FILES: Final = ("cdnow_transactions.csv.gz", "telco_churn.csv.gz")


class DemoError(RuntimeError):
    """The demo cannot start (e.g. the data is missing); the message says why."""


@dataclass
class DemoResult:
    weeks: list[daily_sales.Week]
    churn: churn_drift.ChurnResult
    pngs: list[Path]
    seconds: float

    @property
    def ok(self) -> bool:
        """What the demo must show: weekly promotions, a drift verdict and a gated retrain."""
        retrain = self.churn.retrain
        return (
            any(w.phase is RunPhase.PROMOTED for w in self.weeks)
            and self.churn.first.status.phase is RunPhase.PROMOTED
            and retrain is not None
            and not retrain.failed
        )


def reset_models(client: MlflowClient, names: list[str]) -> None:
    for name in names:
        try:
            client.delete_registered_model(name)
        except MlflowException as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise


def _check_data(data: Path) -> None:
    missing = [name for name in DATA_FILES if not (data / name).is_file()]
    if missing:
        raise DemoError(
            f"{data}: missing {', '.join(missing)} (run the demo from the repository root or pass --data)"
        )


def _write_manifest(pipeline: TrainingPipeline, path: Path) -> None:
    path.write_text(yaml.safe_dump(pipeline.wire(), sort_keys=False), encoding="utf-8")


def run_demo(
    console: Console,
    *,
    data: Path,
    out: Path,
    store: LocalStore,
    start: datetime = REPLAY_START,
    end: datetime = REPLAY_END,
    executor: WarmExecutor | None = None,
) -> DemoResult:
    """Both parts of the demo; `executor` (a warm one) is closed only when created here."""
    began = time.monotonic()
    _check_data(data)
    store.prepare()
    out.mkdir(parents=True, exist_ok=True)
    owned = executor is None
    if executor is None:
        # Two workers: one trains next week's candidate while the other evaluates this week's.
        executor = WarmExecutor(
            REFIT_TRAINER_PRELOAD, log_path=store.root / "warm-worker.log", workers=2
        )
        executor.warm_up()  # the worker imports the trainer while this process sets up
    try:
        sales = daily_sales.pipeline(data)
        with console.status("opening the MLflow store"):
            runner = LocalRunner(sales, executor=executor, store=store)
            runner.prepare()
            reset_models(runner.mlflow.client, [daily_sales.MODEL, churn_drift.MODEL])
        executor.warm_up(runner.tracking_uri)
        console.print(f"MLflow store: {store.database}   (open it: {store.ui_command})\n")

        weeks = _daily_sales(console, runner, start, end)
        pngs = [_daily_sales_png(weeks, data, out)]
        console.print(f"wrote {pngs[0]}\n")
        _write_manifest(sales, out / "daily-sales.yaml")

        with console.status("churn: preparing the batches") as label:

            def make_runner(pipeline: TrainingPipeline) -> LocalRunner:
                return LocalRunner(
                    pipeline, executor=executor, store=store, on_status=_status(label)
                )

            churn = churn_drift.run(make_runner, data, store.root / "demo" / "churn")
        _churn_report(console, churn)
        pngs.append(_churn_png(churn, out))
        console.print(f"wrote {pngs[1]}")
        _write_manifest(churn_drift.pipeline(churn.files, new_batch=True), out / "churn.yaml")
    finally:
        if owned:
            executor.close()
    return DemoResult(weeks, churn, pngs, time.monotonic() - began)


def _status(label: Status) -> Callable[[TrainingRun, TrainingRunStatus], None]:
    def update(run: TrainingRun, status: TrainingRunStatus) -> None:
        label.update(f"churn: {progress_label(run.metadata.name or '', status)}")

    return update


def _daily_sales(
    console: Console, runner: LocalRunner, start: datetime, end: datetime
) -> list[daily_sales.Week]:
    ticks = runner.ticks(start, end)
    console.rule("1. Daily sales: weekly retraining replayed on the CDNOW purchase log")
    console.print(
        f"pipeline {daily_sales.NAMESPACE}/{daily_sales.NAME}: cron {daily_sales.CRON!r} (UTC), "
        f"{len(ticks)} ticks {ticks[0]:%Y-%m-%d} … {ticks[-1]:%Y-%m-%d}; each run trains on the "
        f"purchases before its tick; gate: {daily_sales.METRIC} ≥ "
        f"{daily_sales.MIN_IMPROVEMENT:.0%} lower than the champion's, mae may not rise by more "
        f"than {daily_sales.GUARDRAIL_TOLERANCE:g}"
    )
    with replay_progress(console, runner, len(ticks)) as (_, step):
        weeks = daily_sales.replay(runner, start, end, lambda _week: step())
    console.print(daily_sales.table(weeks))
    console.print(daily_sales.summary(weeks))
    return weeks


def _daily_sales_png(weeks: list[daily_sales.Week], data: Path, out: Path) -> Path:
    from refit.local.demo import plots

    return plots.daily_sales_png(
        weeks,
        plots.daily_revenue(data / "cdnow_transactions.csv.gz"),
        out / "daily-sales.png",
        metric=daily_sales.METRIC,
        min_improvement=daily_sales.MIN_IMPROVEMENT,
    )


def _run_line(title: str, outcome: RunOutcome, metric: str) -> str:
    status = outcome.status
    line = f"{title}: run {outcome.name} → {status.phase.value}"
    if status.phase is RunPhase.FAILED:
        return f"{line}: {status.failure_reason}"
    if status.decision is not None:
        line += f" ({status.decision.reason}): {status.decision.message}"
    if status.candidate and status.candidate.version:
        line += f" [version {status.candidate.version}]"
    return line


def _churn_report(console: Console, churn: churn_drift.ChurnResult) -> None:
    files, drift = churn.files, churn.drift
    console.rule("2. Churn with drift: the customer base shifts")
    console.print(_run_line("first model (reference batch)", churn.first, churn_drift.METRIC))
    console.print(
        f"new batch: {files.current_rows:,} customers (mostly new), reference: "
        f"{files.reference_rows:,} customers (tenure > {churn_drift.ESTABLISHED_MONTHS} months)"
    )
    table = Table(
        title=f"drift check {drift.job_name} (refit-trainer drift)",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    for column in ("feature", "test", "statistic", "threshold", "drifted"):
        table.add_column(
            column, justify="right" if column in ("statistic", "threshold") else "left"
        )
    for item in (drift.report or {}).get("features") or []:
        drifted = bool(item.get("drifted"))
        table.add_row(
            str(item.get("feature")),
            str(item.get("stattest") or item.get("status")),
            number(item.get("score")),
            number(item.get("threshold")),
            "[bold red]yes[/]" if drifted else "no",
        )
    console.print(table)
    status, reason, message = drift.condition
    console.print(f"verdict: DriftDetected={status.value} ({reason}): {message}")
    console.print(f"drift policy: {drift.decision.reason}: {drift.decision.message}")
    if churn.retrain is not None:
        console.print(_run_line("retrain (Drift run)", churn.retrain, churn_drift.METRIC))
        retrain = churn.retrain.status
        if retrain.candidate and retrain.champion:
            metric = churn_drift.METRIC
            console.print(
                f"  {metric} on held-out new customers: candidate "
                f"{number(retrain.candidate.metrics.get(metric))}, champion "
                f"{number(retrain.champion.metrics.get(metric))} → ",
                phase_text(retrain.phase),
            )


def _churn_png(churn: churn_drift.ChurnResult, out: Path) -> Path:
    from refit.local.demo import plots

    drift, retrain = churn.drift, churn.retrain
    metric = churn_drift.METRIC
    gate: dict[str, float | None] = {"champion": None, "candidate": None}
    decision = "no retrain"
    if retrain is not None:
        status = retrain.status
        gate = {
            "champion": status.champion.metrics.get(metric) if status.champion else None,
            "candidate": status.candidate.metrics.get(metric) if status.candidate else None,
        }
        decision = status.phase.value + (f" ({status.decision.reason})" if status.decision else "")
    share = drift.assessment.share
    verdict = (
        f"{drift.assessment.verdict.value}: {len(drift.assessment.drifted_features)} of "
        f"{drift.assessment.tested_features} features drifted"
        + (
            f" ({share:.0%} ≥ driftShare {churn_drift.DRIFT_SHARE:g})"
            if share is not None and drift.assessment.verdict.value == "Drift"
            else ""
        )
    )
    return plots.churn_drift_png(
        drift.report or {},
        out / "churn-drift.png",
        verdict=verdict,
        gate=gate,
        decision=decision,
        metric=metric,
        min_improvement=churn_drift.MIN_IMPROVEMENT,
    )
