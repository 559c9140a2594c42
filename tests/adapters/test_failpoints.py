"""Failpoints fire once per marker directory, exit like SIGKILL, and cost nothing when unset.
Each case runs a fresh interpreter: the module reads its environment once, at import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HIT = "from refit.adapters import failpoints; failpoints.hit('after-alias-move'); print('went on')"


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REFIT_FAILPOINTS")}
    return subprocess.run(
        [sys.executable, "-c", HIT], env={**clean, **env}, capture_output=True, text=True
    )


def test_unset_does_nothing() -> None:
    result = run({})
    assert (result.returncode, result.stdout) == (0, "went on\n")


def test_armed_point_exits_137_once_per_marker_dir(tmp_path: Path) -> None:
    env = {"REFIT_FAILPOINTS": "after-job-create-train, after-alias-move"}
    env["REFIT_FAILPOINTS_DIR"] = str(tmp_path)
    first = run(env)
    assert first.returncode == 137 and first.stdout == ""
    assert "failpoint after-alias-move" in first.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["after-alias-move"]
    again = run(env)  # the restarted process goes on past it
    assert (again.returncode, again.stdout) == (0, "went on\n")


def test_other_points_do_not_fire(tmp_path: Path) -> None:
    result = run(
        {"REFIT_FAILPOINTS": "after-job-create-train", "REFIT_FAILPOINTS_DIR": str(tmp_path)}
    )
    assert result.returncode == 0 and list(tmp_path.iterdir()) == []


def test_unknown_point_is_refused() -> None:
    # A typo must not make a fault test pass without injecting anything.
    result = run({"REFIT_FAILPOINTS": "after-alias-moved"})
    assert result.returncode == 1 and "unknown point" in result.stderr


def test_the_chart_never_arms_failpoints() -> None:
    chart = Path(__file__).resolve().parents[2] / "charts"
    mentions = [
        str(path)
        for path in chart.rglob("*")
        if path.is_file() and "REFIT_FAILPOINTS" in path.read_text(errors="replace")
    ]
    assert mentions == []
