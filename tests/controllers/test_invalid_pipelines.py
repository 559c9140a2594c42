"""Manifests the schema accepts but the operator cannot use: Ready=False with a reason and an
event, nothing started, and the operator keeps serving the other pipelines."""

from __future__ import annotations

import yaml
from operator_harness import REPO, OperatorProcess, Refit, pipeline_body, wait_for

MALFORMED = REPO / "tests" / "manifests" / "malformed"
CASES = {
    "02-cron-minute-out-of-range": ("InvalidSchedule", "spec.schedule.cron"),
    "03-unknown-time-zone": ("InvalidTimeZone", "spec.schedule.timeZone"),
    "28-cron-day-of-week-8": ("InvalidSchedule", "spec.schedule.cron"),
}


def test_semantic_errors_surface_as_ready_false(
    refit: Refit, operator_process: OperatorProcess
) -> None:
    for index, stem in enumerate(CASES):
        doc = yaml.safe_load((MALFORMED / f"{stem}.yaml").read_text())
        doc["metadata"]["name"] = f"bad-{index}"
        refit.apply_pipeline(doc)
    refit.apply_pipeline(pipeline_body("good", schedule={"cron": "0 0 1 1 *"}))

    for index, (reason, field) in enumerate(CASES.values()):
        name = f"bad-{index}"
        cond = wait_for(
            f"{name} Ready=False",
            lambda name=name: (
                (c := refit.condition(refit.pipeline(name), "Ready"))
                and c["status"] == "False"
                and c
            ),
        )
        assert cond["reason"] == reason and field in cond["message"], cond
        assert any(e.reason == reason and e.involved_object.name == name for e in refit.events())
    wait_for(
        "good Ready",
        lambda: (c := refit.condition(refit.pipeline("good"), "Ready")) and c["status"] == "True",
    )
    assert refit.runs() == [] and refit.jobs() == []
    assert operator_process.alive_and_healthy()
