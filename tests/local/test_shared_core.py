"""The local runner and the CLI decide nothing the core decides: they import it.

A second copy of scheduling, gating or run-state logic would drift from the operator's. This
checks the source: refit.local and refit.cli define no function or class with the name of a
public decision of refit.core, and they reach the decisions through the core modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import refit.core.champion
import refit.core.concurrency
import refit.core.drift_policy
import refit.core.gate
import refit.core.missed
import refit.core.names
import refit.core.run_snapshot
import refit.core.run_state
import refit.core.schedule

PACKAGE = Path(refit.core.__file__).resolve().parents[1]
DECISIONS = (
    refit.core.schedule,
    refit.core.missed,
    refit.core.concurrency,
    refit.core.gate,
    refit.core.run_state,
    refit.core.drift_policy,
    refit.core.names,
    refit.core.champion,
    refit.core.run_snapshot,
)


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name.lstrip("_")
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
    }


def _imports(folder: Path) -> set[str]:
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
    return found


def test_no_core_decision_is_redefined_locally_or_in_the_cli() -> None:
    public = {name for module in DECISIONS for name in getattr(module, "__all__", ())}
    public -= {"Action", "JobState", "RunReason"}  # names only, nothing to decide
    assert {"next_fire", "evaluate_candidate", "reconcile_run", "assess_drift"} <= public
    for folder in (PACKAGE / "local", PACKAGE / "cli"):
        for path in folder.rglob("*.py"):
            clash = _defined(path) & public
            assert not clash, f"{path.relative_to(PACKAGE)} redefines core's {sorted(clash)}"


def test_the_local_runner_uses_the_core_and_the_shared_driver() -> None:
    imports = _imports(PACKAGE / "local")
    assert {
        "refit.adapters.run_driver",  # drives core.run_state (and core.gate through it)
        "refit.core.schedule",  # replay ticks
        "refit.core.drift_policy",  # drift verdicts and drift runs
        "refit.core.run_snapshot",  # what a run is
        "refit.core.job_spec",  # what a Job runs, with which environment
        "refit.core.names",  # run and Job names
    } <= imports
    assert not any(module.startswith("refit.controllers") for module in imports)
