"""Status conditions as a pure value: set one by type, read one, never mutate in place.

Kubernetes API conventions: the list is keyed by `type`; `lastTransitionTime` moves only when
`status` changes (a new reason or message alone is not a transition); `observedGeneration`
records the spec generation the condition was computed from. Writing the same condition again
returns an equal list, so an unchanged status patch is a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from refit.api.base import Condition
from refit.api.enums import ConditionStatus

__all__ = [
    "condition_status",
    "get_condition",
    "is_false",
    "is_true",
    "remove_condition",
    "set_condition",
    "to_status",
]


def to_status(value: ConditionStatus | bool | str | None) -> ConditionStatus:
    """True/False/None (Unknown), or the wire strings, as a ConditionStatus."""
    if isinstance(value, ConditionStatus):
        return value
    if value is None:
        return ConditionStatus.UNKNOWN
    if isinstance(value, bool):
        return ConditionStatus.TRUE if value else ConditionStatus.FALSE
    return ConditionStatus(value)


def set_condition(
    conditions: Sequence[Condition],
    type_: str,
    status: ConditionStatus | bool | str | None,
    reason: str,
    message: str = "",
    *,
    now: datetime,
    observed_generation: int | None = None,
) -> list[Condition]:
    """A new list with condition `type_` set (replaced in place in the order, or appended)."""
    new_status = to_status(status)
    existing = get_condition(conditions, type_)
    if (
        existing is not None
        and existing.status == new_status
        and existing.last_transition_time is not None
    ):
        transition = existing.last_transition_time
    else:
        transition = now
    if observed_generation is None and existing is not None:
        observed_generation = existing.observed_generation
    updated = Condition(
        type=type_,
        status=new_status,
        reason=reason,
        message=message,
        last_transition_time=transition,
        observed_generation=observed_generation,
    )
    if existing is not None and existing == updated:
        return list(conditions)
    result: list[Condition] = []
    replaced = False
    for condition in conditions:
        if condition.type == type_:
            if not replaced:
                result.append(updated)
                replaced = True
            continue  # drop duplicates of the type: the list is keyed by type
        result.append(condition)
    if not replaced:
        result.append(updated)
    return result


def remove_condition(conditions: Sequence[Condition], type_: str) -> list[Condition]:
    return [condition for condition in conditions if condition.type != type_]


def get_condition(conditions: Sequence[Condition] | None, type_: str) -> Condition | None:
    for condition in conditions or ():
        if condition.type == type_:
            return condition
    return None


def condition_status(conditions: Sequence[Condition] | None, type_: str) -> ConditionStatus:
    """The status of `type_`, Unknown when the condition is absent."""
    condition = get_condition(conditions, type_)
    return ConditionStatus.UNKNOWN if condition is None else condition.status


def is_true(conditions: Sequence[Condition] | None, type_: str) -> bool:
    return condition_status(conditions, type_) is ConditionStatus.TRUE


def is_false(conditions: Sequence[Condition] | None, type_: str) -> bool:
    return condition_status(conditions, type_) is ConditionStatus.FALSE
