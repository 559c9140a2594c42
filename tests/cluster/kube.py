"""Small helpers for tests that talk to the test cluster."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

T = TypeVar("T")


def wait_for(
    what: str, probe: Callable[[], T | None], timeout: float = 60, interval: float = 0.2
) -> T:
    """Call ``probe`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def gone(read: Callable[[], Any]) -> bool:
    """True when ``read`` raises 404."""
    try:
        read()
    except ApiException as e:
        if e.status == 404:
            return True
        raise
    return False


def job_condition(batch: client.BatchV1Api, ns: str, name: str) -> client.V1JobCondition | None:
    """The Job's terminal condition (Complete or Failed) once it is True."""
    job = batch.read_namespaced_job_status(name, ns)
    for c in (job.status and job.status.conditions) or []:
        if c.type in ("Complete", "Failed") and c.status == "True":
            return c
    return None


def job(
    name: str,
    command: list[str],
    *,
    backoff_limit: int = 0,
    env: list[client.V1EnvVar] | None = None,
    owner: client.V1OwnerReference | None = None,
) -> client.V1Job:
    """A one-container Job running ``command`` (the node agent runs it as a host process)."""
    return client.V1Job(
        metadata=client.V1ObjectMeta(name=name, owner_references=[owner] if owner else None),
        spec=client.V1JobSpec(
            backoff_limit=backoff_limit,
            template=client.V1PodTemplateSpec(
                spec=client.V1PodSpec(
                    restart_policy="Never",
                    containers=[
                        client.V1Container(
                            name="main", image="ignored.invalid/trainer:0", command=command, env=env
                        )
                    ],
                )
            ),
        ),
    )
