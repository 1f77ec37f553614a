"""kic-trio: a Kubernetes ingress controller for Kong Gateway, on Trio.

Run it as a program (``kic-trio run``) or embed it::

    import trio, kic_trio

    cfg = kic_trio.Config(kong_admin_url=["http://localhost:8001"])
    trio.run(kic_trio.run, cfg)                          # until cancelled

    async with trio.open_nursery() as nursery:           # inside a Trio app
        controller = await nursery.start(kic_trio.run, cfg)
        await controller.wait_ready()
"""

from ._config import FEATURE_GATES, Config
from ._controller import Controller, open_controller, run
from ._errors import (
    ConfigError,
    ControllerError,
    KicTrioError,
    KongAdminError,
    KubernetesError,
    UnsupportedKongError,
)
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
from .models import Failure, ObjectRef

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
