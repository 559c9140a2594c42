"""Shared pytest configuration. Keep this file small: fixtures live in their own modules
and are registered here (add yours to ``pytest_plugins``)."""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).parent)
if _TESTS not in sys.path:  # `cluster` (tests/cluster) must be importable
    sys.path.insert(0, _TESTS)

pytest_plugins = ["cluster.fixtures"]
