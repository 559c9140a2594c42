#!/usr/bin/env bash
# Build the binaries the tests run against, from their Go modules, with this machine's Go.
#
#   etcd, kube-apiserver, kube-controller-manager, kubectl   (the test control plane)
#   helm, promtool, kube-score                                (chart and alert-rule tests)
#
# Versions come from tests/cluster/versions.env (the only place they are pinned). Each
# component is built once into a cache directory outside the repo, keyed by its version:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/refit/<component>-<version>/<binary>
#
# A component whose directory exists is reused; only missing ones are built. A build goes
# into a temporary directory that is renamed into place when complete, so an interrupted
# build never looks cached. Concurrent invocations serialise on a lock file.
#
# Usage: tests/cluster/build.sh [--print-dirs | COMPONENT...]
#   COMPONENT      etcd, kubernetes, helm, promtool or kube-score (default: all of them)
#   --print-dirs   only print KEY=dir lines for each component (nothing is built)
#
# Environment: GO (default: `go` on PATH, else /usr/local/go/bin/go), NICE (default 10).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/refit"
k8s_dir="$cache_root/kubernetes-$KUBERNETES_VERSION"
etcd_dir="$cache_root/etcd-$ETCD_VERSION"
helm_dir="$cache_root/helm-$HELM_VERSION"
promtool_dir="$cache_root/promtool-$PROMETHEUS_MODULE_VERSION"
kube_score_dir="$cache_root/kube-score-$KUBE_SCORE_VERSION"

if [[ "${1:-}" == "--print-dirs" ]]; then
  printf 'KUBERNETES_DIR=%s\nETCD_DIR=%s\nHELM_DIR=%s\nPROMTOOL_DIR=%s\nKUBE_SCORE_DIR=%s\n' \
    "$k8s_dir" "$etcd_dir" "$helm_dir" "$promtool_dir" "$kube_score_dir"
  exit 0
fi

GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[[ -x "$GO" ]] || { echo "build.sh: no Go toolchain (set GO=/path/to/go)" >&2; exit 1; }
NICE="${NICE:-10}"

# Module mode outside any workspace, never auto-download another toolchain: a release that
# needs a newer Go must fail loudly here, not silently fetch one.
export GOWORK=off GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

mkdir -p "$cache_root"
exec 9>"$cache_root/.build.lock"
flock 9

log() { printf '[build.sh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# new_wrapper <name>: a throwaway main module in a temp dir; prints its path.
new_wrapper() {
  local dir
  dir="$(mktemp -d "${TMPDIR:-/tmp}/refit-build-$1.XXXXXX")"
  (cd "$dir" && "$GO" mod init "refit.local/build/$1" >/dev/null 2>&1)
  echo "$dir"
}

# finish <tmp-out> <final-dir>: atomically publish a completed build.
finish() {
  rm -rf "$2"
  mv "$1" "$2"
  log "done: $(ls "$2" | tr '\n' ' ')in $2 ($(du -sh "$2" | cut -f1))"
}

gomod_of() { "$GO" mod download -json "$1" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p'; }

# require_go_for <module@version>: fail clearly when its go.mod needs a newer Go than ours.
require_go_for() {
  local need have
  need="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$(gomod_of "$1")")"
  have="$("$GO" env GOVERSION)"; have="${have#go}"
  if [[ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]]; then
    echo "build.sh: $1 needs Go $need, this machine has $have; pin an older release in versions.env" >&2
    exit 1
  fi
}

build_kubernetes() {
  [[ -x "$k8s_dir/kube-apiserver" && -x "$k8s_dir/kube-controller-manager" && -x "$k8s_dir/kubectl" ]] && return
  local v="$KUBERNETES_VERSION" minor patch staging w out
  log "kubernetes $v: kube-apiserver, kube-controller-manager, kubectl"
  require_go_for "k8s.io/kubernetes@$v"
  IFS=. read -r _ minor patch <<<"${v#v}"
  w="$(new_wrapper kubernetes)"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
  # ./staging/src/...; replace directives of a dependency are ignored, so a wrapper module
  # must replace each of them with the tag published for this release (v0.<minor>.<patch>).
  # The list comes from the release's own go.mod, never from a hand-kept copy.
  staging="$(awk '/^require/,/^\)/' "$(gomod_of "k8s.io/kubernetes@$v")" |
    awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}')"
  [[ -n "$staging" ]] || { echo "build.sh: found no staging modules in k8s.io/kubernetes@$v go.mod" >&2; exit 1; }
  local args=()
  for m in $staging; do args+=("-replace=$m=$m@v0.$minor.$patch"); done
  (cd "$w" && "$GO" mod edit -require="k8s.io/kubernetes@$v" "${args[@]}")
  log "  $(wc -w <<<"$staging") staging modules replaced by v0.$minor.$patch"
  local pkgs=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
  (cd "$w" && "$GO" get "${pkgs[@]}")
  local date ld="-s -w"
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  out="$(mktemp -d "$cache_root/.kubernetes.XXXXXX")"
  (cd "$w" && nice -n "$NICE" "$GO" build -trimpath -ldflags "$ld" -o "$out/" "${pkgs[@]}")
  rm -rf "$w"
  finish "$out" "$k8s_dir"
}

