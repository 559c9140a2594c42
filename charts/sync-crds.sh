#!/usr/bin/env bash
# Copy the generated CRDs (crds/*.yaml, written by `refit crd`: Refit's two from the pydantic
# models, and kopf's peering CRDs) into the chart. The chart's copies are generated: never
# edit them; tests/chart/test_crds.py fails when they differ from crds/.
#
# Usage: charts/sync-crds.sh   (or `make chart-crds`)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/crds"
dst="$root/charts/refit/crds"
mkdir -p "$dst"
# Start empty so that a CRD removed from crds/ disappears from the chart too.
rm -f "$dst"/*.yaml
cp "$src"/*.yaml "$dst"/
ls "$dst"/*.yaml | sed "s|^$root/|synced |"
