"""Training and evaluation pods pass the `restricted` Pod Security Standard.

The namespace enforces `restricted` (latest). The pods are created by kube-controller-manager's
Job controller, so the API server's PodSecurity admission plugin (on by default) checks each of
them as it would on any cluster; a refused pod would leave the Job without pods and the run would
never finish. A privileged pod refused in the same namespace proves that enforcement is on.
"""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from operator_harness import OperatorProcess, Refit, pipeline_body, wait_for

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}


def _pod(name: str, security: dict[str, object] | None) -> client.V1Pod:
    container: dict[str, object] = {"name": "c", "image": "busybox", "command": ["true"]}
    if security is not None:
        container["securityContext"] = security
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(restart_policy="Never", containers=[container]),  # type: ignore[list-item]
    )


def test_train_and_eval_pods_are_admitted_under_restricted_pod_security(
    refit: Refit, operator_process: OperatorProcess, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    core.patch_namespace(refit.namespace, {"metadata": {"labels": RESTRICTED}})

    # Negative controls: admission is on and enforces `restricted`, not just `baseline`.
    for name, security, violation in (
        ("privileged", {"privileged": True}, "privileged"),
        ("plain", None, "allowPrivilegeEscalation != false"),
    ):
        with pytest.raises(ApiException) as refused:
            core.create_namespaced_pod(refit.namespace, _pod(name, security))
        assert refused.value.status == 403, refused.value.body
        message = json.loads(refused.value.body)["message"]
        assert 'violates PodSecurity "restricted:latest"' in message, message
        assert violation in message, message

    refit.apply_pipeline(pipeline_body("restricted"))
    refit.create_run("restricted-1", "restricted")
    run = wait_for("run finished", lambda: refit.terminal_run("restricted-1"), timeout=480)
    assert run["status"]["phase"] == "Promoted", run["status"]

    pods = core.list_namespaced_pod(refit.namespace, label_selector="refit.dev/run=restricted-1")
    steps = {p.metadata.labels["refit.dev/step"]: p for p in pods.items}
    assert {"train", "evaluate"} <= set(steps), sorted(steps)
    for step, pod in steps.items():
        assert pod.status.phase == "Succeeded", (step, pod.status.phase)
    # No Job ever failed to create a pod (the Job controller posts FailedCreate when admission
    # refuses one).
    refused_pods = [
        e.message
        for e in core.list_namespaced_event(refit.namespace).items
        if e.reason == "FailedCreate"
    ]
    assert refused_pods == []
