"""refit.core.concurrency: Forbid, Allow, Replace, for one due run and for a batch."""

from __future__ import annotations

import pytest

from refit.api.enums import ConcurrencyPolicy
from refit.core.concurrency import ConcurrencyReason, decide_concurrency, plan_runs

FORBID, ALLOW, REPLACE = (
    ConcurrencyPolicy.FORBID,
    ConcurrencyPolicy.ALLOW,
    ConcurrencyPolicy.REPLACE,
)

CASES = [
    # policy, active, due, create, delete, skip, reason
    (FORBID, [], ["p-2"], ["p-2"], [], [], ConcurrencyReason.NO_ACTIVE_RUN),
    (FORBID, ["p-1"], ["p-2"], [], [], ["p-2"], ConcurrencyReason.FORBIDDEN),
    (
        FORBID,
        ["p-2"],
        ["p-2"],
        ["p-2"],
        [],
        [],
        ConcurrencyReason.ALREADY_CREATED,
    ),  # replay after a crash
    (
        FORBID,
        [],
        ["p-1", "p-2", "p-3"],
        ["p-3"],
        [],
        ["p-1", "p-2"],
        ConcurrencyReason.NO_ACTIVE_RUN,
    ),
    (
        FORBID,
        ["p-3"],
        ["p-1", "p-2", "p-3"],
        ["p-3"],
        [],
        ["p-1", "p-2"],
        ConcurrencyReason.ALREADY_CREATED,
    ),
    (ALLOW, [], ["p-2"], ["p-2"], [], [], ConcurrencyReason.NO_ACTIVE_RUN),
    (ALLOW, ["p-1"], ["p-2"], ["p-2"], [], [], ConcurrencyReason.ALLOWED),
    (ALLOW, ["p-1"], ["p-2", "p-3"], ["p-2", "p-3"], [], [], ConcurrencyReason.ALLOWED),
    (REPLACE, [], ["p-2"], ["p-2"], [], [], ConcurrencyReason.NO_ACTIVE_RUN),
    (REPLACE, ["p-0", "p-1"], ["p-2"], ["p-2"], ["p-0", "p-1"], [], ConcurrencyReason.REPLACED),
    (
        REPLACE,
        ["p-2"],
        ["p-2"],
        ["p-2"],
        [],
        [],
        ConcurrencyReason.NO_ACTIVE_RUN,
    ),  # never replaces itself
    (REPLACE, ["p-0"], ["p-1", "p-2"], ["p-2"], ["p-0"], ["p-1"], ConcurrencyReason.REPLACED),
    (REPLACE, ["p-1"], ["p-1", "p-2"], ["p-2"], ["p-1"], ["p-1"], ConcurrencyReason.REPLACED),
    (FORBID, ["p-1"], [], [], [], [], ConcurrencyReason.NOTHING_DUE),
]


@pytest.mark.parametrize(("policy", "active", "due", "create", "delete", "skip", "reason"), CASES)
def test_plan(
    policy: ConcurrencyPolicy,
    active: list[str],
    due: list[str],
    create: list[str],
    delete: list[str],
    skip: list[str],
    reason: str,
) -> None:
    plan = plan_runs(policy, active, due)
    assert (list(plan.create), list(plan.delete), list(plan.skip), plan.reason) == (
        create,
        delete,
        skip,
        reason,
    )
    assert plan.message


def test_single_decision_and_messages() -> None:
    plan = decide_concurrency(FORBID, ["p-1"], "p-2")
    assert not plan.create and plan.skip == ("p-2",)
    assert "p-1 still active and concurrencyPolicy is Forbid" in plan.message
    many = plan_runs(REPLACE, [f"p-{i}" for i in range(10)], ["p-99"])
    assert "and 7 more" in many.message
