"""Read the TrainingPipeline a local run is about, with the checks the operator applies."""

from __future__ import annotations

from pathlib import Path

import yaml

from refit.api.manifests import parse_manifest
from refit.api.pipeline import TrainingPipeline
from refit.core.validation import errors, validate_pipeline_spec


class ManifestError(ValueError):
    """The file has no usable TrainingPipeline; the message says what to fix."""


def load_pipeline(path: Path, name: str | None = None) -> TrainingPipeline:
    """The TrainingPipeline in `path` (the one called `name` when the file holds several)."""
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except OSError as error:
        raise ManifestError(f"{path}: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise ManifestError(f"{path}: not valid YAML: {error}".replace("\n", " ")) from error
    pipelines = [d for d in docs if isinstance(d, dict) and d.get("kind") == TrainingPipeline.KIND]
    if name is not None:
        pipelines = [d for d in pipelines if (d.get("metadata") or {}).get("name") == name]
    if len(pipelines) != 1:
        found = "no" if not pipelines else str(len(pipelines))
        hint = "" if name or not pipelines else " (choose one with --pipeline NAME)"
        which = f" named {name}" if name else ""
        raise ManifestError(f"{path}: {found} TrainingPipeline{which} found{hint}")
    model, problems = parse_manifest(pipelines[0])
    if problems or not isinstance(model, TrainingPipeline):
        raise ManifestError(f"{path}: " + "; ".join(str(p) for p in problems))
    meta = model.metadata
    semantic = errors(
        validate_pipeline_spec(model.spec, meta.namespace or "default", meta.name or "")
    )
    if semantic:
        raise ManifestError(f"{path}: " + "; ".join(str(p) for p in semantic))
    if not model.metadata.name:
        raise ManifestError(f"{path}: metadata.name: required field is missing")
    return model
