"""The operator was down for three days of a five-minute schedule (864 ticks): when it comes
back, the missed-run policy (RunLatest, the default) starts one catch-up run, not a storm, and an
event names how many ticks were missed. Real operator process and control plane.

The gap is made on the real cluster: the pipeline is created while no operator runs and its
status.lastScheduleTime is set to three days ago, as an operator that stopped then left it
(the operator has no clock offset to inject, and needs none).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cluster.controlplane import ClusterState
from kubernetes import client
from operator_harness import GROUP, VERSION, OperatorProcess, Refit, pipeline_body, wait_for

TICK = timedelta(minutes=5)
GAP = timedelta(days=3)
WINDOW_SECONDS = 45
# A run that stays active through the window: Forbid (the default) then skips new ticks too.
SLEEPER = {
    "image": "busybox",
    "command": ["python", "-c", "import time; time.sleep(900)"],
    "backoffLimit": 0,
}


def ticks_between(after: datetime, until: datetime) -> int:
    """How many */5 ticks fall in (after, until]."""
    step = int(TICK.total_seconds())
    return int(until.timestamp()) // step - int(after.timestamp()) // step


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_three_days_down_then_one_catch_up_run(
    refit: Refit,
    cluster: ClusterState,
    mlflow_server: str,
    namespace: str,
    api_client: client.ApiClient,
    tmp_path: Path,
) -> None:
    refit.apply_pipeline(pipeline_body("gap", schedule={"cron": "*/5 * * * *"}, trainer=SLEEPER))
    now = datetime.now(UTC)
    last = datetime.fromtimestamp(
        (int((now - GAP).timestamp()) // int(TICK.total_seconds())) * TICK.total_seconds(), UTC
    )
    refit.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        "trainingpipelines",
        "gap",
        {"status": {"lastScheduleTime": stamp(last), "nextScheduleTime": stamp(last + TICK)}},
    )

    log = tmp_path / "operator.log"
    started = datetime.now(UTC)
    operator = OperatorProcess(cluster, namespace, mlflow_server, log).start()
    try:
        first = wait_for("the catch-up run", refit.runs, timeout=180)[0]
        seen = datetime.now(UTC)

        # No storm: watch the namespace for a while; never more than one run or one Job.
        most_runs, most_jobs = 0, 0
        end = time.monotonic() + WINDOW_SECONDS
        while time.monotonic() < end:
            most_runs = max(most_runs, len(refit.runs()))
            most_jobs = max(most_jobs, len(refit.jobs()))
            time.sleep(2)
        assert (most_runs, most_jobs) == (1, 1)

        # RunLatest: the one run is for the latest tick that was due when the operator decided.
        scheduled = datetime.fromisoformat(first["spec"]["trigger"]["scheduledTime"])
        assert first["spec"]["trigger"]["type"] == "Schedule"
        assert last < scheduled <= seen
        assert seen - scheduled <= TICK + (seen - started)

        # An event says how many ticks were not run: all due ticks but the one that ran.
        low, high = ticks_between(last, started) - 1, ticks_between(last, seen) - 1
        missed_events = refit.await_events("MissedSchedule", lambda e: e.reason == "MissedSchedule")
        counts = [int(m.group(1)) for e in missed_events if (m := re.match(r"(\d+) ", e.message))]
        assert low <= counts[0] <= high and low >= 860, (low, high, missed_events[0].message)
        assert refit.pipeline("gap")["status"]["missedSchedules"] >= counts[0]
    finally:
        operator.stop()
        print(f"--- operator log ({log}) ---\n{operator.log_tail(40)}")
