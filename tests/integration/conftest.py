"""Fixtures for tests against a real control plane (etcd + kube-apiserver on loopback).

* ``control_plane`` (session): one :class:`~kic_trio.testing.ControlPlane` for the whole run,
  with Kong's CRDs installed. Binaries are built on first use (minutes, once).
* ``kubeconfig`` (session): the admin kubeconfig path.
* ``k8s_namespace`` (per test): a fresh namespace with a random name. A bare control plane has
  no namespace controller, so deleted namespaces stay ``Terminating``: never reuse a name.

Every test in this folder is marked ``integration`` automatically.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from kic_trio.testing.controlplane import ControlPlane


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    cp = ControlPlane()
    cp.start()
    try:
        yield cp
    finally:
        cp.stop()


@pytest.fixture(scope="session")
def kubeconfig(control_plane: ControlPlane) -> Path:
    return control_plane.kubeconfig


@pytest.fixture
def k8s_namespace(control_plane: ControlPlane) -> Iterator[str]:
    name = f"t-{secrets.token_hex(4)}"
    with control_plane.admin_client_sync() as client:
        r = client.post("/api/v1/namespaces", json={"metadata": {"name": name}})
        r.raise_for_status()
    yield name
    with control_plane.admin_client_sync() as client:
        client.delete(f"/api/v1/namespaces/{name}")
