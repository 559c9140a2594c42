"""A run's Jobs as local processes: the JobBackend of `refit run` and `refit demo`.

A local Job runs exactly what the Kubernetes Job would: the manifest comes from the same pure
builder (`refit.core.job_spec.build_job`, hence the same `contract_env`), and the process gets
its container's command + args as argv and its env list as environment. Locally:

- the base environment is this process's, minus MLFLOW_RUN_ID/MLFLOW_EXPERIMENT_*/
  MLFLOW_TRACKING_URI and every REFIT_* variable, so nothing of the contract leaks in from the
  shell; the directory of this Python is put first on PATH so `refit-trainer` from the same
  virtual environment is found without activating it;
- `valueFrom` variables (Secret/ConfigMap keys) take the value of the same variable in this
  process's environment, and a Job whose variable is missing fails to start, naming it;
- REFIT_TERMINATION_LOG points at a file next to the Job's log: a non-zero exit code fails the
  Job (no backoff retries: locally a retry only repeats the failure) with the last line of that
  file, else of the log, as the message, as a Pod's termination message would;
- activeDeadlineSeconds kills the process; a Kueue queue is ignored (admitted at once).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from refit.core.job_spec import JobRequest, Step, build_job
from refit.core.run_state import JobObservation, JobState
from refit.local.executors import Executor, JobHandle, JobStartError

# Contract variables that must come only from the Job's manifest, never from the caller's shell.
_SHELL_VARIABLES_DROPPED = (
    "MLFLOW_RUN_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_TRACKING_URI",
)
DEADLINE_EXCEEDED = "DeadlineExceeded"


def base_environment(environ: Mapping[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in environ.items()
        if not k.startswith("REFIT_") and k not in _SHELL_VARIABLES_DROPPED
    }
    bin_dir = str(Path(sys.executable).parent)
    path = env.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        env["PATH"] = os.pathsep.join(p for p in (bin_dir, path) if p)
    return env


def container_of(manifest: dict[str, Any]) -> dict[str, Any]:
    return dict(manifest["spec"]["template"]["spec"]["containers"][0])


def job_environment(
    manifest: dict[str, Any], environ: Mapping[str, str], termination_log: Path
) -> dict[str, str]:
    """The process environment of a Job: base, then the container's env list in order."""
    env = base_environment(environ)
    for item in container_of(manifest).get("env") or []:
        name = item["name"]
        if "value" in item:
            env[name] = str(item["value"])
        elif name in environ:
            env[name] = environ[name]
        else:
            source = next(iter(item.get("valueFrom") or {"a reference": None}))
            raise JobStartError(
                f"env {name} comes from {source}, which a local run cannot read: "
                f"set {name} in your environment"
            )
    env["REFIT_TERMINATION_LOG"] = str(termination_log)
    return env


def last_line(path: Path) -> str | None:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    except OSError:
        return None
    lines = [line for line in lines if line]
    return lines[-1][:4096] if lines else None


@dataclass
class LocalJob:
    name: str
    step: Step
    log: Path
    termination_log: Path
    handle: JobHandle | None
    started: float
    deadline_seconds: int | None
    observation: JobObservation


class LocalJobBackend:
    """JobBackend for one run (or one drift check): its Jobs are processes on this machine."""

    def __init__(
        self,
        request: Callable[[str, Step, str], JobRequest],
        executor: Executor,
        log_dir: Path,
        *,
        cwd: Path | None = None,
        environ: Mapping[str, str] | None = None,
        on_start: Callable[[LocalJob], None] | None = None,
    ) -> None:
        self.request = request
        self.executor = executor
        self.log_dir = log_dir
        self.cwd = cwd or Path.cwd()
        self.environ = dict(os.environ if environ is None else environ)
        self.on_start = on_start
        self.jobs: dict[str, LocalJob] = {}

    # -- JobBackend ---------------------------------------------------------------------------

    def observe(self) -> dict[str, JobObservation]:
        return {name: self._refresh(job) for name, job in self.jobs.items()}

    def create(self, name: str, step: Step, mlflow_run_id: str, suspend: bool) -> JobObservation:
        if name in self.jobs:  # AlreadyExists is success
            return self._refresh(self.jobs[name])
        manifest = build_job(self.request(name, step, mlflow_run_id))
        container = container_of(manifest)
        argv = [*container.get("command", []), *container.get("args", [])]
        log = self.log_dir / f"{name}.log"
        termination_log = self.log_dir / f"{name}.termination-log"
        termination_log.unlink(missing_ok=True)
        job = LocalJob(
            name=name,
            step=step,
            log=log,
            termination_log=termination_log,
            handle=None,
            started=time.monotonic(),
            deadline_seconds=manifest["spec"].get("activeDeadlineSeconds"),
            observation=JobObservation(JobState.ACTIVE),
        )
        self.jobs[name] = job
        try:
            if not argv:
                raise JobStartError("the container has no command")
            env = job_environment(manifest, self.environ, termination_log)
            job.handle = self.executor.start(argv, env, log, self.cwd)
        except JobStartError as error:
            with log.open("a", encoding="utf-8") as out:
                out.write(f"refit: {error}\n")
            job.observation = JobObservation(JobState.FAILED, "StartError", str(error))
            return job.observation
        if self.on_start is not None:
            self.on_start(job)
        return self._refresh(job)

    # -- local only ---------------------------------------------------------------------------

    def active(self) -> list[LocalJob]:
        return [j for j in self.jobs.values() if self._refresh(j).state is JobState.ACTIVE]

    def wait(self, poll_seconds: float = 0.05) -> bool:
        """Block until one active Job finishes; False when none was active."""
        while True:
            active = self.active()
            if not active:
                return False
            # One Job: sleep in its wait(); several: take turns in short slices.
            slice_seconds = 1.0 if len(active) == 1 else poll_seconds
            for job in active:
                assert job.handle is not None
                timeout = slice_seconds
                if job.deadline_seconds is not None:
                    left = job.started + job.deadline_seconds - time.monotonic()
                    timeout = max(0.0, min(timeout, left))
                job.handle.wait(timeout)
                if self._refresh(job).state is not JobState.ACTIVE:
                    return True

    def close(self) -> None:
        for job in self.jobs.values():
            if job.handle is not None and job.observation.state is JobState.ACTIVE:
                job.handle.kill()
                job.observation = JobObservation(JobState.FAILED, "Killed", "the local run ended")

    def _refresh(self, job: LocalJob) -> JobObservation:
        if job.observation.state is not JobState.ACTIVE or job.handle is None:
            return job.observation
        code = job.handle.poll()
        if code is None:
            if (
                job.deadline_seconds is not None
                and time.monotonic() - job.started > job.deadline_seconds
            ):
                job.handle.kill()
                job.observation = JobObservation(
                    JobState.FAILED,
                    DEADLINE_EXCEEDED,
                    f"Job was active longer than activeDeadlineSeconds ({job.deadline_seconds}s)",
                )
            return job.observation
        if code == 0:
            job.observation = JobObservation(JobState.SUCCEEDED)
        else:
            message = last_line(job.termination_log) or last_line(job.log)
            job.observation = JobObservation(JobState.FAILED, f"exit code {code}", message)
        return job.observation
