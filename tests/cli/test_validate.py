"""`refit validate`: every malformed manifest is refused naming its field; the examples pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from refit.cli.main import app
from refit.cli.validate import validate_file

REPO = Path(__file__).resolve().parents[2]
MALFORMED = sorted((REPO / "tests" / "manifests" / "malformed").glob("*.yaml"))
EXAMPLES = sorted((REPO / "examples").rglob("*.yaml"))


def _expected_field(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: <field path>'"
    return first.removeprefix("# expect: ").strip()


def test_corpus_is_large_enough() -> None:
    assert len(MALFORMED) >= 30


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.stem)
def test_malformed_manifest_is_refused_naming_the_field(path: Path) -> None:
    problems = validate_file(path)
    assert problems, f"{path.name} was accepted"
    field = _expected_field(path)
    # The reported path is the expected field or lies below it (spec.model → spec.model.name).
    assert any(re.search(rf": {re.escape(field)}[.\[:]", line) for line in problems), problems


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
