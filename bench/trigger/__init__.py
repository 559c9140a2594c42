"""Trigger latency: a manual TrainingRun created → its training Job created."""
