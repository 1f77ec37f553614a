#!/usr/bin/env bash
# Build kube-apiserver and etcd from the Go module proxy only (no git, no download sites).
#
# Called by `python -m kic_trio.testing.controlplane build`, which passes the pinned
# versions (see kic_trio.testing.controlplane._versions) and the output folder.
# Needs: go >= 1.24 (the `tool` directive). CGO is off: both binaries are static.
#
# Usage: K8S_VERSION=v1.37.2 ETCD_VERSION=v3.7.3 OUT=/path/bin WORK=/path/work bash build-bins.sh
#
# Opt-in extras for the Gateway API conformance run (`build --conformance`): with
# KWOK_VERSION set, also kube-controller-manager and kube-scheduler (same Kubernetes build,
# same wrapper-module recipe) and KWOK's `kwok` controller (its own module, so its k8s.io pins
# are its own).
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

build_k8s_component() {
  # kube-controller-manager / kube-scheduler: the same recipe as kube-apiserver (staging
  # modules pinned to the published versions), each in its own work folder so two builds
  # never race on one go.mod. The Go build cache shares the packages they have in common.
  local name="$1"
  step "${name} ${K8S_VERSION}: resolving modules"
  mkdir -p "$WORK/${name}"
  cd "$WORK/${name}"
  rm -f go.mod go.sum
  go mod init "kictrio.local/${name//-/}" >/dev/null 2>&1
  go mod edit -go=1.26.0
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" \
           | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  local mods=()
  mapfile -t mods < <(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod" | sort -u)
  if [ "${#mods[@]}" -eq 0 ]; then
    echo "error: could not read the staging replace list from k8s.io/kubernetes@${K8S_VERSION}'s go.mod" >&2
    exit 1
  fi
  local args=()
  for m in "${mods[@]}"; do args+=("-replace=${m}=${m}@${STAGING_VERSION}"); done
  go mod edit "${args[@]}"
  printf '\ngodebug default=go1.26\n' >> go.mod
  go get -tool "k8s.io/kubernetes/cmd/${name}@${K8S_VERSION}"
  local build_date ldflags p
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X ${p}.gitVersion=${K8S_VERSION} -X ${p}.gitMajor=1 -X ${p}.gitMinor=${K8S_MINOR}"
    ldflags+=" -X ${p}.gitCommit=unknown -X ${p}.gitTreeState=clean -X ${p}.buildDate=${build_date}"
  done
  step "${name} ${K8S_VERSION}: compiling (a few minutes on 2 cores)"
  go build -trimpath -tags "selinux,notest,grpcnotrace" -ldflags "${ldflags}" \
    -o "$OUT/${name}.tmp" "k8s.io/kubernetes/cmd/${name}"
  mv "$OUT/${name}.tmp" "$OUT/${name}"
}

build_kwok() {
  step "kwok ${KWOK_VERSION}: resolving modules"
  mkdir -p "$WORK/kwok"
  cd "$WORK/kwok"
  rm -f go.mod go.sum
  go mod init kictrio.local/kwok >/dev/null 2>&1
  go get -tool "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
  step "kwok ${KWOK_VERSION}: compiling (~2 min)"
  go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION}" \
    -o "$OUT/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok
  mv "$OUT/kwok.tmp" "$OUT/kwok"
}

write_kwok_stages() {
  # KWOK ships no built-in stages: its "fast" set (Nodes initialise and heartbeat with a
  # Lease; Pods become Ready at once, complete, delete) is YAML inside its module. Take it
  # from the same pinned module version in the module cache, into the cache folder.
  step "kwok ${KWOK_VERSION}: stages"
  local dir f
  dir="$(cd "$WORK" && go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" \
         | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  if [ -z "$dir" ] || [ ! -d "$dir/kustomize/stage" ]; then
    echo "error: kwok ${KWOK_VERSION}'s module has no kustomize/stage folder" >&2
    exit 1
  fi
  : > "$OUT/kwok-stages.yaml.tmp"
  for f in "$dir"/kustomize/stage/node/fast/node-initialize.yaml \
           "$dir"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           "$dir"/kustomize/stage/pod/fast/pod-ready.yaml \
           "$dir"/kustomize/stage/pod/fast/pod-complete.yaml \
           "$dir"/kustomize/stage/pod/fast/pod-delete.yaml; do
    printf -- '---\n' >> "$OUT/kwok-stages.yaml.tmp"
    cat "$f" >> "$OUT/kwok-stages.yaml.tmp"
  done
  mv "$OUT/kwok-stages.yaml.tmp" "$OUT/kwok-stages.yaml"
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
if [ -n "${KWOK_VERSION:-}" ]; then
  [ -x "$OUT/kube-controller-manager" ] || (build_k8s_component kube-controller-manager)
  [ -x "$OUT/kube-scheduler" ] || (build_k8s_component kube-scheduler)
  [ -x "$OUT/kwok" ] || (build_kwok)
  [ -f "$OUT/kwok-stages.yaml" ] || (write_kwok_stages)
  "$OUT/kube-controller-manager" --version
  "$OUT/kube-scheduler" --version
  "$OUT/kwok" --version || true
fi

"$OUT/kube-apiserver" --version
"$OUT/etcd" --version | head -1
