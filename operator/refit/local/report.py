"""How local runs are shown: progress lines, the final conditions and the decision (rich)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from refit.api.base import Condition
from refit.api.enums import RunPhase
from refit.api.run import TrainingRun, TrainingRunStatus
from refit.local.runner import LocalRunner, RunOutcome

PHASE_STYLE = {
    RunPhase.PROMOTED: "bold green",
    RunPhase.REJECTED: "yellow",
    RunPhase.FAILED: "bold red",
    RunPhase.AWAITING_APPROVAL: "cyan",
}


def phase_text(phase: RunPhase) -> Text:
    return Text(phase.value, style=PHASE_STYLE.get(phase, ""))


def number(value: float | None) -> str:
    if value is None:
        return "—"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.1f}"
    return f"{value:.4f}" if magnitude < 10 else f"{value:.2f}"


def metric(status: TrainingRunStatus, who: str, name: str) -> float | None:
    score = status.candidate if who == "candidate" else status.champion
    return score.metrics.get(name) if score is not None else None


def conditions_table(conditions: Iterable[Condition], title: str = "conditions") -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in ("type", "status", "reason", "message"):
        table.add_column(column, overflow="fold")
    for condition in conditions:
        style = {"True": "green", "False": "red"}.get(condition.status.value, "")
        table.add_row(
            condition.type,
            Text(condition.status.value, style=style),
            condition.reason,
            condition.message,
        )
    return table


def decision_line(outcome: RunOutcome, metric_name: str | None) -> Text:
    """One line: the phase, the gate's reason and message, or the failure reason."""
    status = outcome.status
    line = Text.assemble(f"run {outcome.name}: ", phase_text(status.phase))
    if status.phase is RunPhase.FAILED:
        line.append(f" — {status.failure_reason or 'no reason recorded'}")
    elif status.decision is not None:
        line.append(f" ({status.decision.reason}) — {status.decision.message}")
        if status.phase is RunPhase.AWAITING_APPROVAL:
            line.append(" — rerun with --approve to promote")
    if status.candidate and status.candidate.version:
        line.append(f"; candidate is version {status.candidate.version}")
    return line


def progress_label(name: str, status: TrainingRunStatus) -> str:
    job = status.evaluation_job if status.phase is RunPhase.EVALUATING else status.training_job
    return f"{name}: {status.phase.value}" + (
        f" ({job})" if job and not status.phase.terminal else ""
    )


def tick(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "—"


@contextlib.contextmanager
def replay_progress(
    console: Console, runner: LocalRunner, total: int
) -> Iterator[tuple[Progress, Callable[[], None]]]:
    """A transient progress bar over ``total`` replayed runs whose label follows the runner's
    current run and phase; yields the bar (to print above it) and the step to call per run."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        task = progress.add_task("replaying", total=total)

        def on_status(run: TrainingRun, status: TrainingRunStatus) -> None:
            progress.update(task, description=progress_label(run.metadata.name or "", status))

        runner.on_status = on_status
        try:
            yield progress, lambda: progress.advance(task)
        finally:
            runner.on_status = None
