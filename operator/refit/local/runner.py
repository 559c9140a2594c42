"""Run a TrainingPipeline on this machine through the operator's own core.

A local run is the operator's run, minus Kubernetes: the run is built by
`core.run_snapshot.snapshot_run`, named by `core.names.run_name`, and driven by the shared
`adapters.run_driver.RunDriver` (hence `core.run_state` and `core.gate`) against a
`LocalJobBackend`. Replayed ticks come from `core.schedule`; a drift check is decided by
`core.drift_policy`. Nothing here decides anything the core decides: this module only loops
"drive, wait for the running Job, drive again" and keeps the status in memory (and, when done,
in `.refit/runs/<namespace>/<run>.yaml`) where the operator would keep it in the API server.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import mlflow
import yaml

from refit.adapters.mlflow import DRIFT_CHECK_UID_TAG
from refit.adapters.mlflow_sdk import MlflowSdk
from refit.adapters.run_driver import RunDriver
from refit.api.base import API_VERSION
from refit.api.enums import ConditionStatus, RunPhase, TriggerType
from refit.api.pipeline import TrainingPipeline
from refit.api.run import TrainingRun, TrainingRunStatus
from refit.core.drift_policy import (
    DriftAssessment,
    DriftCheckResult,
    DriftRunDecision,
    assess_drift,
    decide_drift_run,
    drift_condition,
    result_from_report,
)
from refit.core.job_spec import (
    JobRequest,
    Owner,
    Step,
    drift_check_data,
    drift_config,
    experiment_name,
    run_job_request,
)
from refit.core.names import drift_check_job_name, run_name
from refit.core.run_snapshot import snapshot_run
from refit.core.run_state import EmitEvent, JobState, RunIdentity
from refit.core.schedule import fire_times_between, parse_schedule, schedule_key
from refit.local.executors import Executor
from refit.local.job_backend import LocalJob, LocalJobBackend
from refit.local.store import MLFLOW_UI, LocalStore, ensure_experiment

DRIFT_REPORT_ARTIFACT: Final = "drift/report.json"
MAX_REPLAY_TICKS: Final = 5000
# A run needs a handful of passes (train, evaluate, maybe re-evaluate); far more means a bug.
MAX_PASSES: Final = 200

StatusCallback = Callable[[TrainingRun, TrainingRunStatus], None]


class LocalRunError(RuntimeError):
    """The local run could not proceed (not a run failure: those end in phase Failed)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class LocalMlflow(MlflowSdk):
    """The MLflow adapter, with links into `mlflow ui` for a local SQLite or file store."""

    def __init__(self, tracking_uri: str, ui_url: str = MLFLOW_UI) -> None:
        super().__init__(tracking_uri)
        self.ui_url = ui_url

    def ensure_version(self, model: str, run_id: str, tags: dict[str, str]) -> str:
        # A SQLite registry resolves `models:/<logged model>` sources with a default
        # MlflowClient(), i.e. through the process-wide tracking URI: without this it would look
        # in ./mlflow.db and refuse to register the candidate.
        with _process_tracking_uri(self.tracking_uri):
            return super().ensure_version(model, run_id, tags)

    def run_url(self, experiment_id: str, run_id: str) -> str:
        if self.tracking_uri.startswith(("http://", "https://")):
            return super().run_url(experiment_id, run_id)
        return f"{self.ui_url}/#/experiments/{experiment_id}/runs/{run_id}"


@contextlib.contextmanager
def _process_tracking_uri(uri: str) -> Iterator[None]:
    try:
        from mlflow.tracking._tracking_service.utils import _use_tracking_uri
    except ImportError:  # a future MLflow without it: set it for good
        mlflow.set_tracking_uri(uri)
        yield
        return
    with _use_tracking_uri(uri):
        yield


@dataclass
class RunOutcome:
    """A finished (or stopped) local run: its spec, final status, events and Job logs."""

    run: TrainingRun
    events: list[EmitEvent] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)

    @property
    def status(self) -> TrainingRunStatus:
        return self.run.status or TrainingRunStatus()

    @property
    def name(self) -> str:
        return self.run.metadata.name or ""

    @property
    def failed(self) -> bool:
        return self.status.phase is RunPhase.FAILED


