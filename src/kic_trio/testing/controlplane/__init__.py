"""A real Kubernetes control plane (etcd + kube-apiserver) for tests, benchmarks and demos.

``python -m kic_trio.testing.controlplane build|assets|up`` builds the binaries (and fetches
the assets) / fetches only the assets (CRDs, Kong's schema) / runs one.
"""

from ._assets import assets_present, ensure_assets, schema_file
from ._build import WORKLOAD_BINARIES, BuildError, binaries_present, ensure_binaries
from ._plane import ControlPlane, ControlPlaneError, free_port, wait_crds_established
from ._versions import (
    ASSETS_DIR_ENV,
    BIN_DIR_ENV,
    DECK_RECONCILER_VERSION,
    ETCD_VERSION,
    GATEWAY_API_VERSION,
    K8S_VERSION,
    KONG_CONFIGURATION_VERSION,
    KWOK_VERSION,
    assets_dir,
    bin_dir,
)

__all__ = [
    "ASSETS_DIR_ENV",
    "BIN_DIR_ENV",
    "DECK_RECONCILER_VERSION",
    "ETCD_VERSION",
    "GATEWAY_API_VERSION",
    "K8S_VERSION",
    "KONG_CONFIGURATION_VERSION",
    "KWOK_VERSION",
    "WORKLOAD_BINARIES",
    "BuildError",
    "ControlPlane",
    "ControlPlaneError",
    "assets_dir",
    "assets_present",
    "bin_dir",
    "binaries_present",
    "ensure_assets",
    "ensure_binaries",
    "free_port",
    "schema_file",
    "wait_crds_established",
]
