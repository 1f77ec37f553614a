"""kic-trio: a Kubernetes ingress controller for Kong Gateway, on Trio.

Run it as a program (``kic-trio run``) or embed it::

    import trio, kic_trio

    cfg = kic_trio.Config(kong_admin_url=["http://localhost:8001"])
    trio.run(kic_trio.run, cfg)                          # until cancelled

    async with trio.open_nursery() as nursery:           # inside a Trio app
        controller = await nursery.start(kic_trio.run, cfg)
        await controller.wait_ready()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import (
    ConfigError,
    ControllerError,
    KicTrioError,
    KongAdminError,
    KubernetesError,
    UnsupportedKongError,
)
from .config import FEATURE_GATES, Config
from .models import Failure, ObjectRef

if TYPE_CHECKING:
    from ._controller import Controller, open_controller, run
    from ._lifecycle import (
        CachesSynced,
        ConfigApplied,
        EventsDropped,
        LeadershipGained,
        LeadershipLost,
        LifecycleEvent,
        PushFailed,
        Started,
        TranslationDone,
    )

# The I/O half of the package (trio, httpx, kr8s, prometheus_client) loads on first use of
# these names, so ``import kic_trio.translator`` (the pure core: the offline tool, a CI
# pipeline, a benchmark) does not pay for it; tests/unit/test_house_rules.py checks that.
_LAZY = {
    "Controller": "._controller",
    "open_controller": "._controller",
    "run": "._controller",
    "CachesSynced": "._lifecycle",
    "ConfigApplied": "._lifecycle",
    "EventsDropped": "._lifecycle",
    "LeadershipGained": "._lifecycle",
    "LeadershipLost": "._lifecycle",
    "LifecycleEvent": "._lifecycle",
    "PushFailed": "._lifecycle",
    "Started": "._lifecycle",
    "TranslationDone": "._lifecycle",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kic_trio' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "FEATURE_GATES",
    "CachesSynced",
    "Config",
    "ConfigApplied",
    "ConfigError",
    "Controller",
    "ControllerError",
    "EventsDropped",
    "Failure",
    "KicTrioError",
    "KongAdminError",
    "KubernetesError",
    "LeadershipGained",
    "LeadershipLost",
    "LifecycleEvent",
    "ObjectRef",
    "PushFailed",
    "Started",
    "TranslationDone",
    "UnsupportedKongError",
    "__version__",
    "open_controller",
    "run",
]
