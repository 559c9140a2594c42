"""A credential planted in a Secret that a pipeline uses never appears in any status, event,
Job manifest, operator log line or metric: Secrets travel by reference only."""

from __future__ import annotations

import json
import secrets

from kubernetes import client
from operator_harness import OperatorProcess, Refit, pipeline_body, wait_for


def test_secret_value_never_leaks(
    refit: Refit, operator_process: OperatorProcess, api_client: client.ApiClient
) -> None:
    planted = f"AKIA-{secrets.token_hex(12)}"
    core = client.CoreV1Api(api_client)
    core.create_namespaced_secret(
        refit.namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="s3-creds"),
            string_data={"AWS_SECRET_ACCESS_KEY": planted, "TOKEN": planted},
        ),
    )
    # The trainer reads the credential (and checks it arrived) but the operator never sees it.
    check = "import os, sys; sys.exit(0 if os.environ['AWS_SECRET_ACCESS_KEY'] == os.environ['API_TOKEN'] else 3)"
    body = pipeline_body(
        "secretive",
        trainer={
            "image": "busybox",
            "command": ["python", "-c", check],
            "env": [
                {
                    "name": "API_TOKEN",
                    "valueFrom": {"secretKeyRef": {"name": "s3-creds", "key": "TOKEN"}},
                }
            ],
            "backoffLimit": 0,
        },
    )
    body["spec"]["data"]["credentialsSecretRef"] = {"name": "s3-creds"}
    body["spec"]["mlflow"] = {"credentialsSecretRef": {"name": "s3-creds"}}
    refit.apply_pipeline(body)
    wait_for(
        "Ready",
        lambda: (
            (c := refit.condition(refit.pipeline("secretive"), "Ready")) and c["status"] == "True"
        ),
    )
    refit.create_run("secretive-1", "secretive")
    run = wait_for("run finished", lambda: refit.terminal_run("secretive-1"), timeout=300)
    # The training Job ran with the credential (exit 0 means both env vars matched).
    assert run["status"]["conditions"] and any(
        c["type"] == "Trained" and c["status"] == "True" for c in run["status"]["conditions"]
    ), run["status"]

    batch = client.BatchV1Api(api_client)
    places = {
        "pipeline": json.dumps(refit.pipeline("secretive")),
        "run": json.dumps(refit.run("secretive-1")),
        "events": json.dumps([api_client.sanitize_for_serialization(e) for e in refit.events()]),
        "jobs": json.dumps(
            [
                api_client.sanitize_for_serialization(j)
                for j in batch.list_namespaced_job(refit.namespace).items
            ]
        ),
        "operator log": operator_process.log_path.read_text(errors="replace"),
        "metrics": operator_process.metrics(),
    }
    leaks = [where for where, text in places.items() if planted in text]
    assert leaks == []
    # …and the references are there: the value travels only inside the pod, from the Secret.
    assert '"secretRef": {"name": "s3-creds"}' in places["jobs"]
