"""hadolint on the Dockerfiles (the images themselves are built by `make images`, with Docker,
which CI here does not have)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.tools import find_tool

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = [REPO / "Dockerfile", REPO / "trainer-image" / "Dockerfile"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_hadolint(dockerfile: Path) -> None:
    if not dockerfile.exists():
        pytest.skip(f"{dockerfile.relative_to(REPO)} does not exist yet")
    done = subprocess.run(
        [str(find_tool("hadolint")), "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_operator_image_runs_as_uid_10001_from_a_pinned_base() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^USER 10001(:10001)?$", text, re.M)
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base.group(1))
    # Installs exactly the hashed runtime lock.
    assert "--require-hashes" in text and "requirements/operator.lock" in text


def test_operator_lock_pins_the_tested_versions() -> None:
    # Same versions as requirements/dev.lock, which the tests run against.
    def pins(path: Path) -> dict[str, str]:
        found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), re.M)
        return {name.lower(): version for name, version in found}

    operator = pins(REPO / "requirements" / "operator.lock")
    dev = pins(REPO / "requirements" / "dev.lock")
    assert "kopf" in operator
    assert {n: v for n, v in operator.items() if dev.get(n) != v} == {}
