"""A run's Jobs on Kubernetes: found by label, created from the pure Job builder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from refit.adapters.kube import Kube
from refit.core.job_spec import LABEL_RUN, JobRequest, Step, build_job
from refit.core.run_state import JobObservation, JobState


def observe_job(job: dict[str, Any] | None) -> JobObservation:
    """A Job object as the state machine sees it."""
    if job is None:
        return JobObservation(JobState.ABSENT)
    spec = job.get("spec") or {}
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return JobObservation(JobState.SUCCEEDED)
        if condition.get("type") == "Failed":
            return JobObservation(
                JobState.FAILED, condition.get("reason"), condition.get("message")
            )
    if spec.get("suspend"):
        return JobObservation(JobState.SUSPENDED)
    return JobObservation(JobState.ACTIVE)


def job_summary(name: str, spec: Any, status: Any) -> dict[str, Any]:
    """What `observe_job` reads of a Job, small enough to keep for every Job in memory."""
    return {
        "metadata": {"name": name},
        "spec": {"suspend": bool((spec or {}).get("suspend"))},
        "status": {"conditions": [dict(c) for c in (status or {}).get("conditions") or []]},
    }


def termination_message(kube: Kube, namespace: str, job_name: str) -> str | None:
    """The trainer's one-line reason, from the newest failed pod's termination message."""
    pods = kube.core.list_namespaced_pod(
        namespace, label_selector=f"batch.kubernetes.io/job-name={job_name}"
    )
    newest: tuple[str, str] | None = None
    for pod in pods.items:
        for status in (pod.status.container_statuses if pod.status else None) or []:
            terminated = status.state.terminated if status.state else None
            if terminated is not None and terminated.exit_code and terminated.message:
                stamp = str(terminated.finished_at or "")
                if newest is None or stamp > newest[0]:
                    newest = (stamp, terminated.message.strip().splitlines()[-1])
    return newest[1] if newest else None


@dataclass
class KubeJobBackend:
    """JobBackend for one TrainingRun: its Jobs carry the refit.dev/run label."""

    kube: Kube
    namespace: str
    run_name: str
    request: Callable[[str, Step, str], JobRequest]
    """Builds the JobRequest for (job name, step, MLflow run id)."""
    indexed: Sequence[dict[str, Any]] | None = None
    """The run's Jobs as the operator's watch last saw them (`job_summary`); None: list them.
    A Job the watch has not delivered yet looks absent: creating it again is answered
    AlreadyExists and the existing Job is read back, so staleness costs a request, never a
    second Job."""

    def observe(self) -> dict[str, JobObservation]:
        if self.indexed is not None:
            jobs = list(self.indexed)
        else:
            listed = self.kube.batch.list_namespaced_job(
                self.namespace, label_selector=f"{LABEL_RUN}={self.run_name}"
            )
            jobs = [self.kube.to_dict(job) for job in listed.items]
        seen: dict[str, JobObservation] = {}
        for as_dict in jobs:
            name = str(as_dict["metadata"]["name"])
            observation = observe_job(as_dict)
            if observation.state is JobState.FAILED:
                reason = termination_message(self.kube, self.namespace, name)
                if reason:
                    observation = JobObservation(JobState.FAILED, observation.reason, reason)
            seen[name] = observation
        return seen

    def create(self, name: str, step: Step, mlflow_run_id: str, suspend: bool) -> JobObservation:
        manifest = build_job(self.request(name, step, mlflow_run_id))
        job, _created = self.kube.create_job(manifest)
        return observe_job(job)
