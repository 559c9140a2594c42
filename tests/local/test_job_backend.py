"""LocalJobBackend: a Job is the process of its manifest's container, with the contract env."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from refit.api.enums import TriggerType
from refit.api.pipeline import TrainingPipeline
from refit.core.job_spec import JobRequest, Step, contract_env, run_job_request
from refit.core.run_snapshot import snapshot_run
from refit.core.run_state import JobObservation, JobState
from refit.local.executors import ProcessExecutor, WarmExecutor
from refit.local.job_backend import LocalJobBackend

TICK = datetime(1997, 6, 2, tzinfo=UTC)
FAKE_TRAINER = """
import json, os, sys, time
mode = sys.argv[1]
if mode == "env":
    with open(sys.argv[2], "w") as out:
        json.dump({"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}, out)
elif mode == "fail":
    print("some progress")
    with open(os.environ["REFIT_TERMINATION_LOG"], "w") as log:
        log.write("the data has no rows\\n")
    sys.exit(3)
elif mode == "sleep":
    time.sleep(30)
"""


def request_for(tmp_path: Path, *args: str, **trainer: Any) -> JobRequest:
    script = tmp_path / "fake_trainer.py"
    script.write_text(FAKE_TRAINER)
    tp = TrainingPipeline.model_validate(
        {
            "apiVersion": "refit.dev/v1alpha1",
            "kind": "TrainingPipeline",
            "metadata": {"name": "sales", "namespace": "shop"},
            "spec": {
                "data": {"train": "file:///data/train.csv", "validation": "file:///data/v.csv"},
                "trainer": {
                    "image": "ignored:locally",
                    "command": [sys.executable, str(script)],
                    "args": list(args),
                    **trainer,
                },
                "evaluation": {"metric": "rmse", "direction": "minimize"},
                "model": {"name": "sales"},
            },
        }
    )
    run = snapshot_run(tp, "sales-1", TriggerType.SCHEDULE, TICK, "test")
    return run_job_request(run, "sales-1-train", Step.TRAIN, "mlflow-run-1", "sqlite:///x.db")


def finish(backend: LocalJobBackend, name: str) -> JobObservation:
    while backend.wait():
        pass
    return backend.observe()[name]


def test_the_process_gets_argv_and_exactly_the_contract_env(tmp_path: Path) -> None:
    dump = tmp_path / "seen.json"
    request = request_for(tmp_path, "env", str(dump), env=[{"name": "LITERAL", "value": "42"}])
    shell = {
        "PATH": "/usr/bin",
        "HOME": "/home/x",
        "REFIT_RUN": "leaked",
        "MLFLOW_RUN_ID": "leaked",
    }
    backend = LocalJobBackend(
        lambda *_: request, ProcessExecutor(), tmp_path, cwd=tmp_path, environ=shell
    )
    assert (
        backend.create("sales-1-train", Step.TRAIN, "mlflow-run-1", False).state is JobState.ACTIVE
    )
    assert finish(backend, "sales-1-train") == JobObservation(JobState.SUCCEEDED)

    seen = json.loads(dump.read_text())
    assert seen["argv"] == ["env", str(dump)]
    env = seen["env"]
    for key, value in contract_env(request).items():
        assert env[key] == value, key
    assert env["REFIT_SCHEDULED_TIME"] == "1997-06-02T00:00:00Z"
    assert env["REFIT_RUN"] == "sales-1" and env["MLFLOW_RUN_ID"] == "mlflow-run-1"
    assert env["LITERAL"] == "42" and env["HOME"] == "/home/x"
    assert env["REFIT_TERMINATION_LOG"] == str(tmp_path / "sales-1-train.termination-log")
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert Path(seen["cwd"]) == tmp_path


def test_a_failing_process_fails_the_job_with_its_termination_message(tmp_path: Path) -> None:
    backend = LocalJobBackend(lambda *_: request_for(tmp_path, "fail"), ProcessExecutor(), tmp_path)
    backend.create("sales-1-train", Step.TRAIN, "m", False)
    seen = finish(backend, "sales-1-train")
    assert seen == JobObservation(JobState.FAILED, "exit code 3", "the data has no rows")
    assert "some progress" in (tmp_path / "sales-1-train.log").read_text()
    # AlreadyExists is success: creating again observes the same Job, it does not rerun it.
    assert backend.create("sales-1-train", Step.TRAIN, "m", False) == seen


def test_secret_references_come_from_the_environment_or_fail_the_start(tmp_path: Path) -> None:
    secret = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]
    request = request_for(tmp_path, "env", str(tmp_path / "seen.json"), env=secret)
    backend = LocalJobBackend(lambda *_: request, ProcessExecutor(), tmp_path, environ={})
    seen = backend.create("sales-1-train", Step.TRAIN, "m", False)
    assert seen.state is JobState.FAILED and seen.reason == "StartError"
    assert seen.message == (
        "env TOKEN comes from secretKeyRef, which a local run cannot read: "
        "set TOKEN in your environment"
    )
    backend = LocalJobBackend(
        lambda *_: request, ProcessExecutor(), tmp_path, environ={"TOKEN": "t0k"}
    )
    backend.create("sales-1-train", Step.TRAIN, "m", False)
    assert finish(backend, "sales-1-train").state is JobState.SUCCEEDED
    assert json.loads((tmp_path / "seen.json").read_text())["env"]["TOKEN"] == "t0k"


def test_a_missing_executable_and_a_deadline_fail_the_job(tmp_path: Path) -> None:
    request = request_for(tmp_path, command=["/nonexistent/trainer"])
    backend = LocalJobBackend(lambda *_: request, ProcessExecutor(), tmp_path)
    seen = backend.create("sales-1-train", Step.TRAIN, "m", False)
    assert seen.state is JobState.FAILED and "cannot start '/nonexistent/trainer'" in str(
        seen.message
    )

    slow = request_for(tmp_path, "sleep", activeDeadlineSeconds=1)
    backend = LocalJobBackend(lambda *_: slow, ProcessExecutor(), tmp_path)
    backend.create("sales-1-train", Step.TRAIN, "m", False)
    seen = finish(backend, "sales-1-train")
    assert seen.state is JobState.FAILED and seen.reason == "DeadlineExceeded"


def test_warm_worker_runs_the_console_script_with_each_jobs_own_env(
    warm: WarmExecutor, tmp_path: Path
) -> None:
    data = tmp_path / "t.csv"
    data.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(60)))
    report = tmp_path / "report.json"
    ok_env = {
        "PATH": os.environ["PATH"],
        "REFIT_REFERENCE_DATA": str(data),
        "REFIT_CURRENT_DATA": str(data),
        "REFIT_TERMINATION_LOG": str(tmp_path / "a.termination-log"),
    }
    handle = warm.start(
        ["refit-trainer", "drift", "--report", str(report)], ok_env, tmp_path / "a.log", tmp_path
    )
    assert handle.wait(120) == 0, (tmp_path / "a.log").read_text()
    assert json.loads(report.read_text())["dataset"]["dataset_drift"] is False
    assert "no drift" in (tmp_path / "a.log").read_text()

    # The next Job starts from its own environment only: nothing of the first one leaks.
    bare = {
        "PATH": os.environ["PATH"],
        "REFIT_TERMINATION_LOG": str(tmp_path / "b.termination-log"),
    }
    handle = warm.start(["refit-trainer", "drift"], bare, tmp_path / "b.log", tmp_path)
    assert handle.wait(120) == 2
    assert "REFIT_REFERENCE_DATA" in (tmp_path / "b.termination-log").read_text()
    worker = warm.workers[0]
    pid = worker.process.pid if worker.process else None

    # A command that is not a console script runs as a fresh process instead.
    handle = warm.start(
        [sys.executable, "-c", "import sys; sys.exit(7)"], bare, tmp_path / "c.log", tmp_path
    )
    assert handle.wait(60) == 7
    assert worker.process is not None and worker.process.pid == pid
