"""Fixtures shared by every test folder that needs a real control plane.

* ``control_plane`` (session): one :class:`~kic_trio.testing.ControlPlane` (etcd +
  kube-apiserver on loopback) with Kong's CRDs installed. Binaries are built on first use.
* ``kubeconfig`` (session): the admin kubeconfig path.
* ``k8s_namespace`` (per test): a fresh namespace with a random name. A bare control plane has
  no namespace controller, so deleted namespaces stay ``Terminating``: never reuse a name.

They are defined here, at the root of ``tests/``, so ``tests/reliability`` (and any other
folder) shares them. ``tests/integration/conftest.py`` still defines its own copies, which
override these inside that folder; deleting those copies there would let one control plane
serve the whole run.

The fixtures are lazy: a test run that requests none of them starts nothing.

At session start the assets (Kong's CRDs, the Gateway API CRDs, decK's schema) are fetched into
the cache when absent, by pinned version from the Go module proxy: FakeKong and the schema
checks of the unit and conformance tests use the schema, the control plane installs the CRDs.
Nothing here reads ``../shared``; only the upstream golden-case tests do, and they skip without it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from kic_trio.testing.controlplane import BuildError, ControlPlane, ensure_assets


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fetch the assets once, before collection (a file read when cached)."""
    try:
        ensure_assets()
    except BuildError as exc:
        # The tests that need them fail and say how to get them; nothing is skipped.
        session.config.issue_config_time_warning(
            pytest.PytestWarning(f"assets not available: {exc}"), stacklevel=1
        )


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
