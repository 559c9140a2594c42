"""What to do with due runs while other runs of the same pipeline are active.

* `Forbid` (default): create nothing while a run is active; the due run is skipped (counted as a
  missed schedule, reason `ConcurrencyForbidden`). With several due runs at once (RunAll after an
  outage) only the newest is created: Forbid means one at a time.
* `Allow`: create every due run.
* `Replace`: delete the active runs, then create the newest due run; older due runs would be
  replaced at once, so they are skipped.

Runs are identified by their deterministic names (see `refit.core.names`). A due run whose name is
already among the active runs was created by an earlier attempt whose status write was lost: it
counts as created, never as a conflict with itself, so replaying a decision is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from refit.api.conditions import Reason
from refit.api.enums import ConcurrencyPolicy

__all__ = ["ConcurrencyPlan", "ConcurrencyReason", "decide_concurrency", "plan_runs"]


class ConcurrencyReason:
    """CamelCase reasons of concurrency decisions (for events and the Running condition)."""

    NO_ACTIVE_RUN: Final = "NoActiveRun"
    ALLOWED: Final = "ConcurrentRunAllowed"
    FORBIDDEN: Final = "ConcurrencyForbidden"
    REPLACED: Final = Reason.REPLACED
    ALREADY_CREATED: Final = "AlreadyCreated"
    NOTHING_DUE: Final = "NothingDue"


@dataclass(frozen=True)
class ConcurrencyPlan:
    """The runs to create and delete now; create after deleting (AlreadyExists = done)."""

    create: tuple[str, ...]
    delete: tuple[str, ...]
    skip: tuple[str, ...]
    reason: str
    message: str


def plan_runs(
    policy: ConcurrencyPolicy, active: Sequence[str], due: Sequence[str]
) -> ConcurrencyPlan:
    """Plan for the due run names (oldest first) given the names of the pipeline's active runs."""
    if not due:
        return ConcurrencyPlan((), (), (), ConcurrencyReason.NOTHING_DUE, "no run is due")
    due_set = set(due)
    others = tuple(name for name in active if name not in due_set)
    newest = due[-1]

    if policy is ConcurrencyPolicy.ALLOW:
        reason = ConcurrencyReason.ALLOWED if others else ConcurrencyReason.NO_ACTIVE_RUN
        running = f" alongside {_names(others)}" if others else ""
        return ConcurrencyPlan(tuple(due), (), (), reason, f"creating {_names(due)}{running}")

    if policy is ConcurrencyPolicy.REPLACE:
        replace = tuple(name for name in active if name != newest)
        older = tuple(name for name in due[:-1])
        if not replace:
            return ConcurrencyPlan(
                (newest,), (), older, ConcurrencyReason.NO_ACTIVE_RUN, f"creating {newest}"
            )
        return ConcurrencyPlan(
            (newest,),
            replace,
            older,
            ConcurrencyReason.REPLACED,
            f"replacing {_names(replace)} with {newest}",
        )

    # Forbid.
    existing = [name for name in due if name in set(active)]
    if existing:
        kept = existing[-1]
        skipped = tuple(name for name in due if name != kept)
        return ConcurrencyPlan(
            (kept,),
            (),
            skipped,
            ConcurrencyReason.ALREADY_CREATED,
            f"{kept} already exists and is active",
        )
    if others:
        return ConcurrencyPlan(
            (),
            (),
            tuple(due),
            ConcurrencyReason.FORBIDDEN,
            f"skipping {_names(due)}: {_names(others)} still active and concurrencyPolicy is Forbid",
        )
    older = tuple(due[:-1])
    return ConcurrencyPlan(
        (newest,), (), older, ConcurrencyReason.NO_ACTIVE_RUN, f"creating {newest}"
    )


def decide_concurrency(
    policy: ConcurrencyPolicy, active: Sequence[str], name: str
) -> ConcurrencyPlan:
    """Plan for a single due run (a schedule tick or a drift run)."""
    return plan_runs(policy, active, [name])


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:3])
    return shown if len(names) <= 3 else f"{shown} and {len(names) - 3} more"