build_etcd() {
  [[ -x "$etcd_dir/etcd" ]] && return
  local v="$ETCD_VERSION" w out
  log "etcd $v"
  require_go_for "go.etcd.io/etcd/server/v3@$v"
  w="$(new_wrapper etcd)"
  # go.etcd.io/etcd/server/v3 (server/main.go) is the etcd server's package main. Its own
  # go.mod replaces api/client/pkg with ../ paths, which a wrapper ignores: they resolve to
  # the published modules of the same release.
  (cd "$w" && "$GO" get "go.etcd.io/etcd/server/v3@$v")
  out="$(mktemp -d "$cache_root/.etcd.XXXXXX")"
  (cd "$w" && nice -n "$NICE" "$GO" build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$w"
  finish "$out" "$etcd_dir"
}

build_helm() {
  [[ -x "$helm_dir/helm" ]] && return
  local v="$HELM_VERSION" w out
  log "helm $v"
  require_go_for "helm.sh/helm/v4@$v"
  w="$(new_wrapper helm)"
  (cd "$w" && "$GO" get "helm.sh/helm/v4/cmd/helm@$v")
  out="$(mktemp -d "$cache_root/.helm.XXXXXX")"
  (cd "$w" && nice -n "$NICE" "$GO" build -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$v -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    -o "$out/helm" helm.sh/helm/v4/cmd/helm)
  rm -rf "$w"
  finish "$out" "$helm_dir"
}

build_promtool() {
  [[ -x "$promtool_dir/promtool" ]] && return
  local v="$PROMETHEUS_MODULE_VERSION" w out
  log "promtool (prometheus $PROMETHEUS_VERSION, module $v)"
  require_go_for "github.com/prometheus/prometheus@$v"
  w="$(new_wrapper promtool)"
  (cd "$w" && "$GO" get "github.com/prometheus/prometheus/cmd/promtool@$v")
  out="$(mktemp -d "$cache_root/.promtool.XXXXXX")"
  # Rule checks and unit tests need no service discovery: leave out every SD plugin but
  # Kubernetes (cloud SDKs are most of promtool's compile time).
  (cd "$w" && nice -n "$NICE" "$GO" build -trimpath -tags remove_all_sd,enable_kubernetes_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION -X github.com/prometheus/common/version.Branch=HEAD" \
    -o "$out/promtool" github.com/prometheus/prometheus/cmd/promtool)
  rm -rf "$w"
  finish "$out" "$promtool_dir"
}

build_kube_score() {
  [[ -x "$kube_score_dir/kube-score" ]] && return
  local v="$KUBE_SCORE_VERSION" w out
  log "kube-score $v"
  require_go_for "github.com/zegl/kube-score@$v"
  w="$(new_wrapper kube-score)"
  (cd "$w" && "$GO" get "github.com/zegl/kube-score/cmd/kube-score@$v")
  out="$(mktemp -d "$cache_root/.kube-score.XXXXXX")"
  (cd "$w" && nice -n "$NICE" "$GO" build -trimpath -ldflags "-s -w" \
    -o "$out/kube-score" github.com/zegl/kube-score/cmd/kube-score)
  rm -rf "$w"
  finish "$out" "$kube_score_dir"
}

components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(etcd kubernetes helm promtool kube-score)
for c in "${components[@]}"; do
  case "$c" in
    etcd | kubernetes | helm | promtool | kube-score) "build_${c//-/_}" ;;
    *) echo "build.sh: unknown component $c (etcd, kubernetes, helm, promtool, kube-score)" >&2; exit 2 ;;
  esac
done
log "all binaries present under $cache_root (${SECONDS}s this run)"