@dataclass
class _ActiveRun:
    """A run being driven: the object, its driver and Jobs, and its status so far."""

    run: TrainingRun
    driver: RunDriver
    backend: LocalJobBackend
    outcome: RunOutcome
    status: TrainingRunStatus | None = None


@dataclass
class DriftOutcome:
    """One drift check: the report, the core's verdict, and the Drift run it led to, if any."""

    scheduled_time: datetime
    job_name: str
    mlflow_run_id: str
    report: dict[str, Any] | None
    assessment: DriftAssessment
    decision: DriftRunDecision
    log: Path
    run: RunOutcome | None = None

    @property
    def condition(self) -> tuple[ConditionStatus, str, str]:
        """The pipeline's DriftDetected condition as the operator would set it."""
        return drift_condition(self.assessment)


class LocalRunner:
    """Runs one pipeline's runs one after another (a prefetching replay starts the next
    run's training early), with the given executor and MLflow."""

    def __init__(
        self,
        pipeline: TrainingPipeline,
        *,
        executor: Executor,
        store: LocalStore,
        tracking_uri: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        approve: bool = False,
        on_status: StatusCallback | None = None,
        on_job: Callable[[LocalJob], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.executor = executor
        self.store = store
        self.local_store = tracking_uri is None
        self.tracking_uri = tracking_uri or store.tracking_uri
        self.clock = clock
        self.approve = approve
        self.on_status = on_status
        self.on_job = on_job
        self.namespace = pipeline.metadata.namespace or "default"
        self.name = pipeline.metadata.name or ""
        self.mlflow = LocalMlflow(self.tracking_uri)
        self.last_drift_run_time: datetime | None = None
        self._experiments: set[str] = set()
        # Every run snapshots the MLflow settings actually used, not an in-cluster URI.
        self.mlflow_spec = pipeline.spec.mlflow.model_copy(
            update={"tracking_uri": self.tracking_uri}
        )
        if self.local_store:
            store.prepare()

    def prepare(self) -> None:
        """Open the MLflow store and create the pipeline's experiment (with the local artifact
        root): afterwards other processes may open the store without racing its creation."""
        self._ensure_experiment(experiment_name(self.mlflow_spec, self.namespace, self.name))

    # -- runs --------------------------------------------------------------------------------

    def run(self, trigger: TriggerType, scheduled_time: datetime | None, reason: str) -> RunOutcome:
        """Create the run that `trigger` at `scheduled_time` (or now) would create, and drive it
        until it is Promoted, Rejected or Failed (or awaits an approval that was not given)."""
        return self._complete(self._begin(trigger, scheduled_time, reason))

    def _begin(
        self, trigger: TriggerType, scheduled_time: datetime | None, reason: str
    ) -> _ActiveRun:
        """Create the run and drive its first pass (its MLflow run and training Job)."""
        now = self.clock()
        name = run_name(self.name, scheduled_time or now, trigger)
        run = snapshot_run(self.pipeline, name, trigger, scheduled_time, reason)
        run.spec.mlflow = self.mlflow_spec
        # A fresh uid per local run, as the API server gives a re-created object a new one:
        # the MLflow run is keyed by it, so running the same tick again is a new run.
        run.metadata.uid = str(uuid.uuid4())
        run.metadata.creation_timestamp = now
        self._experiment(run)
        backend = LocalJobBackend(
            lambda job, step, mlflow_run_id: run_job_request(
                run, job, step, mlflow_run_id, self.tracking_uri
            ),
            self.executor,
            self.store.logs(self.namespace, name),
            on_start=self.on_job,
        )
        driver = RunDriver(
            spec=run.spec,
            identity=RunIdentity(name=name, namespace=self.namespace, uid=run.metadata.uid),
            mlflow=self.mlflow,
            jobs=backend,
            clock=self.clock,
        )
        active = _ActiveRun(run, driver, backend, RunOutcome(run))
        try:
            self._pass(active)
        except BaseException:
            backend.close()
            raise
        return active

    def _pass(self, active: _ActiveRun) -> bool:
        """One drive of the state machine; whether it did or changed anything."""
        result = active.driver.drive(active.status, approved=self.approve)
        progressed = bool(result.performed) or result.status != active.status
        active.status = active.run.status = result.status
        active.outcome.events += result.events
        if self.on_status is not None:
            self.on_status(active.run, result.status)
        return progressed

    def _complete(
        self, active: _ActiveRun, on_evaluating: Callable[[], None] | None = None
    ) -> RunOutcome:
        """Drive the run to its end: pass, wait for the running Job, pass again."""
        name = active.run.metadata.name
        progressed = True
        try:
            for _ in range(MAX_PASSES):
                status = active.status
                assert status is not None
                if status.phase.terminal or status.phase is RunPhase.AWAITING_APPROVAL:
                    break
                if on_evaluating is not None and status.phase is RunPhase.EVALUATING:
                    on_evaluating()
                    on_evaluating = None
                if not active.backend.wait() and not progressed:
                    raise LocalRunError(
                        f"run {name} is stuck in phase {status.phase.value}: "
                        "the state machine requested nothing and no Job is running"
                    )
                progressed = self._pass(active)
            else:
                raise LocalRunError(f"run {name} did not finish within {MAX_PASSES} passes")
        finally:
            active.backend.close()
        active.outcome.logs = {job.name: job.log for job in active.backend.jobs.values()}
        self._save(active.run)
        return active.outcome

    def ticks(self, start: datetime, end: datetime) -> list[datetime]:
        """The pipeline's schedule ticks t with start < t ≤ end (core.schedule, `H` included)."""
        schedule_spec = self.pipeline.spec.schedule
        if schedule_spec is None:
            raise LocalRunError(f"pipeline {self.name} has no spec.schedule to replay")
        schedule = parse_schedule(
            schedule_spec.cron, schedule_spec.time_zone, schedule_key(self.namespace, self.name)
        )
        ticks = fire_times_between(schedule, start, end, MAX_REPLAY_TICKS + 1)
        if len(ticks) > MAX_REPLAY_TICKS:
            raise LocalRunError(
                f"{start:%Y-%m-%d %H:%M}..{end:%Y-%m-%d %H:%M} holds more than "
                f"{MAX_REPLAY_TICKS} ticks of {schedule_spec.cron!r}; replay a shorter range"
            )
        return ticks

    def replay(
        self, start: datetime, end: datetime, *, prefetch: bool = False
    ) -> Iterator[RunOutcome]:
        """One Schedule run per tick of (start, end], in order, each with REFIT_SCHEDULED_TIME
        at its tick: the data cutoff of that day.

        With `prefetch`, the next tick's run is created and its training Job started while the
        current run evaluates (give the executor two workers). Its evaluation still waits until
        the current run is decided, so every candidate is gated against the champion it would
        have met one week later: the decisions are those of the sequential replay, only sooner.
        """
        if self.pipeline.spec.suspend:
            raise LocalRunError(f"pipeline {self.name} is suspended (spec.suspend): no ticks run")
        ticks = self.ticks(start, end)
        upcoming: _ActiveRun | None = None

        def begin(tick: datetime) -> _ActiveRun:
            return self._begin(
                TriggerType.SCHEDULE, tick, f"replay of the tick at {tick:%Y-%m-%dT%H:%M:%SZ}"
            )

        try:
            for index, tick in enumerate(ticks):
                active = upcoming or begin(tick)
                upcoming = None

                def start_next(index: int = index) -> None:
                    nonlocal upcoming
                    if prefetch and index + 1 < len(ticks):
                        upcoming = begin(ticks[index + 1])

                yield self._complete(active, on_evaluating=start_next)
        finally:
            if upcoming is not None:
                upcoming.backend.close()

    # -- drift -------------------------------------------------------------------------------

    def check_drift(self, at: datetime, *, run_on_drift: bool = True) -> DriftOutcome:
        """The drift check of the tick `at` (the real drift-check Job, locally), the core's
        verdict, and, when the dataset drifted and the cooldown allows, the Drift run."""
        trigger = self.pipeline.spec.triggers.drift
        if trigger is None:
            raise LocalRunError(f"pipeline {self.name} has no spec.triggers.drift")
        spec = self.pipeline.spec
        job_name = drift_check_job_name(self.name, at)
        experiment = experiment_name(spec.mlflow, self.namespace, self.name)
        self._ensure_experiment(experiment)
        record = self.mlflow.ensure_run(
            experiment,
            DRIFT_CHECK_UID_TAG,
            f"{uuid.uuid4()}-{int(at.timestamp())}",
            job_name,
            {"refit.pipeline": self.name, "refit.namespace": self.namespace, "refit.step": "drift"},
        )
        request = JobRequest(
            name=job_name,
            namespace=self.namespace,
            step=Step.DRIFT,
            pipeline=self.name,
            run=job_name,
            owner=Owner(API_VERSION, "TrainingPipeline", self.name, "local"),
            trainer=spec.trainer,
            data=drift_check_data(spec),
            model=spec.model,
            mlflow=self.mlflow_spec,
            tracking_uri=self.tracking_uri,
            experiment=experiment,
            mlflow_run_id=record.run_id,
            trigger="DriftCheck",
            scheduled_time=at,
            extra_env={"REFIT_DRIFT_CONFIG": drift_config(trigger)},
            labels=self.pipeline.metadata.labels,
        )
        logs = self.store.logs(self.namespace, job_name)
        backend = LocalJobBackend(
            lambda _name, _step, _run_id: request, self.executor, logs, on_start=self.on_job
        )
        try:
            seen = backend.create(job_name, Step.DRIFT, record.run_id, False)
            while seen.state is JobState.ACTIVE:
                backend.wait()
                seen = backend.observe()[job_name]
        finally:
            backend.close()
        report: dict[str, Any] | None = None
        if seen.state is JobState.SUCCEEDED:
            report = self._report(record.run_id, logs)
            result = result_from_report(report)
        else:
            why = ": ".join(p for p in (seen.reason, seen.message) if p)
            result = DriftCheckResult(
                failed=True, error=f"drift-check Job {job_name} failed ({why})"
            )
        assessment = assess_drift(trigger, result)
        decision = decide_drift_run(
            assessment,
            now=at,
            cooldown=trigger.cooldown,
            last_drift_run_time=self.last_drift_run_time,
            suspended=spec.suspend,
        )
        outcome = DriftOutcome(
            at, job_name, record.run_id, report, assessment, decision, logs / f"{job_name}.log"
        )
        if decision.create and run_on_drift:
            self.last_drift_run_time = at
            outcome.run = self.run(TriggerType.DRIFT, at, decision.message)
        return outcome

    # -- helpers -----------------------------------------------------------------------------

    def _report(self, mlflow_run_id: str, folder: Path) -> dict[str, Any]:
        """The drift-check Job's report, read back from MLflow as the operator reads it."""
        path = self.mlflow.client.download_artifacts(
            mlflow_run_id, DRIFT_REPORT_ARTIFACT, dst_path=str(folder)
        )
        with open(path, encoding="utf-8") as handle:
            report: dict[str, Any] = json.load(handle)
        return report

    def _experiment(self, run: TrainingRun) -> None:
        self._ensure_experiment(
            experiment_name(run.spec.mlflow, self.namespace, run.spec.pipeline_ref.name)
        )

    def _ensure_experiment(self, name: str) -> None:
        if name in self._experiments:
            return
        artifacts = self.store.artifact_location(name) if self.local_store else None
        ensure_experiment(self.mlflow.client, name, artifacts)
        self._experiments.add(name)

    def _save(self, run: TrainingRun) -> None:
        path = self.store.runs(self.namespace) / f"{run.metadata.name}.yaml"
        path.write_text(yaml.safe_dump(run.wire(), sort_keys=False), encoding="utf-8")
