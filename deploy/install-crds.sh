#!/bin/sh
# Install the CRDs from the pinned assets kic-trio's test control plane fetches (Go module
# proxy, checked against the committed go.sum): the same files `kubectl apply -k deploy/crds`
# takes from GitHub, for a machine that reaches a package registry but not GitHub.
# Needs kic-trio installed (pip install kic-trio) and kubectl pointed at the cluster.
set -eu
PYTHON=${PYTHON:-python3}
assets=$("$PYTHON" -m kic_trio.testing.controlplane assets | tail -n 1)
kubectl apply --server-side -f "$assets/crds/kong" -f "$assets/crds/gateway-api"
kubectl wait --for condition=established --timeout=60s \
  crd/kongplugins.configuration.konghq.com crd/gatewayclasses.gateway.networking.k8s.io
