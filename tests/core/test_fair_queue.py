"""Global cap on training Jobs with fair queueing by pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from refit.core.fair_queue import Waiting, admit

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def w(run: str, pipeline: str, minutes: int) -> Waiting:
    return Waiting(run, pipeline, T0 + timedelta(minutes=minutes))


def test_no_cap_admits_everyone_oldest_first() -> None:
    assert admit([w("b", "p", 2), w("a", "q", 1)], {}, 0) == ["a", "b"]


def test_full_cap_admits_nobody() -> None:
    assert admit([w("a", "p", 0)], {"q": 2}, 2) == []


def test_busy_pipeline_cannot_starve_the_others() -> None:
    # Pipeline "big" queued 10 runs first; "small" and "tiny" one each, later.
    waiting = [w(f"big-{i}", "big", i) for i in range(10)] + [
        w("small-0", "small", 20),
        w("tiny-0", "tiny", 30),
    ]
    assert admit(waiting, {}, 3) == ["big-0", "small-0", "tiny-0"]


def test_pipeline_with_fewest_running_jobs_goes_first() -> None:
    waiting = [w("a-1", "a", 0), w("b-1", "b", 5)]
    assert admit(waiting, {"a": 2, "b": 0}, 4) == ["b-1", "a-1"]


def test_within_a_pipeline_oldest_first_and_cap_respected() -> None:
    waiting = [w("p-3", "p", 3), w("p-1", "p", 1), w("p-2", "p", 2)]
    assert admit(waiting, {"p": 1}, 3) == ["p-1", "p-2"]
