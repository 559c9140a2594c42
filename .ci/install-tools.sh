#!/usr/bin/env bash
# Install the non-Python tools that tests/chart, tests/alerts and tests/argocd need, on a bare
# machine. Idempotent: each step is skipped when its tool is already there. helm and
# promtool come from tests/cluster/build.sh, hadolint from the dev lock (make setup).
#
#   lua5.1    Argo CD health-check tests (Argo CD runs Lua 5.1 scripts)
#   checkov   chart security scan, in its own venv (its pins clash with requirements/dev.lock)
#
# Usage: .ci/install-tools.sh [lua5.1] [checkov]   (no argument: all of them)
set -euo pipefail
cd "$(dirname "$0")/.."
wanted=" ${*:-lua5.1 checkov} "

if [[ "$wanted" == *" lua5.1 "* ]] && ! command -v lua5.1 >/dev/null; then
  echo "install-tools: lua5.1 (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends lua5.1 >/dev/null
fi

# Keyed by the lock's content (tests/tools.py computes the same path), so a re-pinned lock
# gets a fresh venv and an interrupted install never looks complete (renamed into place).
cache="${XDG_CACHE_HOME:-$HOME/.cache}/refit"
venv="$cache/checkov-$(sha256sum requirements/checkov.lock | cut -c1-12)"
if [[ "$wanted" == *" checkov "* && ! -x "$venv/bin/checkov" ]]; then
  echo "install-tools: checkov into $venv"
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.checkov.XXXXXX")"
  uv=.venv/bin/uv  # pinned by the Makefile's setup, which .ci/run runs first
  # --relocatable: console scripts find their interpreter relative to themselves, so the
  # venv still works after the rename below.
  "$uv" venv -q --relocatable --python 3.11 "$tmp"
  "$uv" pip install -q --python "$tmp/bin/python" -r requirements/checkov.lock
  rm -rf "$venv"
  mv "$tmp" "$venv"
fi
echo "install-tools: lua5.1 $(command -v lua5.1 || echo -), checkov $(ls "$venv/bin/checkov" 2>/dev/null || echo -)"
