"""Deterministic object names: the idempotency keys of runs and Jobs.

A name is derived only from what identifies the object (pipeline, scheduled time, trigger, step,
attempt), so a retry or a restarted operator computes the same name and `AlreadyExists` means
"done". Like CronJob, a scheduled run is `<pipeline>-<unix minutes of the scheduled time>`.

Limits. Every name is a DNS-1123 label (lowercase alphanumerics and '-', ≤ 63 characters), valid
as a Job name and as the value of the `batch.kubernetes.io/job-name` label. Run names stay within
52 characters so that `<run>-eval-NN` still fits in 63. A pipeline name that is too long, or that
contains dots (allowed in object names, not in labels), is shortened and made unique again with
the first 6 hex digits of the SHA-256 of the original name, so different pipelines never share
a prefix by truncation.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from refit.api.enums import TriggerType

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_RUN_NAME_LENGTH",
    "JobStep",
    "drift_check_job_name",
    "evaluation_attempt",
    "job_name",
    "run_name",
    "unix_minutes",
]

MAX_NAME_LENGTH: Final = 63
MAX_RUN_NAME_LENGTH: Final = 52
_HASH_LENGTH: Final = 6
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_TRIGGER_INFIX: Final = {
    TriggerType.SCHEDULE: "",
    TriggerType.DRIFT: "d-",
    TriggerType.MANUAL: "m-",
}


class JobStep(StrEnum):
    """The Jobs of a run, by name suffix."""

    TRAIN = "train"
    EVAL = "eval"


def unix_minutes(moment: datetime) -> int:
    """Whole minutes since the epoch, as CronJob names its Jobs."""
    if moment.tzinfo is None:
        raise ValueError(f"scheduled time must be timezone-aware (got naive {moment.isoformat()})")
    return int(moment.astimezone(UTC).timestamp()) // 60


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH_LENGTH]


def _fit(base: str, suffix: str, limit: int) -> str:
    """`<base>-<suffix>` within `limit` characters as a DNS-1123 label, hashing when shortened."""
    clean = re.sub(r"[^a-z0-9-]", "-", base.lower())
    room = limit - len(suffix) - 1
    if clean == base and len(clean) <= room and _LABEL.match(clean):
        return f"{clean}-{suffix}"
    keep = room - _HASH_LENGTH - 1
    prefix = clean[:keep].strip("-")
    head = f"{prefix}-{_short_hash(base)}" if prefix else _short_hash(base)
    return f"{head}-{suffix}"


def run_name(
    pipeline_name: str, scheduled_time: datetime, trigger: TriggerType = TriggerType.SCHEDULE
) -> str:
    """The TrainingRun for one tick: `<pipeline>-<minutes>`, `<pipeline>-d-<minutes>` for drift.

    Manual runs use `<pipeline>-m-<unix seconds>`: two manual requests a minute apart are two
    runs, a double submit within the same second is one.
    """
    if trigger is TriggerType.MANUAL:
        suffix = f"m-{unix_minutes(scheduled_time) * 60 + scheduled_time.astimezone(UTC).second}"
    else:
        suffix = f"{_TRIGGER_INFIX[trigger]}{unix_minutes(scheduled_time)}"
    return _fit(pipeline_name, suffix, MAX_RUN_NAME_LENGTH)


def job_name(run: str, step: JobStep, attempt: int = 1) -> str:
    """The Job of one step of a run: `<run>-train`, `<run>-eval`, `<run>-eval-2` (re-evaluation)."""
    if attempt < 1:
        raise ValueError(f"attempt must be ≥ 1 (got {attempt})")
    suffix = step.value if attempt == 1 else f"{step.value}-{attempt}"
    return _fit(run, suffix, MAX_NAME_LENGTH)


def evaluation_attempt(run: str, name: str | None) -> int:
    """The attempt number of an evaluation Job name of this run, 0 when it is not one."""
    if not name:
        return 0
    match = re.search(r"-eval-([0-9]+)$", name)
    attempt = int(match.group(1)) if match else 1
    return attempt if attempt >= 1 and job_name(run, JobStep.EVAL, attempt) == name else 0


def drift_check_job_name(pipeline_name: str, scheduled_time: datetime) -> str:
    """The drift-check Job for one check tick: `<pipeline>-drift-<minutes>`."""
    return _fit(pipeline_name, f"drift-{unix_minutes(scheduled_time)}", MAX_NAME_LENGTH)
