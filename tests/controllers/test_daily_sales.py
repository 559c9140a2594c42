"""Daily sales end to end: a schedule tick → one run → real training and evaluation Jobs →
the first model promoted → a candidate that is not better rejected with a reason."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta

from cluster.binaries import binaries
from cluster.controlplane import ClusterState
from operator_harness import OperatorProcess, Refit, pipeline_body, wait_for


def next_tick() -> datetime:
    """A minute far enough ahead that the pipeline exists before it."""
    now = datetime.now(UTC)
    tick = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return tick + timedelta(minutes=1) if (tick - now).total_seconds() < 20 else tick


def once_at(tick: datetime) -> str:
    return f"{tick.minute} {tick.hour} {tick.day} {tick.month} *"


def metric_value(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_scheduled_run_promotes_first_model_then_rejects_one_that_is_not_better(
    refit: Refit, operator_process: OperatorProcess, cluster: ClusterState
) -> None:
    tick = next_tick()
    body = pipeline_body(
        "sales",
        schedule={"cron": once_at(tick), "timeZone": "UTC"},
        evaluation={
            "metric": "rmse",
            "direction": "minimize",
            "minImprovement": {"relative": 0.01},
        },
    )
    refit.apply_pipeline(body)
    ready = wait_for(
        "Ready=True",
        lambda: (
            (c := refit.condition(refit.pipeline("sales"), "Ready")) and c["status"] == "True" and c
        ),
    )
    assert ready["reason"] == "Reconciled"
    assert refit.pipeline("sales")["status"]["nextScheduleTime"].startswith(
        tick.strftime("%Y-%m-%dT%H:%M")
    )

    expected = f"sales-{int(tick.timestamp()) // 60}"
    wait_for(
        f"run {expected}",
        lambda: [r for r in refit.runs() if r["metadata"]["name"] == expected],
        timeout=150,
    )
    run = wait_for(f"{expected} to finish", lambda: refit.terminal_run(expected), timeout=400)
    status = run["status"]
    assert status["phase"] == "Promoted", status
    assert status["decision"]["reason"] == "NoChampion"
    assert run["spec"]["trigger"]["type"] == "Schedule"
    assert run["spec"]["trigger"]["scheduledTime"].startswith(tick.strftime("%Y-%m-%dT%H:%M"))
    assert status["candidate"]["version"] == "1"
    rmse = status["candidate"]["metrics"]["rmse"]
    assert rmse > 0
    jobs = {j.metadata.name: j for j in refit.jobs()}
    assert set(jobs) == {f"{expected}-train", f"{expected}-eval"}
    assert all(j.status.succeeded == 1 for j in jobs.values())
    assert len(refit.runs()) == 1  # exactly one run for the tick

    pipeline = wait_for(
        "pipeline champion",
        lambda: (p := refit.pipeline("sales")).get("status", {}).get("champion") and p,
    )
    assert pipeline["status"]["champion"]["version"] == "1"
    assert abs(pipeline["status"]["champion"]["metricValue"] - rmse) < 1e-9
    assert refit.condition(pipeline, "Promoted")["status"] == "True"  # type: ignore[index]

    kubectl = str(binaries().kubectl)
    kube = ["--kubeconfig", str(cluster.kubeconfig), "-n", refit.namespace]
    waited = subprocess.run(
        [kubectl, *kube, "wait", "--for=condition=Promoted", "tp/sales", "--timeout=60s"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert waited.returncode == 0, waited.stderr
    table = subprocess.run(
        [kubectl, *kube, "get", "tp"], capture_output=True, text=True, check=True
    ).stdout
    header, row = table.splitlines()[:2]
    for column in ("SCHEDULE", "LAST RUN", "CHAMPION", "METRIC", "VALUE", "DRIFT", "READY", "AGE"):
        assert column in header
    assert expected in row and re.search(r"\b1\b", row) and "rmse" in row and "True" in row

    # A manual run trains on the same data: not 1% better, so it is rejected with the numbers.
    refit.create_run("sales-manual", "sales", reason="test")
    second = wait_for(
        "manual run to finish", lambda: refit.terminal_run("sales-manual"), timeout=400
    )
    assert second["status"]["phase"] == "Rejected", second["status"]
    decision = second["status"]["decision"]
    assert decision["reason"] == "NotBetter" and "rmse" in decision["message"]
    assert second["spec"]["trainer"]["args"] == ["--recipe", "daily-sales"]  # snapshot filled in
    pipeline = wait_for(
        "Promoted=False",
        lambda: (
            (p := refit.pipeline("sales"))
            and (c := refit.condition(p, "Promoted"))
            and c["status"] == "False"
            and p
        ),
    )
    assert refit.condition(pipeline, "Promoted")["reason"] == "NotBetter"  # type: ignore[index]
    assert pipeline["status"]["champion"]["version"] == "1"

    for reason in ("RunCreated", "NoChampion", "NotBetter"):
        refit.await_events(reason, lambda e, r=reason: e.reason == r)
    text = operator_process.metrics()
    labels = {"namespace": refit.namespace, "pipeline": "sales"}
    assert (
        metric_value(text, "refit_runs_total", **labels, trigger="Schedule", result="Promoted")
        == 1.0
    )
    assert (
        metric_value(text, "refit_runs_total", **labels, trigger="Manual", result="Rejected") == 1.0
    )
    assert metric_value(text, "refit_promotions_total", **labels) == 1.0
