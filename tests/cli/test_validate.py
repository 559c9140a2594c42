"""`refit validate`: every malformed manifest of the corpus is refused naming its field (also
those the API server accepts and the operator reports as Ready=False); the examples pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from refit.cli.main import app
from refit.cli.validate import validate_file, validate_text
from tests.manifests.corpus import CORPUS, MALFORMED_DIR, Case

REPO = Path(__file__).resolve().parents[2]
MALFORMED = sorted(MALFORMED_DIR.glob("*.yaml"))
EXAMPLES = sorted((REPO / "examples").rglob("*.yaml"))


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 45


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_malformed_manifest_is_refused_naming_the_field(case: Case) -> None:
    path = MALFORMED_DIR / f"{case.name}.yaml"
    if path.exists():
        problems = validate_file(path)
    else:  # generated (oversized) cases
        problems = [f"{case.name}: {p}" for _, p in validate_text(yaml.safe_dump(case.doc))]
    assert problems, f"{case.name} was accepted"
    if not case.field:  # the whole object is too large: no single field to blame
        assert any("bytes per object" in line for line in problems), problems
        return
    # The reported path is the expected field or lies below it (spec.model → spec.model.name).
    assert any(re.search(rf": {re.escape(case.field)}[.\[:]", line) for line in problems), problems


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_examples_are_valid(path: Path) -> None:
    assert validate_file(path) == []


def test_cli_exit_codes_and_one_line_per_problem(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", str(REPO / "examples")])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["validate", str(MALFORMED[0])])
    assert bad.exit_code == 1
    assert MALFORMED[0].name in bad.output and "spec.schedule.cron" in bad.output
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert runner.invoke(app, ["validate", str(empty)]).exit_code == 1
    not_yaml = tmp_path / "broken.yaml"
    not_yaml.write_text("spec: [unclosed\n")
    result = runner.invoke(app, ["validate", str(not_yaml)])
    assert result.exit_code == 1 and "not valid YAML" in result.output
