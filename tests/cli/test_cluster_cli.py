"""The `refit` CLI against the real control plane and a real MLflow server.

State is set up the way the operator would leave it: pipelines created through the API, their
status written through the status subresource, model versions registered in MLflow. The CLI runs
in-process (typer's CliRunner) for speed; one test runs the installed `kubectl-refit` script to
show the plugin entry point and that errors are one line without a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from refit.cli import connection
from refit.cli.main import app

GROUP, VERSION = "refit.dev", "v1alpha1"
BIN = Path(sys.executable).parent


@pytest.fixture
def cli(cluster: Any, namespace: str) -> Iterator[Any]:
    runner = CliRunner()

    def invoke(*args: str, ns: str | None = namespace) -> Any:
        argv = [*args, "--kubeconfig", str(cluster.kubeconfig)]
        if ns is not None:
            argv += ["-n", ns]
        return runner.invoke(app, argv, catch_exceptions=False)

    yield invoke


@pytest.fixture
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


def model_name(base: str) -> str:
    return f"{base}-{os.getpid()}-{time.monotonic_ns() % 10**7}"


def make_pipeline(
    custom: client.CustomObjectsApi, namespace: str, name: str, tracking_uri: str, **spec: Any
) -> dict[str, Any]:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TrainingPipeline",
        "metadata": {"name": name, "namespace": namespace, "labels": {"team": "forecasting"}},
        "spec": {
            "schedule": {"cron": "30 2 * * *", "timeZone": "Europe/Berlin"},
            "data": {"train": "file:///data/cdnow.csv.gz"},
            "trainer": {"image": "refit-trainer:test", "args": ["--recipe", "daily-sales"]},
            "evaluation": {"metric": "rmse", "direction": "minimize"},
            "model": {"name": model_name(name)},
            "mlflow": {"trackingUri": tracking_uri},
            **spec,
        },
    }
    obj: dict[str, Any] = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "trainingpipelines", body
    )
    return obj


def set_status(
    custom: client.CustomObjectsApi, namespace: str, plural: str, name: str, status: dict[str, Any]
) -> None:
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, plural, name, {"status": status}
    )


def read(custom: client.CustomObjectsApi, namespace: str, plural: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, plural, name
    )
    return obj


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def register_versions(uri: str, model: str, rmses: list[float]) -> list[str]:
    """Versions of `model`, each from a run that logged the evaluation's candidate_rmse."""
    mlflow = MlflowClient(tracking_uri=uri)
    experiment = mlflow.create_experiment(f"cli-{model}")
    mlflow.create_registered_model(model)
    versions = []
    for i, rmse in enumerate(rmses):
        run = mlflow.create_run(experiment, tags={"refit.run": f"{model}-run-{i}"})
        mlflow.log_metric(run.info.run_id, "candidate_rmse", rmse)
        version = mlflow.create_model_version(
            model, f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        )
        versions.append(str(version.version))
    return versions


def alias(uri: str, model: str) -> str:
    return str(MlflowClient(tracking_uri=uri).get_model_version_by_alias(model, "champion").version)


# --- get and status -----------------------------------------------------------------------------


def test_get_shows_the_fleet_in_a_namespace_and_across_namespaces(
    cli: Any, custom: client.CustomObjectsApi, namespace: str, mlflow_server: str
) -> None:
    make_pipeline(custom, namespace, "daily-sales", mlflow_server)
    make_pipeline(custom, namespace, "churn", mlflow_server, schedule=None, suspend=True)
    now = datetime.now(UTC)
    set_status(
        custom,
        namespace,
        "trainingpipelines",
        "daily-sales",
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Reconciled",
                    "message": "",
                    "lastTransitionTime": iso(now),
                }
            ],
            "lastRun": {
                "name": "daily-sales-29000000",
                "phase": "Promoted",
                "completionTime": iso(now - timedelta(hours=3)),
            },
            "champion": {"version": "7", "metric": "rmse", "metricValue": 812.25},
            "lastDriftCheck": {"result": "NoDrift", "driftShare": 0.25},
            "nextScheduleTime": iso(now + timedelta(hours=5, minutes=1)),
        },
    )

    result = cli("get")
    assert result.exit_code == 0, result.output
    header, *rows = result.output.strip().splitlines()
    assert header.split()[:4] == ["NAME", "SCHEDULE", "LAST", "RUN"]
    sales = next(r for r in rows if r.startswith("daily-sales"))
    for expected in (
        "30 2 * * * Europe/Berlin",
        "daily-sales-29000000 (3h ago)",
        "Promoted",
        "v7",
        "rmse=812.2",
        "NoDrift 25%",
        "True",
        "in 5h",
    ):
        assert expected in sales, (expected, sales)
    churn = next(r for r in rows if r.startswith("churn"))
    assert "manual" in churn and "suspended" in churn

    everywhere = cli("get", "-A", ns=None)
    assert everywhere.exit_code == 0, everywhere.output
    assert everywhere.output.splitlines()[0].split()[0] == "NAMESPACE"
    assert any(
        line.split()[:2] == [namespace, "daily-sales"] for line in everywhere.output.splitlines()
    )


