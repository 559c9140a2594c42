"""Which waiting runs may start their training Job under a global cap, fairly by pipeline.

With `REFIT_MAX_CONCURRENT_JOBS` set, at most that many training Jobs run at once across the
fleet. Free slots go round-robin over pipelines: the pipeline with the fewest running Jobs goes
first (ties: the one whose oldest waiting run waited longest), and within a pipeline the oldest
run goes first. One busy pipeline with many runs therefore cannot starve the other 49.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Waiting", "admit"]


@dataclass(frozen=True)
class Waiting:
    """A run that wants to start its training Job."""

    run: str  # namespace/name
    pipeline: str  # namespace/name
    since: datetime


def admit(waiting: Sequence[Waiting], running: Mapping[str, int], cap: int) -> list[str]:
    """The runs to start now, in order. `running` counts training Jobs per pipeline; cap 0 = none."""
    if cap <= 0:
        return [w.run for w in sorted(waiting, key=lambda w: (w.since, w.run))]
    free = cap - sum(running.values())
    if free <= 0:
        return []
    queues: dict[str, list[Waiting]] = defaultdict(list)
    for item in sorted(waiting, key=lambda w: (w.since, w.run)):
        queues[item.pipeline].append(item)
    load = {pipeline: running.get(pipeline, 0) for pipeline in queues}
    admitted: list[str] = []
    while free > 0 and queues:
        pipeline = min(queues, key=lambda p: (load[p], queues[p][0].since, p))
        admitted.append(queues[pipeline].pop(0).run)
        load[pipeline] += 1
        free -= 1
        if not queues[pipeline]:
            del queues[pipeline]
    return admitted
