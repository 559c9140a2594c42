"""Operator status writes are conditional on the resourceVersion they decided from: a pass that
read a stale object gets 409 (Conflict) instead of overwriting a newer write such as
`refit rollback`. Real API server; the operator's own reconcile function and Kube adapter."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from operator_harness import GROUP, VERSION, Refit, pipeline_body

from refit.adapters.kube import PIPELINES, RUNS, Conflict, Kube
from refit.controllers.config import OperatorConfig
from refit.controllers.context import Context
from refit.controllers.pipelines import reconcile_pipeline


def champion(version: str) -> dict[str, Any]:
    return {"version": version, "metric": "rmse", "metricValue": float(version)}


def write_status_as_the_cli_does(
    refit: Refit, plural: str, name: str, status: dict[str, Any]
) -> None:
    """A concurrent writer (the CLI): read, then patch conditionally on what it read."""
    body = refit.custom.get_namespaced_custom_object(GROUP, VERSION, refit.namespace, plural, name)
    refit.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        refit.namespace,
        plural,
        name,
        {"metadata": {"resourceVersion": body["metadata"]["resourceVersion"]}, "status": status},
    )


def test_stale_pipeline_pass_does_not_overwrite_a_rollback(
    refit: Refit, api_client: client.ApiClient, mlflow_server: str
) -> None:
    ctx = Context(
        config=OperatorConfig(mlflow_tracking_uri=mlflow_server, peering=None),
        kube=Kube(api_client),
    )
    refit.apply_pipeline(pipeline_body("cas"))
    write_status_as_the_cli_does(refit, PIPELINES, "cas", {"champion": champion("2")})
    stale = refit.pipeline("cas")  # what a slow operator pass read: champion 2, no conditions

    # Meanwhile `refit rollback` makes version 1 the champion again.
    write_status_as_the_cli_does(refit, PIPELINES, "cas", {"champion": champion("1")})

    # The stale pass would write its whole status (new conditions and champion 2): refused.
    with pytest.raises(Conflict):
        reconcile_pipeline(ctx, stale, [])
    assert refit.pipeline("cas")["status"]["champion"]["version"] == "1"

    # What the daemon does on Conflict: re-read, run the pass again. The rollback survives.
    reconcile_pipeline(ctx, refit.pipeline("cas"), [])
    after = refit.pipeline("cas")
    assert after["status"]["champion"]["version"] == "1"
    assert refit.condition(after, "Ready") is not None  # the retried pass did write its status


def test_run_status_patch_with_a_stale_version_is_refused(
    refit: Refit, api_client: client.ApiClient
) -> None:
    kube = Kube(api_client)
    refit.apply_pipeline(pipeline_body("cas-run"))
    refit.create_run("cas-run-1", "cas-run")
    stale = refit.run("cas-run-1")
    write_status_as_the_cli_does(refit, RUNS, "cas-run-1", {"phase": "Training"})

    with pytest.raises(Conflict):
        kube.patch_status(
            RUNS,
            refit.namespace,
            "cas-run-1",
            {"phase": "Failed"},
            stale["metadata"]["resourceVersion"],
        )
    assert refit.run("cas-run-1")["status"]["phase"] == "Training"

    fresh = refit.run("cas-run-1")
    written = kube.patch_status(
        RUNS,
        refit.namespace,
        "cas-run-1",
        {"phase": "Failed"},
        fresh["metadata"]["resourceVersion"],
    )
    assert written["status"]["phase"] == "Failed"
