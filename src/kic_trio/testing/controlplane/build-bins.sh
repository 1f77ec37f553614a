#!/usr/bin/env bash
# Build kube-apiserver and etcd from the Go module proxy only (no git, no download sites).
#
# Called by `python -m kic_trio.testing.controlplane build`, which passes the pinned
# versions (see kic_trio.testing.controlplane._versions) and the output folder.
# Needs: go >= 1.24 (the `tool` directive). CGO is off: both binaries are static.
#
# Usage: K8S_VERSION=v1.37.2 ETCD_VERSION=v3.7.3 OUT=/path/bin WORK=/path/work bash build-bins.sh
set -euo pipefail

: "${K8S_VERSION:?}" "${ETCD_VERSION:?}" "${OUT:?}" "${WORK:?}"

# Kubernetes v1.x.y publishes its staging modules as v0.x.y.
STAGING_VERSION="v0.${K8S_VERSION#v1.}"
K8S_MINOR="$(echo "${K8S_VERSION#v1.}" | cut -d. -f1)"

export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"   # fail loudly rather than fetch a toolchain
export GOFLAGS="${GOFLAGS:-} -mod=mod"

mkdir -p "$OUT" "$WORK/apiserver" "$WORK/etcd"

# Progress: `build-bins: step: ...` lines are what the Python side shows while it waits.
step() { echo "build-bins: step: $*"; }

build_apiserver() {
  step "kube-apiserver ${K8S_VERSION}: resolving modules (downloads on a cold cache)"
  cd "$WORK/apiserver"
  rm -f go.mod go.sum
  go mod init kictrio.local/apiserver >/dev/null 2>&1
  go mod edit -go=1.26.0
  # k8s.io/kubernetes requires every staging module at v0.0.0 and resolves them with
  # `replace => ./staging/...`, which only applies in its own main module. Read the
  # list from its go.mod and pin each to the published staging version.
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" \
           | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  local mods=()
  if [ -n "$gomod" ] && [ -f "$gomod" ]; then
    mapfile -t mods < <(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod" | sort -u)
  fi
  if [ "${#mods[@]}" -eq 0 ]; then
    echo "error: could not read the staging replace list from k8s.io/kubernetes@${K8S_VERSION}'s go.mod" >&2
    exit 1
  fi
  echo "build-bins: pinning ${#mods[@]} staging modules to ${STAGING_VERSION}" >&2
  local args=()
  for m in "${mods[@]}"; do args+=("-replace=${m}=${m}@${STAGING_VERSION}"); done
  go mod edit "${args[@]}"
  # The main module's go/godebug lines decide the binary's GODEBUG defaults.
  printf '\ngodebug default=go1.26\n' >> go.mod
  go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@${K8S_VERSION}"

  local build_date ldflags p
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X ${p}.gitVersion=${K8S_VERSION} -X ${p}.gitMajor=1 -X ${p}.gitMinor=${K8S_MINOR}"
    ldflags+=" -X ${p}.gitCommit=unknown -X ${p}.gitTreeState=clean -X ${p}.buildDate=${build_date}"
  done
  step "kube-apiserver ${K8S_VERSION}: compiling (the long part, ~6 min on 2 cores)"
  go build -trimpath -tags "selinux,notest,grpcnotrace" -ldflags "${ldflags}" \
    -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
}

build_etcd() {
  # A separate module so MVS does not unify etcd's grpc/otel versions with kube-apiserver's.
  step "etcd ${ETCD_VERSION}: resolving modules"
  cd "$WORK/etcd"
  rm -f go.mod go.sum
  go mod init kictrio.local/etcd >/dev/null 2>&1
  go get -tool "go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
  step "etcd ${ETCD_VERSION}: compiling (~1 min)"
  go build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}" \
    -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$OUT/etcd.tmp" "$OUT/etcd"
}

[ -x "$OUT/etcd" ] || (build_etcd)
[ -x "$OUT/kube-apiserver" ] || (build_apiserver)

"$OUT/kube-apiserver" --version
"$OUT/etcd" --version | head -1
