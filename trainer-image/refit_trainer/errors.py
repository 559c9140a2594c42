"""Failures a trainer Job can end with, each mapped to the exit code of the Job contract.

The codes are part of CONTRACT.md: the operator (and a Job's podFailurePolicy) tells a
retryable failure (MLflow unreachable) from a permanent one (bad data) by the code alone.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_BAD_DATA = 3
EXIT_MLFLOW = 4
EXIT_MODEL = 5


class TrainerError(Exception):
    """A failure with a one-line reason that is safe to show to the pipeline's owner."""

    exit_code: int = EXIT_INTERNAL


class UsageError(TrainerError):
    """The Job was configured wrongly: missing env var, bad option, missing dependency."""

    exit_code = EXIT_USAGE


class BadDataError(TrainerError):
    """The data cannot be used: empty, unreadable, wrong columns, a single class, ..."""

    exit_code = EXIT_BAD_DATA


class MlflowUnavailableError(TrainerError):
    """The MLflow tracking server could not be reached or failed; retrying may help."""

    exit_code = EXIT_MLFLOW


class ModelUnavailableError(TrainerError):
    """A model the step needs (the candidate) is missing or cannot be loaded."""

    exit_code = EXIT_MODEL


def one_line(text: str, limit: int = 1000) -> str:
    """Collapse a message to one line, short enough for a termination message and a tag."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
