"""Failpoints: crash the operator at a named point, once, for fault-injection tests.

Like etcd's gofail, but only the one term the tests need ("crash here"):

    REFIT_FAILPOINTS=after-job-create-train,after-alias-move   # points to arm
    REFIT_FAILPOINTS_DIR=/tmp/x                                # one marker file per fired point

`hit(name)` at an armed point creates `$REFIT_FAILPOINTS_DIR/<name>` (O_EXCL) and exits the
process with `os._exit(137)`: no cleanup, no flushing, no finally blocks, exactly what SIGKILL
leaves behind (137 = 128 + 9, what a shell reports for SIGKILL). A point whose marker exists does
not fire again, so the restarted operator (same environment) goes on past it. Without
REFIT_FAILPOINTS_DIR an armed point fires every time it is reached.

Points are read from the environment once, at import. Unset (production; the Helm chart never
sets these variables) `hit` is one truth test of an empty frozenset.

Points (see `POINTS`): before/after the create request of each Job (`train`, `evaluate`),
after the MLflow run is ensured, after the candidate version is registered, and after the
champion alias is moved (before the run's status records it). tests/controllers/test_faults.py
crashes at every one of them.
"""

from __future__ import annotations

import os
import sys
from typing import Final

POINTS: Final = frozenset(
    {
        "before-job-create-train",
        "after-job-create-train",
        "before-job-create-evaluate",
        "after-job-create-evaluate",
        "after-mlflow-run-create",
        "after-version-register",
        "after-alias-move",
    }
)
CRASH_EXIT_CODE: Final = 137


def _armed(raw: str) -> frozenset[str]:
    names = frozenset(n.strip() for n in raw.split(",") if n.strip())
    unknown = names - POINTS
    if unknown:  # a typo would make a fault test pass without injecting anything
        raise ValueError(
            f"REFIT_FAILPOINTS: unknown point(s) {sorted(unknown)}; known: {sorted(POINTS)}"
        )
    return names


_ARMED: Final = _armed(os.environ.get("REFIT_FAILPOINTS", ""))
_DIR: Final = os.environ.get("REFIT_FAILPOINTS_DIR", "")


def hit(name: str) -> None:
    """Crash here if `name` is armed and has not fired yet (see the module docstring)."""
    if not _ARMED or name not in _ARMED:
        return
    if _DIR:
        try:
            fd = os.open(os.path.join(_DIR, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return  # fired before this restart: go on
        os.close(fd)
    # stderr is unbuffered: the line reaches the log even though nothing else is flushed.
    sys.stderr.write(f"failpoint {name}: exiting with {CRASH_EXIT_CODE}\n")
    os._exit(CRASH_EXIT_CODE)
