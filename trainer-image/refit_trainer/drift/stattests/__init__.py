"""Two-sample drift tests, one module each, found through `registry.get(name)`."""

from refit_trainer.drift.stattests.registry import Outcome, ScoreKind, StatTest, get, names

__all__ = ["Outcome", "ScoreKind", "StatTest", "get", "names"]
