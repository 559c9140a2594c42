"""Which schedule ticks to run now, which were missed, and when to wake up next.

The pipeline controller calls `decide_scheduled_runs` on every reconcile with the last handled
tick (`status.lastScheduleTime`, or the pipeline's creation time before the first one). Every tick
in the window (last, now] is *due*; this module decides its fate:

* The *current* tick is the latest due tick when the operator wakes within `grace` of it (default
  60s, or the starting deadline when that is shorter). Every other due tick is *missed*: the
  operator was down, slow, or the pipeline was suspended.
* A tick more than `startingDeadlineSeconds` old is never started, whatever the policy (unset:
  no deadline).
* `RunLatest` (default, like CronJob): run the latest due tick if it is within the deadline,
  current or not; older ticks are missed.
* `Skip`: run only the current tick; missed ticks are counted and dropped, never caught up.
* `RunAll`: run the current tick plus the latest `maxMissedRuns` missed ticks within the deadline,
  oldest first; older ones are dropped. Never a storm: at most maxMissedRuns + 1 runs at once.

`missed` counts every due tick that is not run, exactly, without enumerating them (a years-long
outage of `* * * * *` is counted day by day). The new `last_schedule_time` is the latest due tick
(run or not), so a tick is decided exactly once. Run names derive from the scheduled time, so
replaying a decision after a crash creates nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from refit.api.enums import MissedRunPolicy
from refit.api.pipeline import ScheduleSpec
from refit.core.schedule import Schedule, count_fires_between, fire_times_between, next_fire

__all__ = ["DEFAULT_GRACE", "MissedRunDecision", "decide_for_spec", "decide_scheduled_runs"]

DEFAULT_GRACE: Final = timedelta(seconds=60)


@dataclass(frozen=True)
class MissedRunDecision:
    """What to do about the schedule at `now`."""

    run_times: tuple[datetime, ...]
    """Scheduled times to create runs for now, oldest first (UTC)."""
    missed: int
    """Due ticks that will not run (late beyond grace or deadline, dropped by policy or cap)."""
    last_schedule_time: datetime | None
    """The new status.lastScheduleTime: the latest due tick, or the old value when none is due."""
    next_schedule_time: datetime | None
    """The next tick strictly after now: when to wake up (None while suspended)."""
    message: str
    """One line for events and logs, e.g. "2 ticks missed; running 10:05 (RunLatest)"."""


def decide_scheduled_runs(
    schedule: Schedule,
    *,
    now: datetime,
    last_schedule_time: datetime | None,
    created_at: datetime,
    policy: MissedRunPolicy = MissedRunPolicy.RUN_LATEST,
    starting_deadline_seconds: int | None = None,
    max_missed_runs: int = 5,
    grace: timedelta = DEFAULT_GRACE,
    suspended: bool = False,
) -> MissedRunDecision:
    """Decide the runs due at `now` (see the module docstring for the policies)."""
    if suspended:
        # Ticks during a suspension stay undecided; on resume they are handled like an outage.
        return MissedRunDecision((), 0, last_schedule_time, None, "suspended: no runs are started")
    since = last_schedule_time or created_at
    following = next_fire(schedule, max(now, since))
    latest = fire_times_between(schedule, since, now, limit=1, newest=True)
    if not latest:
        return MissedRunDecision((), 0, last_schedule_time, following, "no tick due")

    deadline = (
        None if starting_deadline_seconds is None else timedelta(seconds=starting_deadline_seconds)
    )
    effective_grace = grace if deadline is None else min(grace, deadline)
    newest = latest[0]
    current = newest if now - newest <= effective_grace else None
    due_count = count_fires_between(schedule, since, now)
    # Missed ticks a policy may start: within the deadline, newest last; bounded by the cap.
    window_start = (
        since if deadline is None else max(since, now - deadline - timedelta(microseconds=1))
    )
    missed_end = newest - timedelta(microseconds=1) if current is not None else now

    runs: list[datetime]
    if policy is MissedRunPolicy.SKIP:
        runs = [current] if current is not None else []
    elif policy is MissedRunPolicy.RUN_ALL:
        catch_up = fire_times_between(
            schedule, window_start, missed_end, limit=max_missed_runs, newest=True
        )
        runs = catch_up + ([current] if current is not None else [])
    else:  # RunLatest
        runs = [newest] if deadline is None or now - newest <= deadline else []

    missed = due_count - len(runs)
    return MissedRunDecision(
        run_times=tuple(runs),
        missed=missed,
        last_schedule_time=newest,
        next_schedule_time=following,
        message=_message(policy, runs, missed, newest, now, deadline),
    )


def decide_for_spec(
    spec: ScheduleSpec,
    schedule: Schedule,
    *,
    now: datetime,
    last_schedule_time: datetime | None,
    created_at: datetime,
    suspended: bool = False,
    grace: timedelta = DEFAULT_GRACE,
) -> MissedRunDecision:
    """`decide_scheduled_runs` with the policy fields of a pipeline's `spec.schedule`."""
    return decide_scheduled_runs(
        schedule,
        now=now,
        last_schedule_time=last_schedule_time,
        created_at=created_at,
        policy=spec.missed_run_policy,
        starting_deadline_seconds=spec.starting_deadline_seconds,
        max_missed_runs=spec.max_missed_runs,
        grace=grace,
        suspended=suspended,
    )


def _message(
    policy: MissedRunPolicy,
    runs: list[datetime],
    missed: int,
    newest: datetime,
    now: datetime,
    deadline: timedelta | None,
) -> str:
    started = ", ".join(t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in runs)
    parts: list[str] = []
    if missed:
        parts.append(f"{missed} tick{'s' if missed != 1 else ''} missed")
    if runs:
        parts.append(f"running {started}")
    elif deadline is not None and now - newest > deadline:
        parts.append(f"latest tick {newest:%Y-%m-%dT%H:%M:%SZ} is past the starting deadline")
    else:
        parts.append("nothing to run")
    return f"{'; '.join(parts)} ({policy.value})"
