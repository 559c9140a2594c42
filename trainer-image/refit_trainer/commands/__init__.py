"""The `refit-trainer` sub-commands: the only modules that combine data, recipes and MLflow."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Session:
    """What the failure path needs to know: where to tag the failure, once it is known."""

    tracking_uri: str | None = None
    run_id: str | None = None
