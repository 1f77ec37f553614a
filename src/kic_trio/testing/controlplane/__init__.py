"""A real Kubernetes control plane (etcd + kube-apiserver) for tests, benchmarks and demos.

``python -m kic_trio.testing.controlplane build|up`` builds the binaries / runs one.
"""

from ._build import BuildError, binaries_present, ensure_binaries
from ._plane import ControlPlane, ControlPlaneError, free_port, wait_crds_established
from ._versions import BIN_DIR_ENV, ETCD_VERSION, K8S_VERSION, bin_dir

__all__ = [
    "BIN_DIR_ENV",
    "ETCD_VERSION",
    "K8S_VERSION",
    "BuildError",
    "ControlPlane",
    "ControlPlaneError",
    "bin_dir",
    "binaries_present",
    "ensure_binaries",
    "free_port",
    "wait_crds_established",
]
