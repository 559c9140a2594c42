"""Demo part 1: the CDNOW purchase log replayed week by week, as a weekly pipeline would have
seen it. Every Monday's run trains with only the purchases before that Monday (the recipe cuts
its data at REFIT_SCHEDULED_TIME) and is gated against the champion of the week before."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from rich.table import Table
from rich.text import Text

from refit.api.enums import RunPhase
from refit.api.pipeline import TrainingPipeline
from refit.local.report import number, phase_text
from refit.local.runner import LocalRunner, RunOutcome

NAME: Final = "daily-sales"
NAMESPACE: Final = "demo"
MODEL: Final = "demo-daily-sales"
METRIC: Final = "rmse"
CRON: Final = "0 0 * * 1"  # Mondays 00:00 UTC
MIN_IMPROVEMENT: Final = 0.01
GUARDRAIL_TOLERANCE: Final = 5.0


def pipeline(data: Path) -> TrainingPipeline:
    """The demo's weekly TrainingPipeline (the example's gate, on a weekly schedule)."""
    return TrainingPipeline.model_validate(
        {
            "apiVersion": "refit.dev/v1alpha1",
            "kind": "TrainingPipeline",
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "spec": {
                "schedule": {"cron": CRON, "timeZone": "UTC"},
                "data": {"train": (data / "cdnow_transactions.csv.gz").resolve().as_uri()},
                "trainer": {
                    "image": "ghcr.io/refit-dev/refit-trainer:0.1.0",
                    "args": ["--recipe", "daily-sales"],
                },
                "evaluation": {
                    "metric": METRIC,
                    "direction": "minimize",
                    "minImprovement": {"relative": MIN_IMPROVEMENT},
                    "guardrails": [
                        {"metric": "mae", "direction": "minimize", "tolerance": GUARDRAIL_TOLERANCE}
                    ],
                },
                "model": {"name": MODEL},
                "mlflow": {"experiment": f"{NAMESPACE}/{NAME}"},
            },
        }
    )


@dataclass(frozen=True)
class Week:
    """One replayed weekly run."""

    cutoff: datetime
    outcome: RunOutcome

    @property
    def phase(self) -> RunPhase:
        return self.outcome.status.phase

    @property
    def candidate(self) -> float | None:
        score = self.outcome.status.candidate
        return score.metrics.get(METRIC) if score else None

    @property
    def champion(self) -> float | None:
        score = self.outcome.status.champion
        return score.metrics.get(METRIC) if score else None

    @property
    def version(self) -> str | None:
        score = self.outcome.status.candidate
        return score.version if score else None

    @property
    def reason(self) -> str:
        status = self.outcome.status
        if status.phase is RunPhase.FAILED:
            return failure_summary(status.failure_reason or "")
        return status.decision.reason if status.decision else ""


def failure_summary(reason: str) -> str:
    """The trainer's own words from a failure reason, without the Job name and data URI."""
    match = re.search(r"exit code \d+: (.*)\)$", reason)
    text = match.group(1) if match else reason
    return re.sub(r"^\S+://\S+: ", "", text)


def replay(
    runner: LocalRunner,
    start: datetime,
    end: datetime,
    on_week: Callable[[Week], None] | None = None,
) -> list[Week]:
    weeks = []
    # prefetch: next week's training overlaps this week's evaluation (same decisions, sooner).
    for outcome in runner.replay(start, end, prefetch=True):
        scheduled = outcome.run.spec.trigger.scheduled_time
        assert scheduled is not None
        week = Week(scheduled, outcome)
        weeks.append(week)
        if on_week is not None:
            on_week(week)
    return weeks


def _groups(weeks: Iterable[Week]) -> list[list[Week]]:
    """Consecutive failures for the same cause are one group (too little history yet)."""
    groups: list[list[Week]] = []
    for week in weeks:
        previous = groups[-1][-1] if groups else None
        if (
            previous is not None
            and week.phase is RunPhase.FAILED
            and previous.phase is RunPhase.FAILED
            and re.sub(r"\d+", "#", week.reason) == re.sub(r"\d+", "#", previous.reason)
        ):
            groups[-1].append(week)
        else:
            groups.append([week])
    return groups


def table(weeks: list[Week]) -> Table:
    out = Table(
        title="weekly retraining, candidate vs champion on the 28 days before each cutoff",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    out.add_column("week (cutoff)")
    out.add_column(f"candidate {METRIC}", justify="right")
    out.add_column(f"champion {METRIC}", justify="right")
    out.add_column("decision")
    out.add_column("champion after", justify="right")
    champion: str | None = None
    for group in _groups(weeks):
        first, last = group[0], group[-1]
        if len(group) > 1:
            out.add_row(
                f"{first.cutoff:%Y-%m-%d}…{last.cutoff:%m-%d}",
                "—",
                "—",
                Text.assemble(
                    phase_text(RunPhase.FAILED), f" ({len(group)} weeks): {first.reason} …"
                ),
                champion or "none",
            )
            continue
        if first.phase is RunPhase.PROMOTED:
            champion = f"v{first.version}"
        decision = Text.assemble(phase_text(first.phase), f" ({first.reason})")
        out.add_row(
            f"{first.cutoff:%Y-%m-%d}",
            number(first.candidate),
            number(first.champion),
            decision,
            champion or "none",
        )
    return out


def summary(weeks: list[Week]) -> str:
    trained = [w for w in weeks if w.phase is not RunPhase.FAILED]
    promoted = [w for w in weeks if w.phase is RunPhase.PROMOTED]
    failed = len(weeks) - len(trained)
    reasons: dict[str, int] = {}
    for week in trained:
        if week.phase is RunPhase.REJECTED:
            reasons[week.reason] = reasons.get(week.reason, 0) + 1
    rejected = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
    text = (
        f"{len(weeks)} weekly runs: {len(trained)} trained, {len(promoted)} promoted, "
        f"{len(trained) - len(promoted)} rejected" + (f" ({rejected})" if rejected else "")
    )
    if failed:
        text += f", {failed} failed (too little history before the cutoff)"
    if promoted:
        last = promoted[-1]
        text += (
            f". Champion: version {last.version}, promoted {last.cutoff:%Y-%m-%d} "
            f"({METRIC} {number(last.candidate)}). Every candidate is registered as a model "
            "version (alias challenger); only a promotion moves the champion alias."
        )
    return text
