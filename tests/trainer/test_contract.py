"""Reading the Job contract from the environment, and the termination-log rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from refit_trainer.__main__ import termination_log_path
from refit_trainer.contract import JobContext, parse_rfc3339_utc
from refit_trainer.errors import UsageError, one_line


def test_context_reads_every_contract_variable() -> None:
    ctx = JobContext.from_env(
        {
            "MLFLOW_TRACKING_URI": "http://mlflow:5000",
            "MLFLOW_EXPERIMENT_NAME": "ml/sales",
            "MLFLOW_RUN_ID": "abc",
            "REFIT_PIPELINE": "sales",
            "REFIT_RUN": "sales-28391000",
            "REFIT_NAMESPACE": "ml",
            "REFIT_TRIGGER": "Drift",
            "REFIT_SCHEDULED_TIME": "2024-03-31T01:30:00+02:00",
            "REFIT_TRAIN_DATA": "s3://b/train.parquet",
            "REFIT_VALIDATION_DATA": " ",
            "REFIT_MODEL_NAME": "sales",
        }
    )
    assert ctx.scheduled_time == datetime(2024, 3, 30, 23, 30, tzinfo=UTC)
    assert ctx.validation_data is None  # blank means unset
    assert ctx.champion_alias == "champion"
    assert ctx.identity_tags() == {
        "refit.pipeline": "sales",
        "refit.run": "sales-28391000",
        "refit.namespace": "ml",
        "refit.trigger": "Drift",
        "refit.scheduled_time": "2024-03-30T23:30:00Z",
    }


@pytest.mark.parametrize("text", ["2024-05-01", "2024-05-01T00:00:00", "tomorrow"])
def test_scheduled_time_must_be_rfc3339_with_offset(text: str) -> None:
    with pytest.raises(UsageError):
        parse_rfc3339_utc(text)


def test_z_suffix_is_utc() -> None:
    assert parse_rfc3339_utc("1998-03-01T00:00:00Z") == datetime(1998, 3, 1, tzinfo=UTC)


def test_termination_log_defaults_only_where_kubernetes_mounted_it(tmp_path: Path) -> None:
    assert termination_log_path(str(tmp_path / "x")) == tmp_path / "x"
    expected = Path("/dev/termination-log") if Path("/dev/termination-log").exists() else None
    assert termination_log_path(None) == expected


def test_reasons_are_one_bounded_line() -> None:
    assert one_line("a\nb\t c") == "a b c"
    assert len(one_line("x" * 5000)) == 1000
