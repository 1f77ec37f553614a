"""Create, replace and delete Kubernetes objects from manifests (the demo, benchmarks, tests).

A small ``kubectl apply`` for the kinds kic-trio cares about, over any ``httpx.AsyncClient``
authenticated against the API server (``ControlPlane.admin_client()``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from ..models import KINDS

_EXTRA_KINDS: Mapping[str, tuple[str, str, str, bool]] = {
    # kind: (group, version, plural, namespaced)
    "Namespace": ("", "v1", "namespaces", False),
    "ConfigMap": ("", "v1", "configmaps", True),
    "Pod": ("", "v1", "pods", True),
    "ServiceAccount": ("", "v1", "serviceaccounts", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "Lease": ("coordination.k8s.io", "v1", "leases", True),
}


def _where(kind: str) -> tuple[str, str, str, bool]:
    if kind in KINDS:
        info = KINDS[kind]
        return info.group, info.version, info.plural, info.namespaced
    if kind in _EXTRA_KINDS:
        return _EXTRA_KINDS[kind]
    raise ValueError(f"kind {kind!r} is not known to kic_trio.testing.apply")


def collection_path(kind: str, namespace: str | None = None) -> str:
    """``/apis/<group>/<version>[/namespaces/<ns>]/<plural>`` for ``kind``."""
    group, version, plural, namespaced = _where(kind)
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    if namespaced:
        if not namespace:
            raise ValueError(f"{kind} is namespaced: give a namespace")
        return f"{base}/namespaces/{namespace}/{plural}"
    return f"{base}/{plural}"


def object_path(kind: str, name: str, namespace: str | None = None) -> str:
    return f"{collection_path(kind, namespace)}/{name}"


def load_manifests(*paths: str | Path) -> list[dict[str, Any]]:
    """Every document of every YAML file (or of every ``*.yaml`` in a folder), in order."""
    docs: list[dict[str, Any]] = []
    for p in paths:
        path = Path(p)
        files = (
            sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
        )
        for f in files:
            docs.extend(d for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict))
    return docs


async def apply(
    client: httpx.AsyncClient, objects: Iterable[Mapping[str, Any]], *, namespace: str | None = None
) -> list[dict[str, Any]]:
    """Create each object, or replace it when it exists. Returns what the API server stored.

    ``namespace`` is used for namespaced objects that do not name one.
    """
    stored: list[dict[str, Any]] = []
    for obj in objects:
        body = dict(obj)
        meta = dict(body.get("metadata") or {})
        kind = str(body["kind"])
        _, _, _, namespaced = _where(kind)
        ns = meta.get("namespace") or namespace
        if namespaced and ns:
            meta["namespace"] = ns
        body["metadata"] = meta
        r = await client.post(collection_path(kind, ns), json=body)
        for _ in range(10):  # exists: replace it; retry when someone else (a status write) got in first
            if r.status_code != 409:
                break
            current = await client.get(object_path(kind, meta["name"], ns))
            current.raise_for_status()
            meta["resourceVersion"] = current.json()["metadata"]["resourceVersion"]
            r = await client.put(object_path(kind, meta["name"], ns), json=body)
        if r.status_code >= 400:
            raise RuntimeError(
                f"apply {kind} {ns or ''}/{meta.get('name')}: {r.status_code} {r.text[:500]}"
            )
        stored.append(r.json())
    return stored


async def delete(
    client: httpx.AsyncClient, kind: str, name: str, namespace: str | None = None
) -> bool:
    """Delete one object; ``False`` when it was already gone."""
    r = await client.delete(object_path(kind, name, namespace))
    if r.status_code == 404:
        return False
    r.raise_for_status()
    return True
