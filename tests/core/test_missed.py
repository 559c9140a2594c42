"""refit.core.missed: policies after downtime, deadlines, exact missed counts; fixed clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refit.api.enums import MissedRunPolicy
from refit.api.pipeline import ScheduleSpec
from refit.core.missed import decide_for_spec, decide_scheduled_runs
from refit.core.schedule import count_fires_between, parse_schedule

RUN_LATEST, SKIP, RUN_ALL = (
    MissedRunPolicy.RUN_LATEST,
    MissedRunPolicy.SKIP,
    MissedRunPolicy.RUN_ALL,
)
EVERY_5 = parse_schedule("*/5 * * * *", "UTC")
CREATED = datetime(2026, 2, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# A 3-day outage on a 5-minute schedule: the last handled tick is 1 March 00:00, the operator comes
# back at 4 March 00:02:30. Due: 3 x 288 = 864 ticks, the newest (00:00) already 150 s late.
LAST = utc(2026, 3, 1)
BACK = utc(2026, 3, 4, 0, 2, 30)
ON_TICK = utc(2026, 3, 4, 0, 5, 10)  # back 10 s after a tick: that tick is current, 865 due

OUTAGE_CASES = [
    # policy, deadline, now, expected run times (H:M on 3/4 March), missed
    (RUN_LATEST, None, BACK, ["04 00:00"], 863),
    (SKIP, None, BACK, [], 864),
    (RUN_ALL, None, BACK, ["03 23:40", "03 23:45", "03 23:50", "03 23:55", "04 00:00"], 859),
    (RUN_ALL, 600, BACK, ["03 23:55", "04 00:00"], 862),  # only ticks within the 10-minute deadline
    (RUN_LATEST, 600, BACK, ["04 00:00"], 863),
    (RUN_LATEST, 60, BACK, [], 864),  # the latest tick is past the deadline too
    (SKIP, 600, BACK, [], 864),
    (RUN_LATEST, None, ON_TICK, ["04 00:05"], 864),
    (SKIP, None, ON_TICK, ["04 00:05"], 864),
    # RunAll: the current tick plus up to maxMissedRuns (5) missed ones.
    (
        RUN_ALL,
        None,
        ON_TICK,
        ["03 23:40", "03 23:45", "03 23:50", "03 23:55", "04 00:00", "04 00:05"],
        859,
    ),
    (RUN_ALL, 5, ON_TICK, [], 865),  # grace shrinks to the 5 s deadline: 10 s late is missed
]


@pytest.mark.parametrize(("policy", "deadline", "now", "runs", "missed"), OUTAGE_CASES)
def test_three_day_outage(
    policy: MissedRunPolicy, deadline: int | None, now: datetime, runs: list[str], missed: int
) -> None:
    decision = decide_scheduled_runs(
        EVERY_5,
        now=now,
        last_schedule_time=LAST,
        created_at=CREATED,
        policy=policy,
        starting_deadline_seconds=deadline,
        max_missed_runs=5,
    )
    assert [t.strftime("%d %H:%M") for t in decision.run_times] == runs
    assert decision.missed == missed
    due = 864 if now is BACK else 865
    assert len(decision.run_times) + decision.missed == due
    assert decision.last_schedule_time == (
        utc(2026, 3, 4) if now is BACK else utc(2026, 3, 4, 0, 5)
    )
    assert decision.next_schedule_time == (
        utc(2026, 3, 4, 0, 5) if now is BACK else utc(2026, 3, 4, 0, 10)
    )
    assert policy.value in decision.message


def test_run_all_is_capped_at_max_missed_runs() -> None:
    decision = decide_scheduled_runs(
        EVERY_5,
        now=BACK,
        last_schedule_time=LAST,
        created_at=CREATED,
        policy=RUN_ALL,
        max_missed_runs=100,
    )
    assert len(decision.run_times) == 100
    assert decision.missed == 764
    assert list(decision.run_times) == sorted(decision.run_times)  # oldest first


NORMAL_CASES = [
    # description, last, now, runs, missed, last after, next
    (
        "on time",
        utc(2026, 3, 1, 10, 0),
        utc(2026, 3, 1, 10, 5, 0, 300),
        ["10:05"],
        0,
        utc(2026, 3, 1, 10, 5),
        "10:10",
    ),
    (
        "woke early",
        utc(2026, 3, 1, 10, 5),
        utc(2026, 3, 1, 10, 9, 59),
        [],
        0,
        utc(2026, 3, 1, 10, 5),
        "10:10",
    ),
    (
        "just within grace",
        utc(2026, 3, 1, 10, 0),
        utc(2026, 3, 1, 10, 6),
        ["10:05"],
        0,
        utc(2026, 3, 1, 10, 5),
        "10:10",
    ),
    (
        "clock went back",
        utc(2026, 3, 1, 10, 5),
        utc(2026, 3, 1, 9, 0),
        [],
        0,
        utc(2026, 3, 1, 10, 5),
        "10:10",
    ),
]


@pytest.mark.parametrize(
    ("case", "last", "now", "runs", "missed", "after", "following"), NORMAL_CASES
)
@pytest.mark.parametrize("policy", [RUN_LATEST, SKIP, RUN_ALL])
def test_normal_operation_is_the_same_under_every_policy(
    policy: MissedRunPolicy,
    case: str,
    last: datetime,
    now: datetime,
    runs: list[str],
    missed: int,
    after: datetime,
    following: str,
) -> None:
    decision = decide_scheduled_runs(
        EVERY_5, now=now, last_schedule_time=last, created_at=CREATED, policy=policy
    )
    assert [t.strftime("%H:%M") for t in decision.run_times] == runs, case
    assert decision.missed == missed
    assert decision.last_schedule_time == after
    assert (
        decision.next_schedule_time is not None
        and decision.next_schedule_time.strftime("%H:%M") == following
    )


def test_first_tick_after_creation_counts_from_creation_time() -> None:
    created = utc(2026, 3, 1, 10, 3)
    early = decide_scheduled_runs(
        EVERY_5, now=utc(2026, 3, 1, 10, 4), last_schedule_time=None, created_at=created
    )
    assert early.run_times == () and early.last_schedule_time is None
    assert early.next_schedule_time == utc(2026, 3, 1, 10, 5)
    due = decide_scheduled_runs(
        EVERY_5, now=utc(2026, 3, 1, 10, 5, 1), last_schedule_time=None, created_at=created
    )
    assert due.run_times == (utc(2026, 3, 1, 10, 5),) and due.missed == 0


def test_suspended_starts_nothing_and_keeps_the_window() -> None:
    decision = decide_scheduled_runs(
        EVERY_5, now=BACK, last_schedule_time=LAST, created_at=CREATED, suspended=True
    )
    assert decision.run_times == () and decision.missed == 0
    assert decision.last_schedule_time == LAST and decision.next_schedule_time is None


def test_years_of_minutely_ticks_are_counted_not_enumerated() -> None:
    minutely = parse_schedule("* * * * *", "Europe/Berlin")
    started = time.perf_counter()
    decision = decide_scheduled_runs(
        minutely,
        now=utc(2026, 1, 1, 0, 0, 30),
        last_schedule_time=None,
        created_at=utc(2021, 1, 1),
        policy=RUN_ALL,
    )
    assert time.perf_counter() - started < 5
    total = (365 * 5 + 1) * 1440  # 2021-2025, one leap day
    assert len(decision.run_times) == 6  # 5 missed + the current one
    assert decision.missed == total - 6


def test_decide_for_spec_reads_the_policy_fields() -> None:
    spec = ScheduleSpec(
        cron="*/5 * * * *",
        missed_run_policy=RUN_ALL,
        max_missed_runs=3,
        starting_deadline_seconds=3600,
    )
    decision = decide_for_spec(spec, EVERY_5, now=BACK, last_schedule_time=LAST, created_at=CREATED)
    assert len(decision.run_times) == 3 and decision.missed == 861


def test_dst_schedule_in_a_zone() -> None:
    # A daily 02:30 Berlin schedule, down over the spring-forward night: the gap's fire counts.
    daily = parse_schedule("30 2 * * *", "Europe/Berlin")
    decision = decide_scheduled_runs(
        daily,
        now=utc(2026, 3, 30, 12),
        last_schedule_time=utc(2026, 3, 27, 1, 30),
        created_at=CREATED,
    )
    assert decision.run_times == (utc(2026, 3, 30, 0, 30),)
    assert decision.missed == 2  # 28 March 02:30 CET and 29 March 03:00 CEST


# --- simulation: every tick is decided exactly once, whatever the wake-up pattern ----------------


@settings(max_examples=120, deadline=None)
@given(
    policy=st.sampled_from(list(MissedRunPolicy)),
    deadline=st.one_of(st.none(), st.integers(0, 7200)),
    cap=st.integers(1, 10),
    gaps=st.lists(st.integers(1, 36 * 3600), min_size=1, max_size=12),
    cron=st.sampled_from(["*/5 * * * *", "0 * * * *", "H H * * *", "*/20 1-3 * * *"]),
    zone=st.sampled_from(["UTC", "America/New_York"]),
)
def test_every_tick_is_run_or_missed_exactly_once(
    policy: MissedRunPolicy, deadline: int | None, cap: int, gaps: list[int], cron: str, zone: str
) -> None:
    schedule = parse_schedule(cron, zone, "ns/sim")
    created = utc(2026, 10, 30, 7, 1)
    now = created
    last: datetime | None = None
    started: list[datetime] = []
    missed = 0
    for gap in gaps:
        now += timedelta(seconds=gap)
        decision = decide_scheduled_runs(
            schedule,
            now=now,
            last_schedule_time=last,
            created_at=created,
            policy=policy,
            starting_deadline_seconds=deadline,
            max_missed_runs=cap,
        )
        assert len(decision.run_times) <= cap + 1  # never a storm
        assert all(t <= now for t in decision.run_times)
        assert all(
            deadline is None or now - t <= timedelta(seconds=deadline) for t in decision.run_times
        )
        assert decision.next_schedule_time is not None and decision.next_schedule_time > now
        started.extend(decision.run_times)
        missed += decision.missed
        last = decision.last_schedule_time
    assert started == sorted(set(started))  # no tick runs twice, and runs go forward in time
    assert len(started) + missed == count_fires_between(schedule, created, now)
