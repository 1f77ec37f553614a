"""The one place that pins the control plane's versions and says where its binaries live."""

from __future__ import annotations

import os
from pathlib import Path

#: kube-apiserver version (built from the Go module proxy; staging modules are v0.37.2).
K8S_VERSION = "v1.37.2"
#: etcd version; upstream envtest pairs Kubernetes 1.37 with etcd 3.7.
ETCD_VERSION = "v3.7.3"

#: KWOK (``sigs.k8s.io/kwok``), only for the opt-in workload extras (Gateway API conformance):
#: its ``kwok`` controller makes Pods on a fake Node Running/Ready with an IP, with no kubelet.
KWOK_VERSION = "v0.8.0"

#: Kong's CRDs: the ``github.com/kong/kubernetes-configuration/v2`` version Kong's controller
#: pins (its go.mod and config/crd kustomization at main 1fa68f864, the v3.5 line).
KONG_CONFIGURATION_VERSION = "v2.0.0-alpha.1"
#: Gateway API CRDs (``sigs.k8s.io/gateway-api``), experimental channel.
GATEWAY_API_VERSION = "v1.6.1"
#: decK's declarative-config schema (``github.com/kong/go-database-reconciler``), as KIC pins it.
DECK_RECONCILER_VERSION = "v1.31.6"

#: Set this to a folder holding ``etcd`` and ``kube-apiserver`` to use those binaries instead.
BIN_DIR_ENV = "KIC_TRIO_CONTROLPLANE_BIN"
#: Set this to a folder of assets (CRDs, schema) to use instead of the cache.
ASSETS_DIR_ENV = "KIC_TRIO_ASSETS_DIR"


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/kic-trio/controlplane`` (``~/.cache/...``): outside git, shared by checkouts."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kic-trio" / "controlplane"


def version_dir() -> Path:
    """One folder per version pair, so bumping a pin never reuses stale binaries."""
    return cache_root() / f"k8s-{K8S_VERSION}_etcd-{ETCD_VERSION}"


def bin_dir() -> Path:
    """Where ``etcd`` and ``kube-apiserver`` are (or will be built): the env override or the cache."""
    override = os.environ.get(BIN_DIR_ENV)
    return Path(override) if override else version_dir() / "bin"


def assets_dir() -> Path:
    """Where the CRDs and decK's schema are cached: beside the binaries, one folder per pin set.

    ``$KIC_TRIO_ASSETS_DIR`` overrides it (a folder laid out as ``assets`` writes it).
    """
    override = os.environ.get(ASSETS_DIR_ENV)
    if override:
        return Path(override)
    return cache_root() / (
        f"assets_kong-config-{KONG_CONFIGURATION_VERSION}_gateway-api-{GATEWAY_API_VERSION}"
        f"_deck-{DECK_RECONCILER_VERSION}"
    )


def work_dir() -> Path:
    """Scratch folder for the build's wrapper Go modules."""
    return version_dir() / "work"
