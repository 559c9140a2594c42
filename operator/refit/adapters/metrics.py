"""Prometheus metrics (DESIGN.md §5): `refit_` prefix, base units, bounded labels.

Labels are namespace and pipeline (bounded by the fleet), trigger and result (small enums).
Never a run name, version, user string or anything secret.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, start_http_server

# A series is a value in a dict, not an object with two locks: 12 MB less at 1000 pipelines.
# Counters have no `_created` series (they would double the cardinality; nothing uses them).
from refit.adapters.series import Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
_P = ("namespace", "pipeline")

RUNS = Counter(
    "refit_runs_total",
    "Training runs finished, by trigger and result (Promoted, Rejected, Failed).",
    [*_P, "trigger", "result"],
    registry=REGISTRY,
)
RUNS_CREATED = Counter(
    "refit_runs_started_total",
    "Training runs created, by trigger (schedule, drift, manual).",
    [*_P, "trigger"],
    registry=REGISTRY,
)
RUN_DURATION = Histogram(
    "refit_run_duration_seconds",
    "Wall time from run start to its terminal phase.",
    [*_P, "result"],
    buckets=(30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400),
    registry=REGISTRY,
)
QUEUE_WAIT = Histogram(
    "refit_queue_wait_seconds",
    "Time a run waited (global cap or Kueue) before its training Job started.",
    _P,
    buckets=(1, 5, 15, 60, 300, 900, 3600, 14400),
    registry=REGISTRY,
)
PROMOTIONS = Counter(
    "refit_promotions_total", "Champion alias moves made by Refit.", _P, registry=REGISTRY
)
DRIFT_SHARE = Gauge(
    "refit_drift_share_ratio",
    "Share of tested features that drifted at the last check.",
    _P,
    registry=REGISTRY,
)
DRIFT_DETECTED = Gauge(
    "refit_drift_detected",
    "1 when the last drift check found dataset drift, else 0.",
    _P,
    registry=REGISTRY,
)
DRIFT_CHECKS = Counter(
    "refit_drift_checks_total",
    "Drift checks finished, by result.",
    [*_P, "result"],
    registry=REGISTRY,
)
CHAMPION_METRIC = Gauge(
    "refit_champion_metric",
    "Primary metric of the champion on validation data.",
    [*_P, "metric"],
    registry=REGISTRY,
)
CANDIDATE_METRIC = Gauge(
    "refit_candidate_metric",
    "Primary metric of the latest evaluated candidate.",
    [*_P, "metric"],
    registry=REGISTRY,
)
LAST_SUCCESS = Gauge(
    "refit_last_success_timestamp_seconds",
    "Unix time of the last run that finished without failing (Promoted or Rejected).",
    _P,
    registry=REGISTRY,
)
LAST_PROMOTION = Gauge(
    "refit_last_promotion_timestamp_seconds",
    "Unix time of the last promotion.",
    _P,
    registry=REGISTRY,
)
NEXT_SCHEDULE = Gauge(
    "refit_next_schedule_timestamp_seconds",
    "Unix time of the next schedule tick.",
    _P,
    registry=REGISTRY,
)
MISSED_SCHEDULES = Counter(
    "refit_missed_schedules_total",
    "Schedule ticks not run (deadline passed, Skip policy, RunAll cap, Forbid overlap).",
    [*_P, "reason"],
    registry=REGISTRY,
)
READY = Gauge(
    "refit_pipeline_ready", "1 when the pipeline's Ready condition is True.", _P, registry=REGISTRY
)
ACTIVE_JOBS = Gauge(
    "refit_active_training_jobs", "Training Jobs currently running.", registry=REGISTRY
)
STATUS_CONFLICTS = Counter(
    "refit_status_conflicts_total",
    "Status writes refused because the object changed since it was read (re-read, not an error).",
    ["kind"],
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    "refit_reconcile_errors_total",
    "Reconcile passes that raised, by kind.",
    ["kind"],
    registry=REGISTRY,
)
BUILD_INFO = Gauge("refit_build_info", "Operator version.", ["version"], registry=REGISTRY)


PER_PIPELINE = (
    RUNS,
    RUNS_CREATED,
    RUN_DURATION,
    QUEUE_WAIT,
    PROMOTIONS,
    DRIFT_SHARE,
    DRIFT_DETECTED,
    DRIFT_CHECKS,
    CHAMPION_METRIC,
    CANDIDATE_METRIC,
    LAST_SUCCESS,
    LAST_PROMOTION,
    NEXT_SCHEDULE,
    MISSED_SCHEDULES,
    READY,
)
_DECLARED: set[tuple[str, str]] = set()
TRIGGERS = ("Schedule", "Drift", "Manual")
RESULTS = ("Promoted", "Rejected", "Failed")


def declare_pipeline(namespace: str, pipeline: str) -> None:
    """Create a pipeline's counter series at 0, so the first failure is an `increase()` that
    alerts can see (a series born at 1 has no increase)."""
    if (namespace, pipeline) in _DECLARED:
        return
    _DECLARED.add((namespace, pipeline))
    for trigger in TRIGGERS:
        RUNS_CREATED.labels(namespace, pipeline, trigger)
        for result in RESULTS:
            RUNS.labels(namespace, pipeline, trigger, result)
    PROMOTIONS.labels(namespace, pipeline)
    for result in ("Drift", "NoDrift", "InsufficientData", "Failed"):
        DRIFT_CHECKS.labels(namespace, pipeline, result)
    MISSED_SCHEDULES.labels(namespace, pipeline, "policy")


def forget_pipeline(namespace: str, pipeline: str) -> None:
    """Drop a deleted pipeline's series so the label set stays bounded by the live fleet."""
    _DECLARED.discard((namespace, pipeline))
    for metric in PER_PIPELINE:
        metric.remove_matching((namespace, pipeline))


def serve(port: int, address: str = "0.0.0.0") -> None:
    start_http_server(port, addr=address, registry=REGISTRY)
