# Refit developer entry points. Every target does its own set-up from a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' Makefile | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements/dev.lock pyproject.toml trainer-image/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements/dev.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e . -e trainer-image
	touch $(STAMP)

setup: $(STAMP) ## create .venv with the project and its dev tools (pinned by requirements/dev.lock)

lock: ## re-pin requirements/dev.lock from the pyproject files
	$(VENV)/bin/uv pip compile pyproject.toml trainer-image/pyproject.toml --extra dev --python-version 3.11 -q -o requirements/dev.lock

crds: setup ## regenerate crds/ (and the chart's copy) from the pydantic models
	$(VENV)/bin/refit crd --out crds

verify: setup ## lint, format check, types, layer contracts, generated files up to date
	$(VENV)/bin/ruff check operator trainer-image tests bench
	$(VENV)/bin/ruff format --check operator trainer-image tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/refit crd --check crds

test: setup ## run the whole test suite (starts MLflow and the control plane itself)
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: help setup lock crds verify test
