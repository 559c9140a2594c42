"""The real Job and garbage-collector controllers, with the node agent as the kubelet."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from kubernetes import client

from .kube import gone, job, job_condition, wait_for

PY = "python"  # resolved by the node agent to the test virtualenv's interpreter


def test_a_job_whose_command_exits_0_completes(
    api_client: client.ApiClient, namespace: str
) -> None:
    batch = client.BatchV1Api(api_client)
    batch.create_namespaced_job(namespace, job("ok", [PY, "-c", "print('trained')"]))
    cond = wait_for("Job ok to finish", lambda: job_condition(batch, namespace, "ok"))
    assert cond.type == "Complete"
    status = batch.read_namespaced_job_status("ok", namespace).status
    assert status is not None
    assert (status.succeeded, status.failed or 0) == (1, 0)
    pods = client.CoreV1Api(api_client).list_namespaced_pod(namespace, label_selector="job-name=ok")
    [pod] = pods.items
    assert pod.status is not None and pod.status.phase == "Succeeded"
    [cs] = pod.status.container_statuses or []
    assert cs.state is not None and cs.state.terminated is not None
    assert cs.state.terminated.exit_code == 0
    assert cs.state.terminated.reason == "Completed"


def test_a_job_whose_command_exits_1_fails_after_its_backoff_limit(
    api_client: client.ApiClient, namespace: str
) -> None:
    batch = client.BatchV1Api(api_client)
    script = (
        "import os, sys\n"
        "open(os.environ['REFIT_TERMINATION_LOG'], 'w').write('no data')\n"
        "sys.exit(1)\n"
    )
    batch.create_namespaced_job(namespace, job("bad", [PY, "-c", script], backoff_limit=1))
    # backoffLimit 1: the first failure is retried (after the controller's 10 s backoff).
    cond = wait_for("Job bad to fail", lambda: job_condition(batch, namespace, "bad"), timeout=90)
    assert (cond.type, cond.reason) == ("Failed", "BackoffLimitExceeded")
    status = batch.read_namespaced_job_status("bad", namespace).status
    assert status is not None and status.failed == 2 and not status.succeeded
    pods = client.CoreV1Api(api_client).list_namespaced_pod(
        namespace, label_selector="job-name=bad"
    )
    assert len(pods.items) == 2
    for pod in pods.items:
        assert pod.status is not None and pod.status.phase == "Failed"
        [cs] = pod.status.container_statuses or []
        term = cs.state.terminated if cs.state else None
        assert term is not None
        assert (term.exit_code, term.reason, term.message) == (1, "Error", "no data")


def test_deleting_the_owner_garbage_collects_its_jobs_and_pods(
    api_client: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    core, batch = client.CoreV1Api(api_client), client.BatchV1Api(api_client)
    owner = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
    )
    assert owner.metadata is not None
    ref = client.V1OwnerReference(
        api_version="v1",
        kind="ConfigMap",
        name="owner",
        uid=owner.metadata.uid,
        controller=True,
        block_owner_deletion=True,
    )
    pidfile = tmp_path / "pid"
    sleeper = (
        f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    )
    batch.create_namespaced_job(namespace, job("owned", [PY, "-c", sleeper], owner=ref))

    def running() -> int | None:
        pods = core.list_namespaced_pod(namespace, label_selector="job-name=owned").items
        if pods and pods[0].status and pods[0].status.phase == "Running" and pidfile.exists():
            return int(pidfile.read_text() or 0)
        return None

    pid = wait_for("the owned Job's pod to run", running)
    assert _alive(pid)

    core.delete_namespaced_config_map("owner", namespace)  # default propagation: Background
    wait_for(
        "the Job to be collected",
        lambda: gone(lambda: batch.read_namespaced_job("owned", namespace)),
    )
    wait_for(
        "the Job's pods to be collected",
        lambda: not core.list_namespaced_pod(namespace, label_selector="job-name=owned").items,
    )
    wait_for("the pod's process to be killed", lambda: not _alive(pid), timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_env_from_secrets_config_maps_and_fields_reaches_the_process(
    api_client: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api_client)
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="creds"),
            string_data={"token": "s3cr3t", "user": "alice"},
        ),
    )
    core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="settings"),
            data={"experiment": "churn", "region": "eu"},
        ),
    )

    def ref(kind: str, name: str, key: str) -> client.V1EnvVarSource:
        if kind == "secret":
            return client.V1EnvVarSource(
                secret_key_ref=client.V1SecretKeySelector(name=name, key=key)
            )
        return client.V1EnvVarSource(
            config_map_key_ref=client.V1ConfigMapKeySelector(name=name, key=key)
        )

    def field(path: str) -> client.V1EnvVarSource:
        return client.V1EnvVarSource(field_ref=client.V1ObjectFieldSelector(field_path=path))

    env = [
        client.V1EnvVar(name="LITERAL", value="plain"),
        client.V1EnvVar(name="TOKEN", value_from=ref("secret", "creds", "token")),
        client.V1EnvVar(name="EXPERIMENT", value_from=ref("configmap", "settings", "experiment")),
        client.V1EnvVar(name="POD_NAME", value_from=field("metadata.name")),
        client.V1EnvVar(name="POD_NAMESPACE", value_from=field("metadata.namespace")),
        client.V1EnvVar(name="EXPANDED", value="$(EXPERIMENT)-$(POD_NAMESPACE)"),
    ]
    env_from = [
        client.V1EnvFromSource(
            config_map_ref=client.V1ConfigMapEnvSource(name="settings"), prefix="CM_"
        ),
        client.V1EnvFromSource(secret_ref=client.V1SecretEnvSource(name="creds"), prefix="SEC_"),
    ]
    keys = ["LITERAL", "TOKEN", "EXPERIMENT", "POD_NAME", "POD_NAMESPACE", "EXPANDED"]
    keys += ["CM_experiment", "CM_region", "SEC_token", "SEC_user"]
    script = (
        "import json, os, sys\n"
        f"out = {{k: os.environ.get(k) for k in {keys!r}}}\n"
        "out['prefix'] = sys.prefix\n"
        "open(os.environ['REFIT_TERMINATION_LOG'], 'w').write(json.dumps(out))\n"
    )
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="env-probe"),
        spec=client.V1PodSpec(
            restart_policy="Never",
            containers=[
                client.V1Container(
                    name="probe",
                    image="ignored",
                    command=[PY, "-c", script],
                    env=env,
                    env_from=env_from,
                )
            ],
        ),
    )
    core.create_namespaced_pod(namespace, pod)
    done = wait_for("the probe pod to finish", lambda: _terminated(core, namespace, "env-probe"))
    assert done.exit_code == 0
    got = json.loads(done.message or "{}")
    assert got == {
        "LITERAL": "plain",
        "TOKEN": "s3cr3t",
        "EXPERIMENT": "churn",
        "POD_NAME": "env-probe",
        "POD_NAMESPACE": namespace,
        "EXPANDED": f"churn-{namespace}",
        "CM_experiment": "churn",
        "CM_region": "eu",
        "SEC_token": "s3cr3t",
        "SEC_user": "alice",
        "prefix": sys.prefix,  # `python` ran from the test virtualenv
    }


def _terminated(
    core: client.CoreV1Api, ns: str, name: str
) -> client.V1ContainerStateTerminated | None:
    pod = core.read_namespaced_pod_status(name, ns)
    statuses = (pod.status and pod.status.container_statuses) or []
    if pod.status and pod.status.phase in ("Succeeded", "Failed") and statuses:
        return statuses[0].state.terminated if statuses[0].state else None
    return None


def test_a_missing_secret_holds_the_pod_until_it_exists(
    api_client: client.ApiClient, namespace: str
) -> None:
    """The kubelet's CreateContainerConfigError: the pod waits, then runs."""
    core = client.CoreV1Api(api_client)
    env = [
        client.V1EnvVar(
            name="TOKEN",
            value_from=client.V1EnvVarSource(
                secret_key_ref=client.V1SecretKeySelector(name="late", key="token")
            ),
        )
    ]
    script = "import os, sys; sys.exit(0 if os.environ['TOKEN'] == 'ok' else 3)"
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="waits"),
        spec=client.V1PodSpec(
            restart_policy="Never",
            containers=[
                client.V1Container(name="c", image="ignored", command=[PY, "-c", script], env=env)
            ],
        ),
    )
    core.create_namespaced_pod(namespace, pod)

    def waiting_reason() -> str | None:
        p = core.read_namespaced_pod_status("waits", namespace)
        for cs in (p.status and p.status.container_statuses) or []:
            if cs.state and cs.state.waiting:
                return cs.state.waiting.reason
        return None

    assert wait_for("CreateContainerConfigError", waiting_reason) == "CreateContainerConfigError"
    assert core.read_namespaced_pod_status("waits", namespace).status.phase == "Pending"
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name="late"), string_data={"token": "ok"}),
    )
    done = wait_for("the pod to finish", lambda: _terminated(core, namespace, "waits"))
    assert done.exit_code == 0


