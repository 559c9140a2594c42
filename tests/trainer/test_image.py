"""The trainer image's files agree with what the repository tests (no Docker needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TRAINER = Path(__file__).resolve().parents[2] / "trainer-image"
DEV_LOCK = TRAINER.parent / "requirements" / "dev.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def _pins(path: Path) -> dict[str, str]:
    return {name.lower(): version for name, version in PIN.findall(path.read_text())}


@pytest.mark.parametrize(
    "lock", ["requirements.lock", "requirements-torch.lock", "requirements-torch-cpu.lock"]
)
def test_image_locks_pin_the_tested_versions(lock: str) -> None:
    image, tested = _pins(TRAINER / lock), _pins(DEV_LOCK)
    assert image, lock
    differ = {n: (v, tested[n]) for n, v in image.items() if n in tested and tested[n] != v}
    assert not differ, f"{lock} differs from requirements/dev.lock; run trainer-image/lock.sh"
    assert "--hash=sha256:" in (TRAINER / lock).read_text()


def test_dockerfile_is_slim_non_root_and_uses_the_locks() -> None:
    text = (TRAINER / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+$", text, re.M)
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert re.search(r"^ARG VARIANT=cpu$", text, re.M)
    for lock in ("requirements.lock", "requirements-torch.lock", "requirements-torch-cpu.lock"):
        assert lock in text and (TRAINER / lock).exists()
    assert '"refit-trainer"' in text
