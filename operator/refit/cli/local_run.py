"""`refit run FILE`: a pipeline's runs on this machine, through the operator's own core."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from refit.api.enums import RunPhase, TriggerType
from refit.api.run import TrainingRun, TrainingRunStatus
from refit.local.executors import REFIT_TRAINER_PRELOAD, Executor, ProcessExecutor, WarmExecutor
from refit.local.report import (
    conditions_table,
    decision_line,
    metric,
    number,
    phase_text,
    progress_label,
    replay_progress,
    tick,
)
from refit.local.runner import DriftOutcome, LocalRunner, RunOutcome
from refit.local.store import LocalStore


class UsageProblem(ValueError):
    """A bad option value; the message is shown as is."""


class RunsFailed(RuntimeError):
    """One or more runs ended Failed; the message names the (first) run and its reason."""


def parse_time(text: str) -> datetime:
    """RFC 3339 or a plain date (`1997-06-02`); without an offset the time is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as error:
        raise UsageProblem(
            f"{text!r} is not a time (use e.g. 1997-06-02 or 1997-06-02T00:00:00Z)"
        ) from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_range(text: str) -> tuple[datetime, datetime]:
    start, sep, end = text.partition("..")
    if not sep or not start or not end:
        raise UsageProblem(f"{text!r} is not a range FROM..TO (e.g. 1997-03-01..1998-06-30)")
    first, last = parse_time(start), parse_time(end)
    if last <= first:
        raise UsageProblem(f"{text!r}: TO must be after FROM")
    return first, last


@contextlib.contextmanager
def executor_for(warm: bool, store: LocalStore) -> Iterator[Executor]:
    executor: Executor
    if warm:
        store.prepare()
        warm_executor = WarmExecutor(
            REFIT_TRAINER_PRELOAD, log_path=store.root / "warm-worker.log", workers=2
        )
        warm_executor.warm_up()  # imports in parallel with this process's set-up
        executor = warm_executor
    else:
        executor = ProcessExecutor()
    try:
        yield executor
    finally:
        executor.close()


def _metric_name(run: TrainingRun) -> str | None:
    return run.spec.evaluation.metric if run.spec.evaluation else None


def print_outcome(console: Console, outcome: RunOutcome, store: LocalStore) -> None:
    status = outcome.status
    console.print(conditions_table(status.conditions, title=f"TrainingRun {outcome.name}"))
    console.print(decision_line(outcome, _metric_name(outcome.run)))
    name = _metric_name(outcome.run)
    if name and status.candidate and status.candidate.metrics:
        console.print(
            f"  {name}: candidate {number(metric(status, 'candidate', name))}, "
            f"champion {number(metric(status, 'champion', name))}"
        )
    if status.mlflow_run_url:
        console.print(f"  MLflow run: {status.mlflow_run_url}")
    if outcome.logs:
        console.print(f"  Job logs: {Path(next(iter(outcome.logs.values()))).parent}")
    if outcome.status.mlflow_run_id and store.holds(outcome.run):
        console.print(f"  open it with: {store.ui_command}")


def print_drift(console: Console, outcome: DriftOutcome) -> None:
    status, reason, message = outcome.condition
    console.print(
        f"drift check {outcome.job_name}: DriftDetected={status.value} ({reason}) — {message}"
    )
    features = (outcome.report or {}).get("features") or []
    if features:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("feature", "test", "statistic", "threshold", "drifted"):
            table.add_column(column)
        for item in features:
            table.add_row(
                str(item.get("feature")),
                str(item.get("stattest") or item.get("status")),
                number(item.get("score")),
                number(item.get("threshold")),
                "yes" if item.get("drifted") else "no",
            )
        console.print(table)
    console.print(f"decision: {outcome.decision.reason} — {outcome.decision.message}")


def run_local(
    console: Console,
    *,
    file: Path,
    pipeline_name: str | None,
    at: str | None,
    replay: str | None,
    drift: bool,
    tracking_uri: str | None,
    store_dir: Path,
    warm: bool,
    approve: bool,
) -> int:
    """The `refit run` command; returns the exit code."""
    from refit.local.manifest import load_pipeline

    if at and replay:
        raise UsageProblem("--at and --replay exclude each other")
    if drift and replay:
        raise UsageProblem("--drift checks one tick: use it with --at (or alone), not --replay")
    when = parse_time(at) if at else None
    window = parse_range(replay) if replay else None
    pipeline = load_pipeline(file, pipeline_name)
    store = LocalStore(store_dir)
    with executor_for(warm, store) as executor:
        status_line = console.status("starting", spinner="dots")

        def on_status(run: TrainingRun, status: TrainingRunStatus) -> None:
            status_line.update(progress_label(run.metadata.name or "", status))

        runner = LocalRunner(
            pipeline,
            executor=executor,
            store=store,
            tracking_uri=tracking_uri,
            approve=approve,
            on_status=on_status,
        )
        runner.prepare()
        if isinstance(executor, WarmExecutor):
            executor.warm_up(runner.tracking_uri)
        if window is not None:
            return _replay(console, runner, *window)
        with status_line:
            if drift:
                drift_outcome = runner.check_drift(when or datetime.now(UTC))
                outcome = drift_outcome.run
            else:
                trigger = TriggerType.SCHEDULE if when else TriggerType.MANUAL
                reason = f"refit run --at {tick(when)}" if when else "refit run"
                outcome = runner.run(trigger, when, reason)
        if drift:
            print_drift(console, drift_outcome)
        if outcome is None:
            return 0
        print_outcome(console, outcome, store)
        if outcome.failed:
            raise RunsFailed(f"run {outcome.name} failed: {outcome.status.failure_reason}")
        return 0


def _replay(console: Console, runner: LocalRunner, start: datetime, end: datetime) -> int:
    ticks = runner.ticks(start, end)
    if not ticks:
        console.print(f"no schedule tick in {tick(start)}..{tick(end)}")
        return 0
    metric_name = runner.pipeline.spec.evaluation.metric
    console.print(
        f"{'tick':16}  {'run':30}  {'phase':10}  {'candidate':>10}  {'champion':>10}  "
        f"decision ({metric_name})",
        style="bold",
    )
    failed: list[RunOutcome] = []
    promoted = 0
    with replay_progress(console, runner, len(ticks)) as (progress, step):
        for outcome in runner.replay(start, end, prefetch=True):
            status = outcome.status
            if status.phase is RunPhase.FAILED:
                why = status.failure_reason or ""
                failed.append(outcome)
            else:
                why = (
                    f"{status.decision.reason}: {status.decision.message}"
                    if status.decision
                    else ""
                )
            promoted += status.phase is RunPhase.PROMOTED
            progress.console.print(
                f"{tick(outcome.run.spec.trigger.scheduled_time):16}  {outcome.name:30}  ",
                phase_text(status.phase),
                " " * max(0, 10 - len(status.phase.value)),
                f"  {number(metric(status, 'candidate', metric_name)):>10}  "
                f"{number(metric(status, 'champion', metric_name)):>10}  {why}",
                sep="",
            )
            step()
    console.print(f"{len(ticks)} runs: {promoted} promoted, {len(failed)} failed")
    if failed:
        first = failed[0]
        raise RunsFailed(
            f"{len(failed)} of {len(ticks)} runs failed; first: run {first.name} failed: "
            f"{first.status.failure_reason}"
        )
    return 0
