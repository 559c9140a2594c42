"""Demo part 2: churn with drift, on the real telco customers.

The customer base shifts: the reference batch is mostly established customers (tenure over two
years), the current batch mostly new ones. The first model is trained on the reference batch;
then the new batch arrives, the real drift-check Job (`refit-trainer drift`) compares it with
the reference, the core's drift policy names the drifted features and asks for a Drift run,
which retrains on reference + part of the new batch and is gated against the first model on
held-out new customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from refit.api.enums import TriggerType
from refit.api.pipeline import TrainingPipeline
from refit.local.runner import DriftOutcome, LocalRunner, RunOutcome

NAME: Final = "churn"
NAMESPACE: Final = "demo"
MODEL: Final = "demo-churn"
METRIC: Final = "roc_auc"
MIN_IMPROVEMENT: Final = 0.005
DRIFT_SHARE: Final = 0.4
SEED: Final = 7
ESTABLISHED_MONTHS: Final = 24
FEATURES: Final = (
    "contract",
    "tenure",
    "monthly_charges",
    "total_charges",
    "internet_service",
    "payment_method",
    "paperless_billing",
    "senior_citizen",
    "partner",
    "dependents",
    "tech_support",
    "online_security",
)


@dataclass(frozen=True)
class Batches:
    """The files the pipeline reads, under the demo's work folder."""

    reference: Path  # the first model's training data and the drift reference
    current: Path  # the new batch, as the drift check sees it
    train: Path  # what the retrain learns from: reference + 60% of the new batch
    validation: Path  # held-out new customers: candidate and champion are scored on them
    reference_rows: int
    current_rows: int


def batches(data: Path, work: Path) -> Batches:
    """Reference: 80% of the established customers; current: everyone else (mostly new)."""
    frame = pd.read_csv(data / "telco_churn.csv.gz")
    established = frame[frame["tenure"] > ESTABLISHED_MONTHS]
    reference = established.sample(frac=0.8, random_state=SEED)
    current = frame.drop(reference.index)
    current_train = current.sample(frac=0.6, random_state=SEED)
    holdout = current.drop(current_train.index)
    work.mkdir(parents=True, exist_ok=True)
    paths = {
        "reference": (reference, work / "reference.csv"),
        "current": (current, work / "current.csv"),
        "train": (pd.concat([reference, current_train]), work / "train.csv"),
        "validation": (holdout, work / "validation.csv"),
    }
    for table, path in paths.values():
        table.to_csv(path, index=False)
    return Batches(
        **{key: path for key, (_, path) in paths.items()},
        reference_rows=len(reference),
        current_rows=len(current),
    )


def pipeline(files: Batches, *, new_batch: bool) -> TrainingPipeline:
    """The churn pipeline before (train on the reference) and after the new batch arrived."""
    data: dict[str, Any] = {"train": files.reference.resolve().as_uri()}
    if new_batch:
        data = {
            "train": files.train.resolve().as_uri(),
            "validation": files.validation.resolve().as_uri(),
        }
    data["reference"] = files.reference.resolve().as_uri()
    data["current"] = files.current.resolve().as_uri()
    return TrainingPipeline.model_validate(
        {
            "apiVersion": "refit.dev/v1alpha1",
            "kind": "TrainingPipeline",
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "spec": {
                "triggers": {
                    "drift": {
                        "checkSchedule": "H */6 * * *",
                        "features": list(FEATURES),
                        "stattest": "auto",
                        "driftShare": DRIFT_SHARE,
                        "minSampleSize": 100,
                        "cooldown": "12h",
                    }
                },
                "data": data,
                "trainer": {
                    "image": "ghcr.io/refit-dev/refit-trainer:0.1.0",
                    "args": ["--recipe", "churn"],
                },
                "evaluation": {
                    "metric": METRIC,
                    "direction": "maximize",
                    "minImprovement": {"absolute": MIN_IMPROVEMENT},
                    "guardrails": [
                        {"metric": "log_loss", "direction": "minimize", "tolerance": 0.02}
                    ],
                    "threshold": 0.7,
                },
                "model": {"name": MODEL},
                "mlflow": {"experiment": f"{NAMESPACE}/{NAME}"},
            },
        }
    )


@dataclass(frozen=True)
class ChurnResult:
    files: Batches
    first: RunOutcome
    drift: DriftOutcome

    @property
    def retrain(self) -> RunOutcome | None:
        return self.drift.run


def run(make_runner: Any, data: Path, work: Path) -> ChurnResult:
    """`make_runner(pipeline)` gives a LocalRunner sharing the demo's executor and store."""
    files = batches(data, work)
    before: LocalRunner = make_runner(pipeline(files, new_batch=False))
    first = before.run(TriggerType.MANUAL, None, "the first churn model, on the reference batch")
    after: LocalRunner = make_runner(pipeline(files, new_batch=True))
    drift = after.check_drift(after.clock())
    return ChurnResult(files, first, drift)
