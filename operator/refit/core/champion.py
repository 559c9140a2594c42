"""Who is champion, and who was: the pipeline's `status.champion` and `championHistory`.

One rule set for every writer: the operator's pipeline pass (a run promoted a candidate),
`refit promote NAME VERSION` (a person picks a version) and `refit rollback NAME` (back to the
previous champion). History is newest first, holds each version at most once, never the current
champion, and at most MAX_HISTORY entries. A rollback walks back one step: the champion it
replaces is dropped rather than pushed, so a second rollback goes further back instead of
toggling between two versions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from refit.api.pipeline import ChampionStatus

__all__ = ["MAX_HISTORY", "NoPreviousChampion", "promote_champion", "rollback_champion"]

MAX_HISTORY: Final = 20


class NoPreviousChampion(LookupError):
    """Rollback asked for with an empty championHistory."""


def promote_champion(
    current: ChampionStatus | None, history: list[ChampionStatus], new: ChampionStatus
) -> tuple[ChampionStatus, list[ChampionStatus]]:
    """`new` becomes champion; the current one, if another version, becomes the newest past one."""
    past = list(history)
    if current is not None and current.version and current.version != new.version:
        past.insert(0, current)
    past = [c for c in past if c.version != new.version]
    return new, _unique(past)[:MAX_HISTORY]


def rollback_champion(
    current: ChampionStatus | None, history: list[ChampionStatus], now: datetime
) -> tuple[ChampionStatus, list[ChampionStatus]]:
    """The previous champion again, promoted now (so a pipeline pass does not undo it)."""
    past = [c for c in history if c.version and (current is None or c.version != current.version)]
    if not past:
        raise NoPreviousChampion("no previous champion in status.championHistory")
    restored = past[0].model_copy(update={"promoted_at": now})
    return restored, past[1:]


def _unique(champions: list[ChampionStatus]) -> list[ChampionStatus]:
    seen: set[str | None] = set()
    out = []
    for champion in champions:
        if champion.version not in seen:
            seen.add(champion.version)
            out.append(champion)
    return out
