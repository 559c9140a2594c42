"""refit.core.names: deterministic, distinct, valid names within Kubernetes limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refit.api.enums import TriggerType
from refit.core.names import (
    MAX_RUN_NAME_LENGTH,
    JobStep,
    drift_check_job_name,
    evaluation_attempt,
    job_name,
    run_name,
    unix_minutes,
)

LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
TICK = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # unix minutes 29538840
LONG = "a-very-long-pipeline-name-that-goes-on-and-on-for-the-whole-253-characters-" * 3


def valid(name: str, limit: int = 63) -> bool:
    return bool(LABEL.match(name)) and len(name) <= limit


@pytest.mark.parametrize(
    ("pipeline", "trigger", "expected"),
    [
        ("daily-sales", TriggerType.SCHEDULE, "daily-sales-29538840"),
        ("daily-sales", TriggerType.DRIFT, "daily-sales-d-29538840"),
        ("daily-sales", TriggerType.MANUAL, "daily-sales-m-1772330400"),
    ],
)
def test_run_names_like_cronjob(pipeline: str, trigger: TriggerType, expected: str) -> None:
    assert unix_minutes(TICK) == 29538840
    assert run_name(pipeline, TICK, trigger) == expected


def test_job_names() -> None:
    run = run_name("churn", TICK)
    assert job_name(run, JobStep.TRAIN) == "churn-29538840-train"
    assert job_name(run, JobStep.EVAL) == "churn-29538840-eval"
    assert job_name(run, JobStep.EVAL, 2) == "churn-29538840-eval-2"
    assert drift_check_job_name("churn", TICK) == "churn-drift-29538840"
    with pytest.raises(ValueError, match="attempt"):
        job_name(run, JobStep.EVAL, 0)


def test_stable_and_distinct() -> None:
    times = [TICK + timedelta(minutes=i) for i in range(500)]
    names = [run_name("p", t) for t in times]
    assert names == [run_name("p", t) for t in times]
    assert len(set(names)) == len(names)
    # The same instant in another zone is the same tick, the same name.
    assert run_name("p", TICK.astimezone(datetime.now(UTC).astimezone().tzinfo)) == run_name(
        "p", TICK
    )
    kinds = {run_name("p", TICK, trigger) for trigger in TriggerType}
    assert len(kinds) == 3


def test_long_and_dotted_pipeline_names_are_shortened_with_a_hash() -> None:
    long_run = run_name(LONG, TICK)
    assert valid(long_run, MAX_RUN_NAME_LENGTH) and long_run.endswith("-29538840")
    other = run_name(LONG + "x", TICK)  # same 40-character prefix, different pipeline
    assert other != long_run and other[:30] == long_run[:30]
    dotted = run_name("team.sales", TICK)
    assert valid(dotted) and dotted != run_name("team-sales", TICK)
    assert job_name(long_run, JobStep.EVAL, 99).endswith("-eval-99")
    assert valid(job_name(long_run, JobStep.EVAL, 99))
    assert valid(drift_check_job_name(LONG, TICK))
    # A run created by hand may have any object name, up to 253 characters.
    assert valid(job_name(LONG + "z", JobStep.TRAIN))


def test_evaluation_attempt_reads_back_job_names() -> None:
    for run in ("churn-29538840", run_name(LONG, TICK), "x" * 200):
        for attempt in (1, 2, 7, 42):
            assert evaluation_attempt(run, job_name(run, JobStep.EVAL, attempt)) == attempt
        assert evaluation_attempt(run, job_name(run, JobStep.TRAIN)) == 0
        assert evaluation_attempt(run, None) == 0
        assert evaluation_attempt(run, "something-else-eval") == 0


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run_name("p", datetime(2026, 1, 1))


pipeline_names = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    pipeline=pipeline_names,
    minutes=st.integers(0, 10**8),
    trigger=st.sampled_from(list(TriggerType)),
    step=st.sampled_from(list(JobStep)),
    attempt=st.integers(1, 99),
)
def test_property_every_name_is_a_valid_label(
    pipeline: str, minutes: int, trigger: TriggerType, step: JobStep, attempt: int
) -> None:
    moment = datetime.fromtimestamp(minutes * 60, UTC)
    run = run_name(pipeline, moment, trigger)
    assert valid(run, MAX_RUN_NAME_LENGTH), run
    assert valid(job_name(run, step, attempt)), job_name(run, step, attempt)
    assert valid(drift_check_job_name(pipeline, moment))
    assert run_name(pipeline, moment + timedelta(minutes=1), trigger) != run
