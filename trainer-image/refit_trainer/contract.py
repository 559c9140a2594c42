"""The Job contract: what a trainer Job receives from the operator, read from the environment.

Pure: `JobContext.from_env` takes any mapping, so tests never touch `os.environ`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime

from refit_trainer.errors import UsageError

DEFAULT_TERMINATION_LOG = "/dev/termination-log"
DEFAULT_CHAMPION_ALIAS = "champion"


@dataclasses.dataclass(frozen=True)
class JobContext:
    tracking_uri: str | None
    experiment_name: str | None
    run_id: str | None
    pipeline: str | None
    run: str | None
    namespace: str | None
    trigger: str | None
    scheduled_time: datetime | None
    train_data: str | None
    validation_data: str | None
    model_name: str | None
    champion_alias: str
    termination_log: str | None
    reference_data: str | None
    current_data: str | None
    drift_config: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> JobContext:
        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        scheduled = get("REFIT_SCHEDULED_TIME")
        return cls(
            tracking_uri=get("MLFLOW_TRACKING_URI"),
            experiment_name=get("MLFLOW_EXPERIMENT_NAME"),
            run_id=get("MLFLOW_RUN_ID"),
            pipeline=get("REFIT_PIPELINE"),
            run=get("REFIT_RUN"),
            namespace=get("REFIT_NAMESPACE"),
            trigger=get("REFIT_TRIGGER"),
            scheduled_time=parse_rfc3339_utc(scheduled) if scheduled else None,
            train_data=get("REFIT_TRAIN_DATA"),
            validation_data=get("REFIT_VALIDATION_DATA"),
            model_name=get("REFIT_MODEL_NAME"),
            champion_alias=get("REFIT_CHAMPION_ALIAS") or DEFAULT_CHAMPION_ALIAS,
            termination_log=get("REFIT_TERMINATION_LOG"),
            reference_data=get("REFIT_REFERENCE_DATA"),
            current_data=get("REFIT_CURRENT_DATA"),
            drift_config=get("REFIT_DRIFT_CONFIG"),
        )

    def identity_tags(self) -> dict[str, str]:
        """Tags that tie an MLflow run to the Kubernetes objects that asked for it."""
        pairs = {
            "refit.pipeline": self.pipeline,
            "refit.run": self.run,
            "refit.namespace": self.namespace,
            "refit.trigger": self.trigger,
            "refit.scheduled_time": format_rfc3339_utc(self.scheduled_time)
            if self.scheduled_time
            else None,
        }
        return {k: v for k, v in pairs.items() if v}


def parse_rfc3339_utc(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with an explicit offset and return it in UTC.

    A naive timestamp is refused: a cutoff that silently depends on the pod's local time
    zone would leak (or drop) a day of data.
    """
    try:
        parsed = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError as exc:
        raise UsageError(f"REFIT_SCHEDULED_TIME {text!r} is not an RFC 3339 timestamp") from exc
    if parsed.tzinfo is None:
        raise UsageError(f"REFIT_SCHEDULED_TIME {text!r} has no UTC offset (expected e.g. ...Z)")
    return parsed.astimezone(UTC)


def format_rfc3339_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
