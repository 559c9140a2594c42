#!/usr/bin/env bash
# Regenerate tests/trainer/golden/evidently_telco_*.json with Evidently in its own venv.
# Evidently 0.7 pins pandas 2, which Refit's environment (pandas 3) cannot share.
#   bench/drift/make_golden.sh            # uses /tmp/evidently-venv, creating it if needed
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${EVIDENTLY_VENV:-/tmp/evidently-venv}
EVIDENTLY_VERSION=${EVIDENTLY_VERSION:-0.7.23}
UV=${UV:-.venv/bin/uv}
if [[ ! -x $VENV/bin/python ]]; then
  "$UV" venv -q -p 3.11 "$VENV"
fi
VIRTUAL_ENV=$VENV "$UV" pip install -q "evidently==$EVIDENTLY_VERSION" "pandas<3"
"$VENV/bin/python" bench/drift/evidently_verdicts.py tests/trainer/golden "$@"
