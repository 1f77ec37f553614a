"""Test helpers for applications that embed kic-trio (and for kic-trio's own tests).

* :class:`FakeKong` — a DB-less Kong Admin API double on loopback.
* ``ControlPlane`` — a real kube-apiserver + etcd (``kic_trio.testing.controlplane``).

Imports are lazy, so one helper's optional dependencies never break the other.
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
