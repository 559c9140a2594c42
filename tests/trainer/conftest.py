"""Fixtures of the trainer tests."""

from __future__ import annotations

import sys
from pathlib import Path

# telco_splits is shared with bench/drift/evidently_verdicts.py, which runs outside pytest.
sys.path.insert(0, str(Path(__file__).parent))
