"""Drift engine benchmark: Refit's engine vs Evidently's DataDriftPreset vs plain scipy."""
