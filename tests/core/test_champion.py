"""Champion history: promotions push, rollbacks walk back, versions appear once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from refit.api.pipeline import ChampionStatus
from refit.core.champion import MAX_HISTORY, NoPreviousChampion, promote_champion, rollback_champion

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 2, 1, tzinfo=UTC)


def champ(version: str, day: int = 1) -> ChampionStatus:
    return ChampionStatus(version=version, promoted_at=T0.replace(day=day))


def versions(history: list[ChampionStatus]) -> list[str | None]:
    return [c.version for c in history]


def test_promotion_pushes_the_current_champion() -> None:
    champion, history = promote_champion(None, [], champ("1"))
    assert champion.version == "1" and history == []
    champion, history = promote_champion(champion, history, champ("2", 2))
    assert champion.version == "2" and versions(history) == ["1"]


def test_promoting_a_past_version_removes_it_from_history() -> None:
    champion, history = promote_champion(champ("3"), [champ("2"), champ("1")], champ("1", 5))
    assert champion.version == "1" and versions(history) == ["3", "2"]


def test_promoting_the_champion_again_keeps_history() -> None:
    champion, history = promote_champion(champ("2"), [champ("1")], champ("2", 9))
    assert champion.promoted_at == T0.replace(day=9) and versions(history) == ["1"]


def test_history_is_bounded() -> None:
    history = [champ(str(i)) for i in range(MAX_HISTORY)]
    _, history = promote_champion(champ("x"), history, champ("y"))
    assert len(history) == MAX_HISTORY and history[0].version == "x"


def test_rollback_walks_back_and_stamps_the_time() -> None:
    champion, history = rollback_champion(champ("3", 3), [champ("2", 2), champ("1", 1)], NOW)
    assert champion.version == "2" and champion.promoted_at == NOW
    assert versions(history) == ["1"]
    champion, history = rollback_champion(champion, history, NOW)
    assert champion.version == "1" and history == []
    with pytest.raises(NoPreviousChampion):
        rollback_champion(champion, history, NOW)