def test_status_shows_conditions_champion_runs_drift_per_feature_and_links(
    cli: Any, custom: client.CustomObjectsApi, namespace: str, mlflow_server: str
) -> None:
    tp = make_pipeline(custom, namespace, "churn", mlflow_server)
    model = tp["spec"]["model"]["name"]
    mlflow = MlflowClient(tracking_uri=mlflow_server)
    experiment = mlflow.create_experiment(f"drift-{model}")
    check = mlflow.create_run(experiment)
    report = {
        "schema": "refit.dev/drift-report/v1",
        "features": [
            {
                "feature": "tenure",
                "stattest": "wasserstein",
                "score": 0.42,
                "threshold": 0.1,
                "drifted": True,
                "status": "tested",
            },
            {
                "feature": "gender",
                "stattest": "jensenshannon",
                "score": 0.01,
                "threshold": 0.1,
                "drifted": False,
                "status": "tested",
            },
        ],
    }
    mlflow.log_text(check.info.run_id, json.dumps(report), "drift/report.json")
    now = datetime.now(UTC)
    set_status(
        custom,
        namespace,
        "trainingpipelines",
        "churn",
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Reconciled",
                    "message": "ok",
                    "lastTransitionTime": iso(now),
                },
                {
                    "type": "DriftDetected",
                    "status": "True",
                    "reason": "DatasetDrift",
                    "message": "1 of 2 features drifted",
                    "lastTransitionTime": iso(now),
                },
            ],
            "champion": {
                "version": "2",
                "metric": "rmse",
                "metricValue": 0.5,
                "promotedAt": iso(now),
                "trainingRun": "churn-d-1",
            },
            "championHistory": [{"version": "1", "promotedAt": iso(now - timedelta(days=1))}],
            "lastDriftCheck": {
                "result": "Drift",
                "driftShare": 0.5,
                "driftedFeatures": ["tenure"],
                "mlflowRunId": check.info.run_id,
                "time": iso(now),
            },
        },
    )
    run = custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "trainingruns",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "TrainingRun",
            "metadata": {"name": "churn-d-1", "labels": {"refit.dev/pipeline": "churn"}},
            "spec": {"pipelineRef": {"name": "churn"}, "trigger": {"type": "Drift"}},
        },
    )
    set_status(
        custom,
        namespace,
        "trainingruns",
        run["metadata"]["name"],
        {
            "phase": "Promoted",
            "candidate": {"version": "2", "metrics": {"rmse": 0.5}},
            "champion": {"version": "1", "metrics": {"rmse": 0.6}},
            "decision": {"promote": True, "reason": "CandidateWon", "message": "better"},
            "mlflowRunUrl": f"{mlflow_server}/#/experiments/1/runs/abc",
        },
    )

    result = cli("status", "churn")
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"TrainingPipeline {namespace}/churn" in out
    assert "DriftDetected" in out and "DatasetDrift" in out
    assert f"{model} version 2" in out and "rmse=0.5" in out
    assert f"{mlflow_server}/#/models/{model}/versions/2" in out
    assert "previous champions" in out and "v1" in out
    run_line = next(line for line in out.splitlines() if line.startswith("churn-d-1"))
    assert "Drift" in run_line and "Promoted" in run_line and "CandidateWon" in run_line
    assert f"{mlflow_server}/#/experiments/1/runs/abc" in out
    tenure = next(line for line in out.splitlines() if line.lstrip().startswith("tenure"))
    assert [cell.strip() for cell in tenure.split("│")] == [
        "tenure",
        "wasserstein",
        "0.42",
        "0.1",
        "yes",
    ]
    gender = next(line for line in out.splitlines() if line.lstrip().startswith("gender"))
    assert gender.split("│")[-1].strip() == "no"


