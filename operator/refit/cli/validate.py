"""`refit validate`: check manifests offline with the same models and rules the operator uses."""

from __future__ import annotations

from pathlib import Path

import yaml

from refit.api.manifests import Problem, parse_manifest
from refit.api.pipeline import TrainingPipeline
from refit.core.validation import validate_pipeline_spec


def validate_text(text: str) -> list[tuple[int, Problem]]:
    """Problems of every document in a YAML stream, as (document index, problem)."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        return [(0, Problem("", f"not valid YAML: {error}".replace("\n", " ")))]
    if not docs:
        return [(0, Problem("", "no manifest in file"))]
    found: list[tuple[int, Problem]] = []
    for index, doc in enumerate(docs):
        model, problems = parse_manifest(doc)
        if isinstance(model, TrainingPipeline):
            meta = model.metadata
            problems += [
                Problem(f"spec.{p.path}" if p.path else "spec", p.message)
                for p in validate_pipeline_spec(
                    model.spec, meta.namespace or "default", meta.name or ""
                )
            ]
        found += [(index, p) for p in problems]
    return found


def validate_file(path: Path) -> list[str]:
    """One line per problem: `FILE[#doc]: field.path: message`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [f"{path}: cannot read: {error}"]
    lines = []
    for index, problem in validate_text(text):
        where = f"{path}#{index}" if index else str(path)
        lines.append(f"{where}: {problem}")
    return lines