def test_gpu_pods_fit_and_unmatched_node_selectors_stay_pending(
    api_client: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api_client)

    def pod(name: str, **spec: object) -> client.V1Pod:
        container = client.V1Container(
            name="c",
            image="ignored",
            command=[PY, "-c", "pass"],
            resources=client.V1ResourceRequirements(limits={"nvidia.com/gpu": "1"}),
        )
        return client.V1Pod(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1PodSpec(restart_policy="Never", containers=[container], **spec),
        )

    core.create_namespaced_pod(
        namespace, pod("gpu", node_selector={"nvidia.com/gpu.present": "true"})
    )
    core.create_namespaced_pod(namespace, pod("nowhere", node_selector={"pool": "tpu"}))
    assert (
        wait_for("the GPU pod to finish", lambda: _terminated(core, namespace, "gpu")).exit_code
        == 0
    )

    def unschedulable() -> str | None:
        p = core.read_namespaced_pod_status("nowhere", namespace)
        for c in (p.status and p.status.conditions) or []:
            if c.type == "PodScheduled" and c.status == "False":
                return c.reason
        return None

    assert wait_for("PodScheduled=False", unschedulable) == "Unschedulable"
    nowhere = core.read_namespaced_pod("nowhere", namespace)
    assert nowhere.spec is not None and not nowhere.spec.node_name