# --- changes ------------------------------------------------------------------------------------


def test_trigger_creates_a_manual_run_snapshot_owned_by_the_pipeline(
    cli: Any, custom: client.CustomObjectsApi, namespace: str, mlflow_server: str
) -> None:
    tp = make_pipeline(
        custom, namespace, "daily-sales", mlflow_server, promotion={"mode": "Manual"}
    )
    before = datetime.now(UTC).replace(microsecond=0)
    result = cli("trigger", "daily-sales", "--reason", "new data landed")
    assert result.exit_code == 0, result.output
    name = result.output.strip().removeprefix("trainingrun/").removesuffix(" created")
    assert name.startswith("daily-sales-m-")
    assert int(name.rsplit("-", 1)[1]) >= int(before.timestamp())

    run = read(custom, namespace, "trainingruns", name)
    spec = run["spec"]
    assert spec["pipelineRef"] == {"name": "daily-sales"}
    assert spec["trigger"]["type"] == "Manual" and spec["trigger"]["reason"] == "new data landed"
    for field in ("data", "trainer", "evaluation", "model", "mlflow", "promotion"):
        assert spec[field] == {**tp["spec"][field], **spec[field]}, field
    assert spec["promotion"]["mode"] == "Manual"
    [owner] = run["metadata"]["ownerReferences"]
    assert owner["kind"] == "TrainingPipeline" and owner["uid"] == tp["metadata"]["uid"]
    assert owner["controller"] is True
    assert run["metadata"]["labels"] == {"team": "forecasting", "refit.dev/pipeline": "daily-sales"}


def test_approve_annotates_the_run_and_refuses_a_finished_one(
    cli: Any, custom: client.CustomObjectsApi, namespace: str, mlflow_server: str
) -> None:
    make_pipeline(custom, namespace, "daily-sales", mlflow_server, promotion={"mode": "Manual"})
    name = cli("trigger", "daily-sales").output.split()[0].removeprefix("trainingrun/")
    set_status(custom, namespace, "trainingruns", name, {"phase": "AwaitingApproval"})

    result = cli("approve", name)
    assert result.exit_code == 0, result.output
    assert "approved" in result.output
    annotations = read(custom, namespace, "trainingruns", name)["metadata"]["annotations"]
    assert annotations["refit.dev/approved"] == "true"

    set_status(custom, namespace, "trainingruns", name, {"phase": "Rejected"})
    refused = cli("approve", name)
    assert refused.exit_code == 1
    assert (
        refused.output.strip()
        == f'error: trainingrun "{name}" already finished (Rejected): nothing to approve'
    )


def test_promote_twice_then_rollback_moves_alias_and_status(
    cli: Any, custom: client.CustomObjectsApi, namespace: str, mlflow_server: str
) -> None:
    tp = make_pipeline(custom, namespace, "daily-sales", mlflow_server)
    model = tp["spec"]["model"]["name"]
    v1, v2, v3 = register_versions(mlflow_server, model, [900.0, 850.0, 800.0])

    first = cli("promote", "daily-sales", v1)
    assert first.exit_code == 0, first.output
    assert alias(mlflow_server, model) == v1
    second = cli("promote", "daily-sales", v2)
    assert second.exit_code == 0, second.output
    assert f"champion is now version {v2} (was version {v1})" in second.output
    assert alias(mlflow_server, model) == v2
    status = read(custom, namespace, "trainingpipelines", "daily-sales")["status"]
    assert status["champion"]["version"] == v2
    assert status["champion"]["metricValue"] == 850.0 and status["champion"]["metric"] == "rmse"
    assert status["champion"]["trainingRun"] == f"{model}-run-1"
    assert [c["version"] for c in status["championHistory"]] == [v1]
    promoted_at = datetime.fromisoformat(status["champion"]["promotedAt"].replace("Z", "+00:00"))

    back = cli("rollback", "daily-sales")
    assert back.exit_code == 0, back.output
    assert f"champion is version {v1} (was version {v2})" in back.output
    assert alias(mlflow_server, model) == v1
    status = read(custom, namespace, "trainingpipelines", "daily-sales")["status"]
    assert status["champion"]["version"] == v1 and status["championHistory"] == []
    # Stamped with the time of the rollback: the operator's pass does not undo it.
    restored_at = datetime.fromisoformat(status["champion"]["promotedAt"].replace("Z", "+00:00"))
    assert restored_at >= promoted_at
    tags = MlflowClient(tracking_uri=mlflow_server).get_model_version(model, v1).tags
    assert tags["refit.reason"] == "RolledBack"
    events = client.CoreV1Api(custom.api_client).list_namespaced_event(namespace).items
    assert {"ManualPromotion", "RolledBack"} <= {e.reason for e in events}

    again = cli("rollback", "daily-sales")
    assert again.exit_code == 1
    assert "nothing to roll back to" in again.output
    missing = cli("promote", "daily-sales", "99")
    assert missing.exit_code == 1
    assert (
        missing.output.strip()
        == f"error: model {model} has no version 99 in MLflow at {mlflow_server}"
    )
    assert v3  # registered, never promoted: the alias only moved where we asked


