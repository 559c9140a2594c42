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
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r requirements/dev.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e . -e trainer-image
	touch $(STAMP)

setup: $(STAMP) ## create .venv with the project and its dev tools (pinned by requirements/dev.lock)

TORCH_STAMP := $(VENV)/.torch-installed
$(TORCH_STAMP): $(STAMP) requirements/torch.lock
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r requirements/torch.lock
	touch $(TORCH_STAMP)

# PyPI's torch wheel brings the CUDA libraries (about 5 GB): only the recommender's tests need
# it, so it is a separate step (CI runs it; uv's cache makes the second install take seconds).
setup-torch: $(TORCH_STAMP) ## add PyTorch (refit-trainer[torch], pinned by requirements/torch.lock)

lock: ## re-pin requirements/dev.lock, the operator image's operator.lock and checkov.lock
	$(VENV)/bin/uv pip compile pyproject.toml trainer-image/pyproject.toml --extra dev --python-version 3.11 -q -o requirements/dev.lock
	# The image's runtime lock: runtime deps only, hashed, constrained to the tested dev versions.
	$(VENV)/bin/uv pip compile pyproject.toml -c requirements/dev.lock --python-version 3.11 --python-platform linux --generate-hashes -q -o requirements/operator.lock
	$(VENV)/bin/uv pip compile requirements/checkov.in --python-version 3.11 --python-platform linux -q -o requirements/checkov.lock
	$(VENV)/bin/uv pip compile trainer-image/pyproject.toml --extra torch -c requirements/dev.lock --python-version 3.11 -q -o requirements/torch.lock

crds: setup ## regenerate crds/ (and the chart's copy) from the pydantic models
	$(VENV)/bin/refit crd --out crds
	charts/sync-crds.sh

verify: setup ## lint, format check, types, layer contracts, generated files up to date
	$(VENV)/bin/ruff check operator trainer-image tests bench examples
	$(VENV)/bin/ruff format --check operator trainer-image tests bench examples
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/refit crd --check crds

demo: setup ## the main job on real data, locally (no cluster): weekly retraining replay + churn drift → demo-output/
	$(VENV)/bin/refit demo

test: setup ## run the whole test suite (starts MLflow and the control plane itself)
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: help setup lock crds verify demo test

# --- test control plane and tools (tests/cluster; see tests/cluster/README.md) ---
binaries: ## build etcd, kube-apiserver, kube-controller-manager, kubectl, helm, promtool (cached in ~/.cache/refit)
	tests/cluster/build.sh

cluster-up: setup binaries ## start the test control plane and node agent; writes .cluster/kubeconfig
	PYTHONPATH=tests $(PY) -m cluster up

cluster-down: ## stop the test control plane (by process id) and remove .cluster/
	PYTHONPATH=tests $(PY) -m cluster down

.PHONY: binaries cluster-up cluster-down

# --- deployment: Helm chart and images (charts/refit/README.md) ---
VERSION := $(shell sed -n 's/^appVersion: "\(.*\)"/\1/p' charts/refit/Chart.yaml)
OPERATOR_IMAGE ?= ghcr.io/refit-dev/refit-operator:$(VERSION)
TRAINER_IMAGE ?= ghcr.io/refit-dev/refit-trainer:$(VERSION)

chart-crds: ## copy the generated crds/*.yaml into the chart (charts/refit/crds/)
	charts/sync-crds.sh

chart-test: setup ## chart, alert-rule and Argo CD tests (helm/promtool from `make binaries`)
	.ci/install-tools.sh
	$(PY) -m pytest tests/chart tests/alerts tests/argocd

chart-scan: setup ## checkov's full report on the rendered chart (checkov gets its own venv)
	.ci/install-tools.sh checkov
	$(PY) -m tests.chart.scan

images: ## build the operator and trainer images (needs Docker)
	docker build -t $(OPERATOR_IMAGE) .
	docker build -t $(TRAINER_IMAGE) --build-context data=examples/data -f trainer-image/Dockerfile trainer-image

kind-e2e: setup ## on a machine with Docker and kind: images → kind → chart + MLflow → daily-sales run Promoted
	tests/kind/e2e.sh

.PHONY: chart-crds chart-test chart-scan images kind-e2e

# --- benchmarks (bench/README.md) ---
bench: setup binaries ## quick benchmarks against Evidently, scipy and CronJob (~10 min); bench/results/
	$(PY) -m bench

bench-full: setup ## drift at 1M rows as well (Evidently takes many minutes there); bench/results/drift-full.json
	$(PY) -m bench.drift --full

.PHONY: bench bench-full
