"""Bad data ends a Job with exit 3 and a one-line reason (stderr, termination log, MLflow
tag); a dead MLflow with exit 4; a misconfigured Job with exit 2.

These call `main()` in-process with the contract's env, which is the same code path as
`python -m refit_trainer` (test_jobs.py runs one bad-data case as a real subprocess)."""

from __future__ import annotations

import gzip
import socket
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from refit_trainer.__main__ import main
from refit_trainer.errors import EXIT_BAD_DATA, EXIT_MLFLOW, EXIT_USAGE

from .jobs import CDNOW, TELCO


@pytest.fixture
def job_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    for var in [v for v in __import__("os").environ if v.startswith(("MLFLOW_", "REFIT_"))]:
        monkeypatch.delenv(var)
    log = tmp_path / "termination-log"
    monkeypatch.setenv("REFIT_TERMINATION_LOG", str(log))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")

    def apply(**env: str) -> Path:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return log

    return apply


def _telco() -> pd.DataFrame:
    return pd.read_csv(TELCO)


def _raw(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _write(path: Path, frame: pd.DataFrame) -> str:
    frame.to_csv(path, index=False)
    return str(path)


BAD_TRAIN_DATA = {
    "empty file": (lambda p: _raw(p, b""), "churn", "is empty"),
    "empty gzip": (lambda p: _raw(p, gzip.compress(b"")), "churn", "is empty"),
    "header only": (lambda p: _raw(p, b"churn,tenure\n"), "churn", "no rows"),
    "missing columns": (
        lambda p: _write(p, _telco().drop(columns=["churn"])),
        "churn",
        "missing required column(s): churn",
    ),
    "all-NaN column": (
        lambda p: _write(p, _telco().assign(monthly_charges=float("nan"))),
        "churn",
        "no values at all: monthly_charges",
    ),
    "single class": (
        lambda p: _write(p, _telco().assign(churn="No")),
        "churn",
        "single class",
    ),
    "non-UTF-8": (
        lambda p: _raw(p, "churn,x\nYes,caf\xe9\n".encode("latin-1")),
        "churn",
        "not UTF-8",
    ),
    "no sales before cutoff": (lambda p: str(CDNOW), "daily-sales", "no purchase before"),
    "missing file": (lambda p: str(p.with_name("nope.csv")), "churn", "data not found"),
}


@pytest.mark.parametrize("case", sorted(BAD_TRAIN_DATA))
def test_bad_training_data_exits_3_with_one_line_reason(
    case: str, mlflow_server: str, job_env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, recipe, expected = BAD_TRAIN_DATA[case]
    data = make(tmp_path / "train.csv")
    run_id = mlflow.MlflowClient(mlflow_server).create_run("0").info.run_id
    log = job_env(
        MLFLOW_TRACKING_URI=mlflow_server,
        MLFLOW_RUN_ID=run_id,
        REFIT_TRAIN_DATA=data,
        REFIT_SCHEDULED_TIME="1990-01-01T00:00:00Z",
    )

    assert main(["train", "--recipe", recipe]) == EXIT_BAD_DATA

    stderr_lines = [
        ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("refit-trainer:")
    ]
    assert len(stderr_lines) == 1
    reason = stderr_lines[0].removeprefix("refit-trainer: ")
    assert expected in reason
    assert log.read_text(encoding="utf-8") == reason + "\n"
    run = mlflow.MlflowClient(mlflow_server).get_run(run_id)
    assert run.data.tags["refit.failure_reason"] == reason
    assert run.info.status == "FAILED"


def test_validation_set_without_rows_exits_3(
    mlflow_server: str, job_env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    validation = tmp_path / "validation.csv"
    validation.write_text(",".join(_telco().columns) + "\n")
    run_id = mlflow.MlflowClient(mlflow_server).create_run("0").info.run_id
    job_env(
        MLFLOW_TRACKING_URI=mlflow_server,
        MLFLOW_RUN_ID=run_id,
        REFIT_TRAIN_DATA=str(TELCO),
        REFIT_VALIDATION_DATA=str(validation),
    )
    assert main(["train", "--recipe", "churn"]) == EXIT_BAD_DATA
    assert "no rows" in capsys.readouterr().err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_mlflow_exits_4_before_reading_data(
    job_env, capsys: pytest.CaptureFixture[str]
) -> None:
    log = job_env(
        MLFLOW_TRACKING_URI=f"http://127.0.0.1:{_closed_port()}",
        MLFLOW_RUN_ID="0123456789abcdef0123456789abcdef",
        REFIT_TRAIN_DATA=str(TELCO),
    )
    assert main(["train", "--recipe", "churn"]) == EXIT_MLFLOW
    reason = capsys.readouterr().err.strip().splitlines()[-1]
    assert "MLflow" in reason
    assert log.read_text(encoding="utf-8").strip() == reason.removeprefix("refit-trainer: ")


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (
            ["train", "--recipe", "churn"],
            {"REFIT_TRAIN_DATA": str(TELCO)},
            "MLFLOW_TRACKING_URI is not set",
        ),
        (["train", "--recipe", "nope"], {"MLFLOW_TRACKING_URI": "http://x"}, "unknown recipe"),
        (["train", "--recipe", "churn"], {"MLFLOW_TRACKING_URI": "http://x"}, "REFIT_TRAIN_DATA"),
        (
            ["train", "--recipe", "churn"],
            {"REFIT_SCHEDULED_TIME": "yesterday"},
            "not an RFC 3339 timestamp",
        ),
        (["evaluate"], {"MLFLOW_TRACKING_URI": "http://x"}, "MLFLOW_RUN_ID is not set"),
        (["drift"], {}, "REFIT_REFERENCE_DATA"),
        (
            ["drift", "--reference", "a", "--current", "b", "--config", '{"driftshare": 1}'],
            {},
            "unknown drift option",
        ),
    ],
)
def test_configuration_errors_exit_2(
    argv: list[str], env: dict[str, str], expected: str, job_env, capsys: pytest.CaptureFixture[str]
) -> None:
    job_env(**env)
    assert main(argv) == EXIT_USAGE
    assert expected in capsys.readouterr().err


def test_drift_on_an_empty_current_file_exits_3(
    job_env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "current.csv"
    empty.write_text(",".join(_telco().columns) + "\n")
    job_env(REFIT_REFERENCE_DATA=str(TELCO), REFIT_CURRENT_DATA=str(empty))
    assert main(["drift"]) == EXIT_BAD_DATA
    assert "current data has no rows" in capsys.readouterr().err
