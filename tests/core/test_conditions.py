"""refit.core.conditions: pure condition lists keyed by type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from refit.api.base import Condition
from refit.api.enums import ConditionStatus
from refit.core.conditions import (
    condition_status,
    get_condition,
    is_false,
    is_true,
    remove_condition,
    set_condition,
    to_status,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def test_set_appends_then_replaces_in_place() -> None:
    first = set_condition([], "Ready", True, "Reconciled", "ok", now=T0, observed_generation=1)
    second = set_condition(first, "Running", False, "Idle", now=T0)
    assert [c.type for c in second] == ["Ready", "Running"]
    third = set_condition(
        second, "Ready", False, "InvalidSpec", "bad cron", now=T1, observed_generation=2
    )
    assert [c.type for c in third] == ["Ready", "Running"]
    ready = get_condition(third, "Ready")
    assert (
        ready is not None
        and ready.status is ConditionStatus.FALSE
        and ready.reason == "InvalidSpec"
    )
    assert ready.last_transition_time == T1 and ready.observed_generation == 2


def test_input_list_is_not_mutated() -> None:
    original = set_condition([], "Ready", True, "Reconciled", now=T0)
    snapshot = [c.model_copy() for c in original]
    set_condition(original, "Ready", False, "InvalidSpec", now=T1)
    assert original == snapshot


def test_transition_time_moves_only_when_status_changes() -> None:
    conditions = set_condition([], "Ready", True, "Reconciled", "a", now=T0, observed_generation=1)
    same_status = set_condition(
        conditions, "Ready", True, "Reconciled", "new message", now=T1, observed_generation=2
    )
    ready = get_condition(same_status, "Ready")
    assert ready is not None
    assert ready.last_transition_time == T0  # message and generation changed, status did not
    assert ready.message == "new message" and ready.observed_generation == 2
    flipped = set_condition(same_status, "Ready", False, "InvalidSpec", now=T1)
    assert get_condition(flipped, "Ready").last_transition_time == T1  # type: ignore[union-attr]


def test_unchanged_write_is_equal() -> None:
    conditions = set_condition([], "Ready", True, "Reconciled", "ok", now=T0, observed_generation=3)
    again = set_condition(conditions, "Ready", True, "Reconciled", "ok", now=T1)
    assert again == conditions  # observedGeneration is carried when not given


def test_duplicates_of_a_type_collapse() -> None:
    messy = [
        Condition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=T0),
        Condition(type="Ready", status=ConditionStatus.FALSE, last_transition_time=T0),
    ]
    cleaned = set_condition(messy, "Ready", True, "Reconciled", now=T1)
    assert len(cleaned) == 1 and cleaned[0].last_transition_time == T0


def test_missing_transition_time_is_filled() -> None:
    bare = [Condition(type="Ready", status=ConditionStatus.TRUE)]
    filled = set_condition(bare, "Ready", True, "Reconciled", now=T1)
    assert filled[0].last_transition_time == T1


def test_readers() -> None:
    conditions = set_condition([], "Trained", "True", "JobSucceeded", now=T0)
    conditions = set_condition(conditions, "Promoted", False, "NotBetter", now=T0)
    conditions = set_condition(conditions, "Succeeded", None, "Pending", now=T0)
    assert is_true(conditions, "Trained") and not is_false(conditions, "Trained")
    assert is_false(conditions, "Promoted")
    assert condition_status(conditions, "Succeeded") is ConditionStatus.UNKNOWN
    assert condition_status(conditions, "Absent") is ConditionStatus.UNKNOWN
    assert get_condition(None, "Ready") is None and not is_true(None, "Ready")
    assert [c.type for c in remove_condition(conditions, "Promoted")] == ["Trained", "Succeeded"]
    assert to_status(ConditionStatus.TRUE) is ConditionStatus.TRUE
