"""`refit validate`: check manifests offline with the same models and rules the operator uses."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from refit.api.manifests import Problem, parse_manifest
from refit.api.pipeline import TrainingPipeline
from refit.core.validation import validate_pipeline_spec

# etcd's default --max-request-bytes: the API server cannot store a larger object.
OBJECT_LIMIT = 1536 * 1024


def validate_text(
    text: str, warnings: list[tuple[int, str]] | None = None
) -> list[tuple[int, Problem]]:
    """Errors of every document in a YAML stream, as (document index, problem).

    Semantic warnings (legal but probably unintended) go to `warnings` when it is given."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        return [(0, Problem("", f"not valid YAML: {error}".replace("\n", " ")))]
    if not docs:
        return [(0, Problem("", "no manifest in file"))]
    found: list[tuple[int, Problem]] = []
    for index, doc in enumerate(docs):
        size = len(json.dumps(doc, ensure_ascii=False, default=str).encode())
        if size > OBJECT_LIMIT:
            found.append(
                (
                    index,
                    Problem(
                        "",
                        f"the manifest is {size} bytes as JSON; the API server stores at most "
                        f"{OBJECT_LIMIT} bytes per object (etcd's request limit)",
                    ),
                )
            )
        model, problems = parse_manifest(doc)
        if isinstance(model, TrainingPipeline):
            meta = model.metadata
            key = (meta.namespace or "default", meta.name or "")
            for semantic in validate_pipeline_spec(model.spec, *key):
                if semantic.severity == "error":
                    problems.append(Problem(semantic.path, semantic.message))
                elif warnings is not None:
                    warnings.append((index, str(semantic)))
        found += [(index, p) for p in problems]
    return found


def validate_file(path: Path, warnings: list[str] | None = None) -> list[str]:
    """One line per problem: `FILE[#doc]: field.path: message`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [f"{path}: cannot read: {error}"]
    found_warnings: list[tuple[int, str]] = []
    lines = []
    for index, problem in validate_text(text, found_warnings):
        where = f"{path}#{index}" if index else str(path)
        lines.append(f"{where}: {problem}")
    if warnings is not None:
        warnings += [
            f"{path}#{i}: warning: {w}" if i else f"{path}: warning: {w}" for i, w in found_warnings
        ]
    return lines
