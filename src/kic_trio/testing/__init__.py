"""Test helpers for applications that embed kic-trio (and for kic-trio's own tests).

* :class:`FakeKong` — a DB-less Kong Admin API double on loopback.
* ``ControlPlane`` — a real kube-apiserver + etcd (``kic_trio.testing.controlplane``).

Imports are lazy, so one helper's optional dependencies never break the other.

**Assets.** Both use upstream data files that are not shipped in the package: Kong's CRDs
and the Gateway API CRDs (the control plane installs them) and decK's declarative-config JSON
schema (FakeKong validates against it, on top of Kong's own rules). Get them once, by pinned
version, through the Go module proxy (needs ``go``; only the proxy must be reachable)::

    python -m kic_trio.testing.controlplane assets    # prints the cache folder

They land in ``~/.cache/kic-trio/controlplane/assets_...`` (``$XDG_CACHE_HOME`` is honoured;
``$KIC_TRIO_ASSETS_DIR`` points elsewhere). ``python -m kic_trio.testing.controlplane build``
fetches them too, and a ``ControlPlane`` fetches them on first start. Without the schema,
FakeKong still checks Kong's own rules and logs a warning; ``FakeKong(schema_path=...)`` or
``$KIC_TRIO_KONG_SCHEMA`` name a schema file explicitly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fakekong import FakeKong

__all__ = ["ControlPlane", "FakeKong", "apply", "delete", "load_manifests"]

_WHERE = {
    "FakeKong": ".fakekong",
    "ControlPlane": ".controlplane",
    "apply": "._apply",
    "delete": "._apply",
    "load_manifests": "._apply",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(where, __name__), name)
