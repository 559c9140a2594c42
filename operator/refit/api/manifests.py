"""Parse Refit manifests (dicts from YAML) into API models, with errors that name the field path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from refit.api.base import API_VERSION
from refit.api.pipeline import TrainingPipeline
from refit.api.run import TrainingRun

KINDS: dict[str, type[TrainingPipeline] | type[TrainingRun]] = {
    "TrainingPipeline": TrainingPipeline,
    "TrainingRun": TrainingRun,
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest, located by its field path (e.g. spec.schedule.cron)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


# Pydantic adds the member type of a union to the error location; users never wrote it.
_UNION_TAGS = {"int", "str", "float", "bool", "list", "dict", "none"}
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def field_path(loc: tuple[int | str, ...]) -> str:
    """`('spec', 'trainer', 'env', 0, 'name')` → `spec.trainer.env[0].name`; map keys that are
    not identifiers in brackets: `limits[nvidia.com/gpu]`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _UNION_TAGS or part.startswith(("function-", "constrained-")):
            continue
        elif not _PLAIN_KEY.match(part):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def problems_from_validation_error(error: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = tuple(
            p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        elif item["type"] == "missing":
            message = "required field is missing"
        problem = Problem(field_path(loc), message)
        if problem not in problems:
            problems.append(problem)
    return problems


def parse_manifest(doc: Any) -> tuple[TrainingPipeline | TrainingRun | None, list[Problem]]:
    """Parse one manifest; returns the model (or None) and the problems found."""
    if not isinstance(doc, dict):
        return None, [Problem("", f"a manifest must be a mapping, not {type(doc).__name__}")]
    kind = doc.get("kind")
    if kind not in KINDS:
        return None, [Problem("kind", f"expected one of {sorted(KINDS)}, got {kind!r}")]
    if doc.get("apiVersion") != API_VERSION:
        return None, [
            Problem("apiVersion", f"expected {API_VERSION!r}, got {doc.get('apiVersion')!r}")
        ]
    try:
        return KINDS[kind].model_validate(doc), []
    except ValidationError as error:
        return None, problems_from_validation_error(error)
