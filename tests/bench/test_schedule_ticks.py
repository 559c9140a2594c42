"""The schedule benchmark's measured minutes: one cron expression names exactly them, so
neither the pipelines nor the CronJobs fire while the benchmark is still writing them."""

from __future__ import annotations

from datetime import UTC, datetime

from cronsim import CronSim

from bench.schedule.run import first_tick_after, tick_cron


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_the_cron_fires_at_the_ticks_and_nowhere_between_now_and_them() -> None:
    start = _at("2026-12-04T16:21:30")
    first = first_tick_after(start + 300, 2)
    ticks = [first, first + 60]
    cron = tick_cron(ticks)
    assert cron == "27,28 16 4 12 *"
    it = CronSim(cron, datetime.fromtimestamp(start, UTC))
    fired = [next(it).timestamp() for _ in range(3)]
    assert fired[:2] == ticks
    assert fired[2] - ticks[-1] > 300 * 24 * 3600  # next year


def test_ticks_that_would_cross_the_hour_move_to_the_next_hour() -> None:
    first = first_tick_after(_at("2026-12-04T16:58:10"), 3)
    assert datetime.fromtimestamp(first, UTC) == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    assert tick_cron([first, first + 60, first + 120]) == "0,1,2 17 4 12 *"
    assert first_tick_after(_at("2026-12-04T16:56:10"), 3) == _at("2026-12-04T16:57:00")
