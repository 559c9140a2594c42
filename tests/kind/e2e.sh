#!/usr/bin/env bash
# End-to-end on a real cluster in Docker (kind): build both images, load them into kind,
# install the chart with the bundled MLflow, apply the daily-sales example, trigger a run and
# wait until the run is Promoted (the first model has no champion to beat).
#
# Needs: Docker (a running engine), kind, kubectl, helm 3.8+ or 4 on PATH; `make setup` for the
# refit CLI. It cannot run on the project's CI machine (no Docker engine there); the pieces it
# drives are tested there: the chart by server-side dry run, the operator and trainer on a
# real API server, the Dockerfiles by hadolint.
#
# Environment:
#   KIND_CLUSTER   cluster name (default refit-e2e); an existing cluster of that name is reused
#   KEEP_CLUSTER   1: leave the cluster running at the end (default: delete it if we created it)
#   TIMEOUT        how long to wait for the run to be Promoted (default 20m)
set -euo pipefail
cd "$(dirname "$0")/../.."

cluster="${KIND_CLUSTER:-refit-e2e}"
timeout="${TIMEOUT:-20m}"
namespace=forecasting
version="$(sed -n 's/^appVersion: "\(.*\)"/\1/p' charts/refit/Chart.yaml)"
operator_image="ghcr.io/refit-dev/refit-operator:$version"
trainer_image="ghcr.io/refit-dev/refit-trainer:$version"
refit=.venv/bin/refit

log() { printf '[kind-e2e %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "kind-e2e: $tool is not on PATH" >&2; exit 2; }
done
docker info >/dev/null 2>&1 || { echo "kind-e2e: the Docker engine is not reachable (docker info)" >&2; exit 2; }
[[ -x "$refit" ]] || { echo "kind-e2e: run make setup first (needs $refit)" >&2; exit 2; }

created=0
if ! kind get clusters | grep -qx "$cluster"; then
  log "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --wait 180s
  created=1
fi
export KUBECONFIG="${KUBECONFIG:-$HOME/.kube/config}"
kubectl config use-context "kind-$cluster" >/dev/null

diagnose() {
  log "FAILED — state for diagnosis:"
  kubectl get trainingpipelines,trainingruns,jobs,pods -A -o wide || true
  kubectl -n "$namespace" get events --sort-by=.lastTimestamp | tail -40 || true
  kubectl -n refit-system logs deploy/refit --tail=200 || true
}
cleanup() {
  local rc=$?
  [[ $rc -eq 0 ]] || diagnose
  if [[ $created -eq 1 && "${KEEP_CLUSTER:-0}" != 1 ]]; then
    log "deleting kind cluster $cluster (KEEP_CLUSTER=1 keeps it)"
    kind delete cluster --name "$cluster" || true
  fi
  exit $rc
}
trap cleanup EXIT

log "building images $operator_image and $trainer_image"
make images OPERATOR_IMAGE="$operator_image" TRAINER_IMAGE="$trainer_image"
log "loading images into kind"
kind load docker-image --name "$cluster" "$operator_image" "$trainer_image"

log "installing the chart (CRDs, operator, bundled MLflow)"
helm upgrade --install refit charts/refit --namespace refit-system --create-namespace \
  -f tests/kind/values.yaml --wait --timeout 10m
kubectl wait --for=condition=Established crd/trainingpipelines.refit.dev crd/trainingruns.refit.dev --timeout=60s

log "applying examples/daily-sales"
kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f -
# The example names the published trainer image; point it at the one just built.
sed "s#image: ghcr.io/refit-dev/refit-trainer:.*#image: $trainer_image#" \
  examples/daily-sales/pipeline.yaml | kubectl apply -f -
kubectl -n "$namespace" wait --for=condition=Ready trainingpipeline/daily-sales --timeout=120s

run="$("$refit" trigger daily-sales -n "$namespace" --reason kind-e2e | sed -n 's#^trainingrun/\(.*\) created$#\1#p')"
[[ -n "$run" ]] || { echo "kind-e2e: refit trigger printed no run name" >&2; exit 1; }
log "waiting up to $timeout for trainingrun/$run to be Promoted"
kubectl -n "$namespace" wait --for=condition=Promoted "trainingrun/$run" --timeout="$timeout"
kubectl -n "$namespace" get trainingpipeline daily-sales
"$refit" status daily-sales -n "$namespace"
log "PASSED: trainingrun/$run Promoted on kind cluster $cluster"