def test_suspend_and_resume_patch_spec_suspend(
    cli: Any, custom: client.CustomObjectsApi, namespace: str, mlflow_server: str
) -> None:
    make_pipeline(custom, namespace, "daily-sales", mlflow_server)
    assert cli("suspend", "daily-sales").output.strip() == "trainingpipeline/daily-sales suspended"
    assert read(custom, namespace, "trainingpipelines", "daily-sales")["spec"]["suspend"] is True
    assert cli("resume", "daily-sales").output.strip() == "trainingpipeline/daily-sales resumed"
    assert read(custom, namespace, "trainingpipelines", "daily-sales")["spec"]["suspend"] is False


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("status", "nope"),
        ("trigger", "nope"),
        ("approve", "nope"),
        ("promote", "nope", "1"),
        ("rollback", "nope"),
        ("suspend", "nope"),
        ("resume", "nope"),
    ],
)
def test_missing_object_is_one_line_and_exit_1(
    cli: Any, namespace: str, args: tuple[str, ...]
) -> None:
    result = cli(*args)
    assert result.exit_code == 1
    kind = "trainingrun" if args[0] == "approve" else "trainingpipeline"
    assert result.output == f'error: {kind} "nope" in namespace "{namespace}": not found\n'


def test_missing_crd_is_named(cli: Any, namespace: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A group this API server does not serve: exactly what it answers when the CRDs are missing.
    monkeypatch.setattr(connection, "GROUP", "absent.refit.dev")
    for args in (("get",), ("status", "daily-sales"), ("trigger", "daily-sales")):
        result = cli(*args)
        assert result.exit_code == 1, result.output
        assert result.output.startswith(
            "error: the Refit CRDs (absent.refit.dev/v1alpha1) are not installed in the cluster at https://127.0.0.1:"
        ), result.output
        assert len(result.output.splitlines()) == 1


def test_missing_cluster_and_missing_kubeconfig(cluster: Any, tmp_path: Path) -> None:
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(yaml.safe_dump(config))
    runner = CliRunner()
    result = runner.invoke(app, ["get", "--kubeconfig", str(dead)], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot reach the Kubernetes API at https://127.0.0.1:1")
    assert len(result.output.splitlines()) == 1

    absent = runner.invoke(
        app, ["get", "--kubeconfig", str(tmp_path / "none")], catch_exceptions=False
    )
    assert absent.exit_code == 1
    assert absent.output.startswith("error: no usable Kubernetes configuration")


def test_kubectl_plugin_entry_point_and_no_traceback(
    cluster: Any, custom: client.CustomObjectsApi, namespace: str, mlflow_server: str
) -> None:
    make_pipeline(custom, namespace, "daily-sales", mlflow_server)
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    ok = subprocess.run(
        [BIN / "kubectl-refit", "get", "-n", namespace],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "daily-sales" in ok.stdout
    missing = subprocess.run(
        [BIN / "kubectl-refit", "status", "absent", "-n", namespace],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert missing.returncode == 1
    assert (
        missing.stderr
        == f'error: trainingpipeline "absent" in namespace "{namespace}": not found\n'
    )
    assert "Traceback" not in missing.stderr + missing.stdout
